"""Derive a dataset's evaluation splits and write the splits file."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.data.splits import write_splits
from mgat.jobs import job

with job(snakemake.log[0]):
    write_splits(
        snakemake.wildcards.dataset,
        snakemake.params.root,
        snakemake.output.splits,
        seed=snakemake.params.seed,
    )
