"""Figure 4 (distance matrices) and CMC curves (Figure 5 and each dataset's ``cmc.png``).

Each figure has a builder that returns the :class:`~matplotlib.figure.Figure`, so tests can
inspect it, and a ``plot_*`` function that builds, saves and closes it. Figures are made with
the object-oriented API (no pyplot): nothing is registered globally and no display is needed.
``data_source`` is a required keyword everywhere: a synthetic-data figure is always labelled.
"""

from __future__ import annotations

import logging
import re
import textwrap
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from mgat.errors import DataError
from mgat.io import atomic_path
from mgat.render.published import DATASET_LABELS
from mgat.render.style import (
    DISTANCE_CMAP,
    MODEL_ORDER,
    check_data_source,
    display_name,
    figure_style,
    label_data_source,
    model_style,
)

__all__ = [
    "cmc_figure",
    "dataset_title",
    "distance_matrix_figure",
    "intra_inter_ratio",
    "plot_cmc",
    "plot_distance_matrices",
    "save_figure",
]

log = logging.getLogger(__name__)

# Person labels on the axes only while they stay legible.
_MAX_TICK_LABELS = 24
# Largest horizontal shift of a CMC curve, in ranks: coincident curves stay side by side.
_MAX_OFFSET = 0.15
# A CMC title longer than this wraps, so it never runs past the axes.
_CMC_TITLE_WIDTH = 60


def _titled(title: str, data_source: str) -> str:
    if check_data_source(data_source) == "synthetic":
        return f"{title} [SYNTHETIC data]"
    return title


def dataset_title(template: str, dataset: str) -> str:
    """A figure title naming the dataset as the paper does ("iLIDS-VID", not "ilidsvid").

    ``{label}`` and ``{dataset}`` placeholders become the paper's name; so does the registry
    key as a whole word, which is what Snakemake leaves of a ``{dataset}`` in a rule's params.
    """
    label = DATASET_LABELS.get(dataset, dataset)
    title = template.replace("{label}", label).replace("{dataset}", label)
    if label == dataset:
        return title
    return re.sub(rf"(?<![\w-]){re.escape(dataset)}(?![\w-])", label, title)


def save_figure(fig: Figure, out: Path) -> Path:
    """Save ``fig`` as PNG (through a temporary name, so a half-written file never appears)."""
    out = Path(out)
    try:
        with atomic_path(out, suffix=".png") as tmp, figure_style():
            fig.savefig(tmp, format="png")
    finally:
        fig.clear()  # releases the artists; without pyplot there is no registry to close
    return out


# --- Figure 4 -------------------------------------------------------------------------------


def _person_blocks(labels: Sequence[int], n: int) -> list[tuple[int, int, int]]:
    """(person, start, stop) of each run of equal labels; persons must not recur later."""
    if len(labels) != n:
        raise DataError(f"got {len(labels)} labels for a {n}x{n} distance matrix")
    blocks: list[tuple[int, int, int]] = []
    seen: set[int] = set()
    start = 0
    for i in range(1, n + 1):
        if i == n or labels[i] != labels[start]:
            person = int(labels[start])
            if person in seen:
                raise DataError(
                    f"labels are not grouped by person (person {person} recurs at row {start});"
                    " order rows and columns by person"
                )
            seen.add(person)
            blocks.append((person, start, i))
            start = i
    return blocks


def _square(name: str, matrix: np.ndarray) -> np.ndarray:
    arr = np.asarray(matrix, dtype=float)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise DataError(f"{name} distance matrix must be square and non-empty, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise DataError(f"{name} distance matrix has non-finite values")
    return arr


def _pair_masks(labels: Sequence[int], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Masks of same-person pairs of distinct samples and of different-person pairs."""
    if len(labels) != n:
        raise DataError(f"got {len(labels)} labels for a {n}x{n} distance matrix")
    same = np.equal.outer(np.asarray(labels), np.asarray(labels))
    if same.all():
        raise DataError("the distance matrix shows a single person; the ratio needs two or more")
    intra = same & ~np.eye(n, dtype=bool)
    if not intra.any():
        raise DataError("no person has two samples, so there is no intra-person distance")
    return intra, ~same


def _inter_mean(name: str, matrix: np.ndarray, inter: np.ndarray) -> float:
    scale = float(matrix[inter].mean())
    if not scale > 0:
        raise DataError(f"{name} mean inter-person distance must be positive, got {scale:.6g}")
    return scale


def intra_inter_ratio(distances: np.ndarray, labels: Sequence[int]) -> float:
    """Mean distance between distinct samples of one person over the mean distance between
    persons: free of the overall scale of the features, lower = tighter persons."""
    arr = _square("the", distances)
    intra, inter = _pair_masks(labels, arr.shape[0])
    return float(arr[intra].mean()) / _inter_mean("the", arr, inter)


def distance_matrix_figure(
    baseline: np.ndarray,
    mgat: np.ndarray,
    labels: Sequence[int],
    *,
    title: str,
    data_source: str,
) -> Figure:
    """Build Figure 4: Baseline and MGAT distance matrices, persons marked, each divided by its
    own mean inter-person distance, then both on one colour scale.

    Raw distances would let a model that merely shrinks all distances look tighter; after the
    division 1 is each model's average distance between persons, and each panel's title gives
    the scale-free intra/inter ratio. Blue is small, as in the paper ("the colder the tone,
    the smaller the value").
    """
    check_data_source(data_source)
    base = _square("baseline", baseline)
    opt = _square("MGAT", mgat)
    if base.shape != opt.shape:
        raise DataError(f"distance matrices differ in shape: {base.shape} vs {opt.shape}")
    n = base.shape[0]
    blocks = _person_blocks(list(labels), n)
    intra, inter = _pair_masks(labels, n)
    panels = []
    for name, matrix in (("Baseline", base), ("MGAT", opt)):
        scale = _inter_mean(name, matrix, inter)
        ratio = float(matrix[intra].mean()) / scale
        panels.append((name, matrix / scale, ratio))
    vmin = float(min(p[1].min() for p in panels))
    vmax = float(max(p[1].max() for p in panels))
    if vmax <= vmin:
        vmax = vmin + 1.0

    with figure_style():
        fig = Figure(figsize=(10.5, 5.0), layout="constrained")
        axes = fig.subplots(1, 2)
        for ax, (name, matrix, ratio) in zip(axes, panels, strict=True):
            image = ax.imshow(matrix, cmap=DISTANCE_CMAP, vmin=vmin, vmax=vmax, aspect="equal")
            ax.set_title(f"{name}: intra/inter {ratio:.3f}")
            ax.grid(False)
            for _, _, stop in blocks[:-1]:
                edge = stop - 0.5
                ax.axhline(edge, color="white", linewidth=0.8)
                ax.axvline(edge, color="white", linewidth=0.8)
            if len(blocks) <= _MAX_TICK_LABELS:
                centres = [(start + stop - 1) / 2 for _, start, stop in blocks]
                names = [str(person) for person, _, _ in blocks]
                rotation = 0 if max(len(name) for name in names) <= 3 else 90
                ax.set_xticks(centres, names, fontsize=8, rotation=rotation)
                ax.set_yticks(centres, names, fontsize=8)
                ax.set_xlabel("person")
                ax.set_ylabel("person")
            else:
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_xlabel(f"{len(blocks)} persons")
            ax.tick_params(length=0)
        bar = fig.colorbar(image, ax=list(axes), shrink=0.85, pad=0.02)
        bar.set_label("distance / mean inter-person distance (blue: small)")
        fig.suptitle(_titled(title, data_source))
        label_data_source(fig, data_source)
    return fig


def plot_distance_matrices(
    baseline: np.ndarray,
    mgat: np.ndarray,
    labels: Sequence[int],
    out: Path,
    title: str,
    *,
    data_source: str,
) -> Path:
    """Draw Figure 4 and save it as PNG at ``out``."""
    fig = distance_matrix_figure(baseline, mgat, labels, title=title, data_source=data_source)
    return save_figure(fig, out)


# --- CMC curves -----------------------------------------------------------------------------


def _curve(name: str, curve: Mapping[str, Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(curve, Mapping) or "mean" not in curve:
        raise DataError(f"CMC curve {name!r} has no 'mean'")
    mean = np.asarray(curve["mean"], dtype=float)
    if mean.ndim != 1 or mean.size == 0:
        raise DataError(f"CMC curve {name!r} is empty or not one-dimensional")
    std_values = curve.get("std")
    std = np.zeros_like(mean) if std_values is None else np.asarray(std_values, dtype=float)
    if std.shape != mean.shape:
        raise DataError(f"CMC curve {name!r}: std has {std.size} values, mean has {mean.size}")
    if not (np.isfinite(mean).all() and np.isfinite(std).all()):
        raise DataError(f"CMC curve {name!r} has non-finite values")
    if mean.min() < 0 or mean.max() > 1 + 1e-9:
        raise DataError(f"CMC curve {name!r} must hold fractions in 0..1 (got {mean.max():.3g})")
    return mean, std


def _ordered(names: Collection[str]) -> list[str]:
    known = [m for m in MODEL_ORDER if m in names]
    return known + sorted(n for n in names if n not in MODEL_ORDER)


def _offsets(count: int) -> np.ndarray:
    """Horizontal shifts, evenly spread and symmetric about 0, so coincident curves show."""
    if count == 1:
        return np.zeros(1)
    return np.linspace(-_MAX_OFFSET, _MAX_OFFSET, count)


def cmc_figure(
    curves: Mapping[str, Mapping[str, Sequence[float]]],
    *,
    title: str,
    data_source: str,
    max_rank: int = 20,
) -> Figure:
    """Build a CMC plot (matching rate in % against rank 1..max_rank), ± std as a band.

    Each model has its own line style and marker (:func:`~mgat.render.style.model_style`) and
    its curve is shifted by a small offset (at most ±0.15 rank), and the curves take turns in
    carrying markers, so equal curves (GAT and MGAT often are) stay visible instead of hiding
    one another.
    """
    check_data_source(data_source)
    if not curves:
        raise DataError("no CMC curves to plot")
    if max_rank < 1:
        raise DataError(f"max_rank must be at least 1, got {max_rank}")
    parsed = {name: _curve(name, curves[name]) for name in _ordered(list(curves))}
    shortest = min(mean.size for mean, _ in parsed.values())
    ranks_shown = min(max_rank, shortest)
    if ranks_shown < max_rank:
        log.warning("CMC curves reach rank %d only; plotting ranks 1..%d", shortest, ranks_shown)
    ranks = np.arange(1, ranks_shown + 1)
    offsets = _offsets(len(parsed))

    with figure_style():
        fig = Figure(figsize=(6.4, 4.6), layout="constrained")
        ax = fig.subplots()
        for index, (name, (mean, std)) in enumerate(parsed.items()):
            m, s = 100 * mean[:ranks_shown], 100 * std[:ranks_shown]
            x = ranks + offsets[index]
            style = model_style(name, index)
            label = f"{display_name(name)} (rank-1 {m[0]:.1f}%)"
            # Markers take turns along the ranks, so each of several equal curves shows its own.
            every = slice(index, None, len(parsed))
            ax.plot(x, m, **style, linewidth=1.8, markersize=5, markevery=every, label=label)
            if np.any(s > 0):
                low, high = np.clip(m - s, 0, 100), np.clip(m + s, 0, 100)
                ax.fill_between(x, low, high, color=style["color"], alpha=0.12, linewidth=0)
        ax.set_xlim(0.5, ranks_shown + 0.5)
        ticks = [1, *range(5, ranks_shown + 1, 5)] if ranks_shown >= 5 else list(ranks)
        ax.set_xticks(ticks)
        ax.set_xlabel("Rank")
        ax.set_ylabel("Matching rate (%)")
        ax.set_ylim(top=100.5)
        ax.legend(loc="lower right")
        ax.set_title(textwrap.fill(_titled(title, data_source), _CMC_TITLE_WIDTH))
        label_data_source(fig, data_source)
    return fig


def plot_cmc(
    curves: Mapping[str, Mapping[str, Sequence[float]]],
    out: Path,
    title: str,
    max_rank: int = 20,
    *,
    data_source: str,
) -> Path:
    """Draw CMC curves (Figure 5: GAT vs MGAT; ``cmc.png``: all models) and save as PNG."""
    fig = cmc_figure(curves, title=title, data_source=data_source, max_rank=max_rank)
    return save_figure(fig, out)
