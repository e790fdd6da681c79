"""Figure 4: distance matrices of M persons x K frames, baseline beside MGAT."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.figure4 import figure4_distances
from mgat.io import read_json
from mgat.jobs import job
from mgat.render.figures import dataset_title, plot_distance_matrices

with job(snakemake.log[0]):
    params = snakemake.params
    frames = read_json(
        snakemake.input.frames, "Figure 4 frames", "delete it and rerun (rule figure4_frames)"
    )
    baseline, mgat, pids = figure4_distances(
        snakemake.input.baseline,
        snakemake.input.mgat,
        frames,
        height=params.height,
        width=params.width,
        feature=params.feature,
        device=snakemake.config["train"]["device"],
        threads=snakemake.threads,
    )
    plot_distance_matrices(
        baseline,
        mgat,
        pids,
        snakemake.output.png,
        dataset_title("Figure 4: {label}, split 0", snakemake.wildcards.dataset),
        data_source=params.data_source,
    )
