"""Derive a dataset's evaluation splits and write the splits file."""

from mgat.data.splits import write_splits
from mgat.jobs import job

with job(snakemake.log[0]):
    write_splits(
        snakemake.wildcards.dataset,
        snakemake.params.root,
        snakemake.output.splits,
        seed=snakemake.params.seed,
    )
