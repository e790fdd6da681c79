# Stage 1 of the DAG: the dataset in its real on-disk layout, and a manifest later rules depend on;
# the backbone's ImageNet weights. Both run where Snakemake runs (the login node of a cluster),
# the only place with internet on most clusters, and never inside a training job.
if SYNTHETIC:

    rule synthesize_dataset:
        output:
            root=directory(f"{RESULTS}/data/{{dataset}}"),
            manifest=f"{RESULTS}/data/{{dataset}}.manifest.json",
        log:
            f"{RESULTS}/logs/synthesize_dataset/{{dataset}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/synthesize_dataset/{{dataset}}.tsv"
        localrule: True
        conda:
            "../../envs/mgat.yaml"
        resources:
            mem_mb=RESOURCES["data"]["mem_mb"],
            runtime=RESOURCES["data"]["runtime"],
        params:
            options=synthetic_options,
            seed=DATA["synthetic"]["seed"],
        script:
            "../scripts/synthesize_dataset.py"

else:

    rule prepare_dataset:
        output:
            manifest=f"{RESULTS}/data/{{dataset}}.manifest.json",
        log:
            f"{RESULTS}/logs/prepare_dataset/{{dataset}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/prepare_dataset/{{dataset}}.tsv"
        localrule: True
        conda:
            "../../envs/mgat.yaml"
        resources:
            mem_mb=RESOURCES["data"]["mem_mb"],
            runtime=RESOURCES["data"]["runtime"],
        params:
            root=dataset_root,
            files=placed_files,
            sha256=known_checksums,
            url=download_url,
        script:
            "../scripts/prepare_dataset.py"


if IMAGENET_WEIGHTS:

    rule fetch_weights:
        output:
            weights=IMAGENET_WEIGHTS,
        log:
            f"{RESULTS}/logs/fetch_weights/{TRAIN['backbone']}.log",
        localrule: True
        conda:
            "../../envs/mgat.yaml"
        resources:
            mem_mb=RESOURCES["data"]["mem_mb"],
            runtime=RESOURCES["data"]["runtime"],
        params:
            backbone=TRAIN["backbone"],
        script:
            "../scripts/fetch_weights.py"
