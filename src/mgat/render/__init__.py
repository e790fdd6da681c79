"""Rendering of results as the paper's tables and figures, beside the published numbers.

:mod:`~mgat.render.paper` holds the paper's Tables 1-5 as data, :mod:`~mgat.render.tables`
writes them with this run's numbers (markdown, CSV, LaTeX), :mod:`~mgat.render.figures` draws
Figure 4 and the CMC curves in the shared style of :mod:`~mgat.render.style`.
"""

from __future__ import annotations

from mgat.render.figures import (
    cmc_figure,
    distance_matrix_figure,
    plot_cmc,
    plot_distance_matrices,
    save_figure,
)
from mgat.render.tables import render_table

__all__ = [
    "cmc_figure",
    "distance_matrix_figure",
    "plot_cmc",
    "plot_distance_matrices",
    "render_table",
    "save_figure",
]
