"""Extract query and gallery features of one split with one trained model."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.extraction import extract_features
from mgat.jobs import job

with job(snakemake.log[0]):
    extract_features(
        snakemake.input.model,
        dataset=snakemake.wildcards.dataset,
        root=snakemake.params.root,
        splits_file=snakemake.input.splits,
        split=snakemake.params.data_split,
        run=int(snakemake.wildcards.run),
        out=snakemake.output.features,
        protocol=snakemake.params.protocol,
        height=snakemake.params.height,
        width=snakemake.params.width,
        sampling=snakemake.params.sampling,
        seq_len=snakemake.params.seq_len,
        batch_size=snakemake.config["evaluation"]["batch_size"],
        device=snakemake.config["train"]["device"],
        threads=snakemake.threads,
    )
