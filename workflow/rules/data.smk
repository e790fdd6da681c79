# Stage 1 of the DAG: the dataset in its real on-disk layout, and a manifest later rules depend on.
if SYNTHETIC:

    rule synthesize_dataset:
        output:
            root=directory(f"{RESULTS}/data/{{dataset}}"),
            manifest=f"{RESULTS}/data/{{dataset}}.manifest.json",
        params:
            options=synthetic_options,
            seed=DATA["synthetic"]["seed"],
        log:
            f"{RESULTS}/logs/synthesize_dataset/{{dataset}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/synthesize_dataset/{{dataset}}.tsv"
        conda:
            "../../envs/mgat.yaml"
        script:
            "../scripts/synthesize_dataset.py"

else:

    rule prepare_dataset:
        output:
            manifest=f"{RESULTS}/data/{{dataset}}.manifest.json",
        params:
            root=dataset_root,
            files=placed_files,
            sha256=known_checksums,
            url=download_url,
        log:
            f"{RESULTS}/logs/prepare_dataset/{{dataset}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/prepare_dataset/{{dataset}}.tsv"
        conda:
            "../../envs/mgat.yaml"
        script:
            "../scripts/prepare_dataset.py"
