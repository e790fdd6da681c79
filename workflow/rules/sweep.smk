# Ablation sweeps of stage 2 as a Snakemake parameter space: every setting of config["sweep"]
# is trained from the dataset's baseline, extracted and evaluated on the first sweep splits,
# then summarized as one table and one figure per dataset under {results}/sweeps/, each setting
# read against the control of the same batches, BN mode and loss reduction (the main runs' where
# they match train.graph, else one the sweep trains). The space and its input functions live in
# common.smk.


use rule train_mgat as train_sweep with:
    output:
        model=f"{SWEEP_DIR}/model.pt",
        metrics=f"{SWEEP_DIR}/train_log.csv",
    log:
        f"{RESULTS}/logs/sweeps/train/{{dataset}}/split{{run}}/{{stage}}/{{setting}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sweeps/train/{{dataset}}/split{{run}}/{{stage}}/{{setting}}.tsv"
    params:
        stage=lambda wildcards: wildcards.stage,
        root=dataset_root,
        data_split=data_split,
        settings=sweep_train_settings,
        checkpoint=scratch_checkpoint,
        cpu_threads=TRAIN["threads"],
        mgat_version=MGAT_VERSION,


use rule extract_features as extract_sweep_features with:
    input:
        model=rules.train_sweep.output.model,
        splits=rules.make_splits.output.splits,
    output:
        features=f"{SWEEP_DIR}/features.npz",
    log:
        f"{RESULTS}/logs/sweeps/extract/{{dataset}}/split{{run}}/{{stage}}/{{setting}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sweeps/extract/{{dataset}}/split{{run}}/{{stage}}/{{setting}}.tsv"


use rule evaluate as evaluate_sweep with:
    input:
        features=rules.extract_sweep_features.output.features,
    output:
        metrics=f"{SWEEP_DIR}/eval.json",
    log:
        f"{RESULTS}/logs/sweeps/evaluate/{{dataset}}/split{{run}}/{{stage}}/{{setting}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/sweeps/evaluate/{{dataset}}/split{{run}}/{{stage}}/{{setting}}.tsv"
    localrule: True
    params:
        model=lambda wildcards: wildcards.stage,
        max_rank=EVALUATION["max_rank"],
        ap=EVALUATION["ap"],
        feature=EVALUATION["feature"],
        rerank={"enabled": False},  # the sweep's table reads the plain distances only
        mgat_version=MGAT_VERSION,


rule render_sweep:
    input:
        evaluations=sweep_evaluations,
        baseline=sweep_baseline,
    output:
        md=report(
            f"{RESULTS}/sweeps/{{dataset}}/sweep.md",
            caption="../report/sweep.rst",
            category="Sweeps",
            labels={"dataset": "{dataset}", "format": "markdown"},
        ),
        csv=f"{RESULTS}/sweeps/{{dataset}}/sweep.csv",
        png=report(
            f"{RESULTS}/sweeps/{{dataset}}/sweep.png",
            caption="../report/sweep.rst",
            category="Sweeps",
            labels={"dataset": "{dataset}", "format": "figure"},
        ),
    log:
        f"{RESULTS}/logs/render_sweep/{{dataset}}.log",
    localrule: True
    conda:
        "../../envs/mgat.yaml"
    resources:
        mem_mb=RESOURCES["score"]["mem_mb"],
        runtime=RESOURCES["score"]["runtime"],
    params:
        runs=sweep_runs,
        data_source=DATA_SOURCE,
    script:
        "../scripts/render_sweep.py"


rule all_sweeps:
    input:
        expand(
            f"{RESULTS}/sweeps/{{dataset}}/sweep.{{ext}}",
            dataset=SWEEP["datasets"],
            ext=["md", "csv"],
        ),
        expand(f"{RESULTS}/sweeps/{{dataset}}/sweep.png", dataset=SWEEP["datasets"]),
