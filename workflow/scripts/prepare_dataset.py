"""Check, download or extract a real dataset, then write its manifest."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.data.prepare import prepare_dataset, write_manifest
from mgat.jobs import job

with job(snakemake.log[0]):
    dataset = snakemake.wildcards.dataset
    root = snakemake.params.root
    prepare_dataset(
        dataset,
        root,
        files=snakemake.params.files,
        sha256=snakemake.params.sha256,
        url=snakemake.params.url,
    )
    write_manifest(dataset, root, snakemake.output.manifest, source="real")
