"""Write a synthetic dataset in its real layout, then its manifest."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.data.prepare import write_manifest
from mgat.data.synthetic import synthesize
from mgat.jobs import job

with job(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    root = snakemake.output.root
    synthesize(dataset, root, seed=snakemake.params.seed, **snakemake.params.options)
    write_manifest(dataset, root, snakemake.output.manifest, source="synthetic")
