"""Ranked lists of one dataset's split 0: the baseline beside MGAT for the same seeded queries."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.jobs import job
from mgat.render.ranklist import plot_ranklist

with job(snakemake.log[0]):
    params = snakemake.params
    plot_ranklist(
        snakemake.input.baseline,
        snakemake.input.mgat,
        snakemake.output.png,
        dataset=snakemake.wildcards.dataset,
        root=params.root,
        splits_file=snakemake.input.splits,
        split=0,
        queries=params.queries,
        seed=params.seed,
        feature=params.feature,
        data_source=params.data_source,
    )
