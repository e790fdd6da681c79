"""One of the paper's Tables 1-5 from the aggregated metrics, as Markdown, CSV and LaTeX."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.io import read_json
from mgat.jobs import job
from mgat.render.tables import render_table

with job(snakemake.log[0]):
    metrics = {}
    for path in snakemake.input.metrics:
        record = read_json(path, "metrics", "delete it and rerun (rule aggregate remakes it)")
        metrics[record["dataset"]] = record
    render_table(int(snakemake.wildcards.number), metrics, Path(snakemake.params.prefix))
