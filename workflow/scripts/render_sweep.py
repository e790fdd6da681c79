"""The sweep table (Markdown, CSV) and figure (metrics against gamma) of one dataset."""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.jobs import job
from mgat.render.sweeps import render_sweep

with job(snakemake.log[0]):
    render_sweep(
        snakemake.params.runs,
        snakemake.input.baseline,
        out_csv=snakemake.output.csv,
        out_md=snakemake.output.md,
        out_png=snakemake.output.png,
        data_source=snakemake.params.data_source,
    )
