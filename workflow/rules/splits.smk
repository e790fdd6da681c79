# Stage 2: one splits file per dataset; every later rule reads it.


rule make_splits:
    input:
        manifest=f"{RESULTS}/data/{{dataset}}.manifest.json",
    output:
        splits=f"{RESULTS}/splits/{{dataset}}.json",
    params:
        root=dataset_root,
        seed=split_seed,
    localrule: True
    resources:
        mem_mb=RESOURCES["data"]["mem_mb"],
        runtime=RESOURCES["data"]["runtime"],
    log:
        f"{RESULTS}/logs/make_splits/{{dataset}}.log",
    conda:
        "../../envs/mgat.yaml"
    script:
        "../scripts/make_splits.py"


rule all_splits:
    input:
        expand(f"{RESULTS}/splits/{{dataset}}.json", dataset=DATASETS),
