"""Figure 4: distance matrices of M persons x K frames, baseline beside MGAT."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.featurefile import figure4_distances
from mgat.jobs import job
from mgat.render.figures import plot_distance_matrices

with job(snakemake.log[0]):
    baseline, mgat, pids = figure4_distances(snakemake.input.baseline, snakemake.input.mgat)
    plot_distance_matrices(
        baseline,
        mgat,
        pids,
        snakemake.output.png,
        f"Figure 4: {snakemake.wildcards.dataset}, split 0",
        data_source=snakemake.params.data_source,
    )
