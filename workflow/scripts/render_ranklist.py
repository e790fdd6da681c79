"""Ranked lists of one dataset's split 0: the baseline beside MGAT for the same seeded queries."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.jobs import job
from mgat.render.ranklist import build_ranklists, plot_ranklist

with job(snakemake.log[0]):
    params = snakemake.params
    ranked = build_ranklists(
        snakemake.input.baseline,
        snakemake.input.mgat,
        dataset=snakemake.wildcards.dataset,
        root=params.root,
        splits_file=snakemake.input.splits,
        split=0,
        queries=params.queries,
        seed=params.seed,
        feature=params.feature,
    )
    plot_ranklist(ranked, snakemake.output.png, data_source=params.data_source)
