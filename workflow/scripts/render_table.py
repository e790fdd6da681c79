"""One of the paper's Tables 1-5 from the aggregated metrics, as Markdown, CSV and LaTeX."""

import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.io import read_json
from mgat.jobs import job
from mgat.provenance import write_provenance
from mgat.render.tables import render_table

with job(snakemake.log[0]):
    metrics = {}
    for path in snakemake.input.metrics:
        record = read_json(path, "metrics", "delete it and rerun (rule aggregate remakes it)")
        metrics[record["dataset"]] = record
    out = snakemake.output
    outputs = render_table(
        int(snakemake.wildcards.number),
        metrics,
        Path(snakemake.params.prefix),
        provenance=Path(out.provenance).name,
    )
    write_provenance(
        out.provenance,
        outputs={key: str(path) for key, path in outputs.items()},
        inputs={f"metrics{i}": path for i, path in enumerate(snakemake.input.metrics)},
        sources=[
            read_json(p, "provenance", "rule aggregate remakes it")
            for p in snakemake.input.provenance
        ],
    )
