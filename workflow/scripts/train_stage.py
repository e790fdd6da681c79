"""Train one stage (baseline, finetune, mgat or gat) on one dataset split."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.engine import StageSettings, train_stage
from mgat.jobs import job, recorded_threads

with job(snakemake.log[0]):
    train_stage(
        snakemake.params.stage,
        dataset=snakemake.wildcards.dataset,
        root=snakemake.params.root,
        splits_file=snakemake.input.splits,
        split=snakemake.params.data_split,
        settings=StageSettings.from_dict(snakemake.params.settings),
        model_out=snakemake.output.model,
        metrics_out=snakemake.output.metrics,
        checkpoint=snakemake.params.checkpoint,
        init_model=snakemake.input.get("init_model"),
        device=snakemake.config["train"]["device"],
        memory_format=snakemake.config["train"]["memory_format"],
        compile_mode=snakemake.config["train"]["compile"],
        threads=recorded_threads(snakemake.params.cpu_threads, snakemake.threads),
    )
