"""Training curves of one dataset: every stage's losses, accuracy, learning rate and attention
per epoch, over its runs."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.jobs import job
from mgat.render.curves import plot_curves

with job(snakemake.log[0]):
    # {results}/{dataset}/split{run}/{stage}/train_log.csv: the stage is the folder.
    logs = [Path(path) for path in snakemake.input.logs]
    plot_curves(
        {stage: [p for p in logs if p.parent.name == stage] for stage in snakemake.params.stages},
        snakemake.output.png,
        dataset=snakemake.wildcards.dataset,
        data_source=snakemake.params.data_source,
    )
