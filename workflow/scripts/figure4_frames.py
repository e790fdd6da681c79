"""Choose Figure 4's M x K frames of split 0 and write them, refusing a sample the data lack."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.figure4 import figure4_frames
from mgat.io import write_json_atomic
from mgat.jobs import job

with job(snakemake.log[0]):
    params = snakemake.params
    frames = figure4_frames(
        dataset=snakemake.wildcards.dataset,
        root=params.root,
        splits_file=snakemake.input.splits,
        split=0,
        protocol=params.protocol,
        sampling=params.sampling,
        seq_len=params.seq_len,
        persons=params.persons,
        frames=params.frames,
    )
    write_json_atomic(snakemake.output.frames, frames)
