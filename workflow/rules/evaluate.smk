# Stages 4-6 of the DAG: features of every trained model, metrics per split, the mean and
# standard deviation over splits.


rule extract_features:
    input:
        model=f"{RESULTS}/{{dataset}}/split{{run}}/{{model}}/model.pt",
        splits=rules.make_splits.output.splits,
    output:
        features=f"{RESULTS}/{{dataset}}/split{{run}}/{{model}}/features.npz",
    log:
        f"{RESULTS}/logs/extract_features/{{dataset}}/split{{run}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/extract_features/{{dataset}}/split{{run}}/{{model}}.tsv"
    conda:
        "../../envs/mgat.yaml"
    threads: TRAIN["threads"]
    resources:
        mem_mb=RESOURCES["extract"]["mem_mb"],
        runtime=RESOURCES["extract"]["runtime"],
        gpu=RESOURCES["extract"]["gpu"],
    params:
        root=dataset_root,
        data_split=data_split,
        protocol=gallery_protocol,
        height=TRAIN["height"],
        width=TRAIN["width"],
        sampling=EVALUATION["sampling"],
        seq_len=EVALUATION["seq_len"],
        mgat_version=MGAT_VERSION,
    script:
        "../scripts/extract_features.py"


rule evaluate:
    input:
        features=rules.extract_features.output.features,
    output:
        metrics=f"{RESULTS}/{{dataset}}/split{{run}}/{{model}}/eval.json",
    log:
        f"{RESULTS}/logs/evaluate/{{dataset}}/split{{run}}/{{model}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate/{{dataset}}/split{{run}}/{{model}}.tsv"
    localrule: True
    conda:
        "../../envs/mgat.yaml"
    resources:
        mem_mb=RESOURCES["score"]["mem_mb"],
        runtime=RESOURCES["score"]["runtime"],
    params:
        model=lambda wildcards: wildcards.model,
        max_rank=EVALUATION["max_rank"],
        ap=EVALUATION["ap"],
        feature=EVALUATION["feature"],
        rerank=EVALUATION["rerank"],
        mgat_version=MGAT_VERSION,
    script:
        "../scripts/evaluate.py"


rule aggregate:
    input:
        evaluations=run_evaluations,
        manifest=f"{RESULTS}/data/{{dataset}}.manifest.json",
    output:
        json=f"{RESULTS}/{{dataset}}/metrics.json",
        csv=f"{RESULTS}/{{dataset}}/metrics.csv",
        provenance=f"{RESULTS}/{{dataset}}/metrics.provenance.json",
    log:
        f"{RESULTS}/logs/aggregate/{{dataset}}.log",
    localrule: True
    conda:
        "../../envs/mgat.yaml"
    resources:
        mem_mb=RESOURCES["score"]["mem_mb"],
        runtime=RESOURCES["score"]["runtime"],
    params:
        data_source=DATA_SOURCE,
    script:
        "../scripts/aggregate.py"
