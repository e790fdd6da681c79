"""Mean and standard deviation over splits of every metric, per model."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.jobs import job
from mgat.metrics.evaluation import aggregate_splits

with job(snakemake.log[0]):
    aggregate_splits(
        snakemake.input.evaluations,
        snakemake.output.json,
        snakemake.output.csv,
        data_source=snakemake.params.data_source,
        out_provenance=snakemake.output.provenance,
        manifest=snakemake.input.manifest,
    )
