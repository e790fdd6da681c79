# Stage 3 of the DAG: the baseline (stage 1), then from it (stage 2) MGAT, the GAT ablation and
# the control (stage 2 without the graph; train.graph.control: false drops it).
# Resumable checkpoints live under {results}/scratch/, deliberately not declared as outputs:
# Snakemake deletes the outputs of a failed job, and a killed job must resume from them.


rule train_baseline:
    input:
        unpack(pretrained_weights),
        splits=rules.make_splits.output.splits,
    output:
        model=f"{RESULTS}/{{dataset}}/split{{run}}/baseline/model.pt",
        metrics=f"{RESULTS}/{{dataset}}/split{{run}}/baseline/train_log.csv",
    log:
        f"{RESULTS}/logs/train_baseline/{{dataset}}/split{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_baseline/{{dataset}}/split{{run}}.tsv"
    conda:
        "../../envs/mgat.yaml"
    threads: TRAIN["threads"]
    resources:
        mem_mb=RESOURCES["train"]["mem_mb"],
        runtime=RESOURCES["train"]["runtime"],
        gpu=RESOURCES["train"]["gpu"],
    params:
        stage=stage_of,
        root=dataset_root,
        data_split=data_split,
        settings=baseline_settings,
        checkpoint=scratch_checkpoint,
        cpu_threads=TRAIN["threads"],
        mgat_version=MGAT_VERSION,
    script:
        "../scripts/train_stage.py"


rule train_mgat:
    input:
        splits=rules.make_splits.output.splits,
        init_model=rules.train_baseline.output.model,
    output:
        model=f"{RESULTS}/{{dataset}}/split{{run}}/mgat/model.pt",
        metrics=f"{RESULTS}/{{dataset}}/split{{run}}/mgat/train_log.csv",
    log:
        f"{RESULTS}/logs/train_mgat/{{dataset}}/split{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_mgat/{{dataset}}/split{{run}}.tsv"
    conda:
        "../../envs/mgat.yaml"
    threads: TRAIN["threads"]
    resources:
        mem_mb=RESOURCES["train"]["mem_mb"],
        runtime=RESOURCES["train"]["runtime"],
        gpu=RESOURCES["train"]["gpu"],
    params:
        stage=stage_of,
        root=dataset_root,
        data_split=data_split,
        settings=graph_settings,
        checkpoint=scratch_checkpoint,
        cpu_threads=TRAIN["threads"],
        mgat_version=MGAT_VERSION,
    script:
        "../scripts/train_stage.py"


# The ablation: the same stage 2 with unmasked attention (the stage follows the output folder).
use rule train_mgat as train_gat with:
    output:
        model=f"{RESULTS}/{{dataset}}/split{{run}}/gat/model.pt",
        metrics=f"{RESULTS}/{{dataset}}/split{{run}}/gat/train_log.csv",
    log:
        f"{RESULTS}/logs/train_gat/{{dataset}}/split{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_gat/{{dataset}}/split{{run}}.tsv"


# The control: the same stage 2 without the graph, X' = X and no OF loss.
use rule train_mgat as train_finetune with:
    output:
        model=f"{RESULTS}/{{dataset}}/split{{run}}/finetune/model.pt",
        metrics=f"{RESULTS}/{{dataset}}/split{{run}}/finetune/train_log.csv",
    log:
        f"{RESULTS}/logs/train_finetune/{{dataset}}/split{{run}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_finetune/{{dataset}}/split{{run}}.tsv"
    params:
        stage=stage_of,
        root=dataset_root,
        data_split=data_split,
        settings=control_settings,
        checkpoint=scratch_checkpoint,
        cpu_threads=TRAIN["threads"],
        mgat_version=MGAT_VERSION,


rule all_models:
    input:
        [per_run(f"{RESULTS}/{{dataset}}/split{{run}}/{stage}/model.pt") for stage in STAGES],
