# Stage 2: one splits file per dataset; every later rule reads it.


rule make_splits:
    input:
        manifest=f"{RESULTS}/data/{{dataset}}.manifest.json",
    output:
        splits=f"{RESULTS}/splits/{{dataset}}.json",
    log:
        f"{RESULTS}/logs/make_splits/{{dataset}}.log",
    localrule: True
    conda:
        "../../envs/mgat.yaml"
    resources:
        mem_mb=RESOURCES["data"]["mem_mb"],
        runtime=RESOURCES["data"]["runtime"],
    params:
        root=dataset_root,
        seed=split_seed,
    script:
        "../scripts/make_splits.py"


rule all_splits:
    input:
        expand(f"{RESULTS}/splits/{{dataset}}.json", dataset=DATASETS),
