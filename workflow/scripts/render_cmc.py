"""CMC curves of a dataset's models (Figure 5: GAT vs MGAT; cmc.png: every model).

The rule's ``title`` may hold ``{label}`` (or the ``{dataset}`` Snakemake has filled with the
registry key): either way the figure names the dataset as the paper does.
"""

import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../../src")  # this checkout's mgat, in any environment

from mgat.io import read_json
from mgat.jobs import job
from mgat.render.figures import dataset_title, plot_cmc

with job(snakemake.log[0]):
    metrics = read_json(
        snakemake.input.metrics, "metrics", "delete it and rerun (rule aggregate remakes it)"
    )
    title = dataset_title(snakemake.params.title, snakemake.wildcards.dataset)
    curves = {m: metrics["cmc"][m] for m in snakemake.params.models if m in metrics["cmc"]}
    plot_cmc(
        curves,
        snakemake.output.png,
        f"{title} ({metrics['protocol']} protocol)",
        data_source=metrics["data_source"],
    )
