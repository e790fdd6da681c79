"""Figure 4: distance matrices of M persons x K frames, baseline beside MGAT."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.features import figure4_distances
from mgat.jobs import job
from mgat.render.figures import dataset_title, plot_distance_matrices

with job(snakemake.log[0]):
    params = snakemake.params
    baseline, mgat, pids = figure4_distances(
        snakemake.input.baseline,
        snakemake.input.mgat,
        dataset=snakemake.wildcards.dataset,
        root=params.root,
        splits_file=snakemake.input.splits,
        split=0,
        protocol=params.protocol,
        height=params.height,
        width=params.width,
        sampling=params.sampling,
        seq_len=params.seq_len,
        persons=params.persons,
        frames=params.frames,
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
