"""CMC, mAP, valid queries and CHI of one split and model."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.jobs import job
from mgat.metrics.evaluation import Rerank, evaluate_split

with job(snakemake.log[0]):
    evaluate_split(
        snakemake.input.features,
        snakemake.output.metrics,
        model=snakemake.params.model,
        max_rank=snakemake.params.max_rank,
        ap=snakemake.params.ap,
        feature=snakemake.params.feature,
        rerank=Rerank.from_config(snakemake.params.rerank),
    )
