"""One look for every figure: fonts, colours, line styles and the synthetic-data label.

Figures are drawn inside :func:`figure_style`, so they share fonts and sizes whatever the
caller's matplotlib settings are, and the settings are restored afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine

from mgat.errors import DataError
from mgat.vocabulary import BASELINE, CONTROL, GAT, MGAT, STAGES, reranked

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = [
    "DISPLAY_NAMES",
    "DISTANCE_CMAP",
    "DPI",
    "MODEL_ORDER",
    "PALETTE",
    "REFERENCE_NAMES",
    "check_data_source",
    "display_name",
    "figure_style",
    "label_data_source",
    "model_color",
    "model_style",
]

#: PNG resolution: sharp in the HTML report without huge files.
DPI = 180

#: Model keys of the metrics record and how figures and tables name them.
DISPLAY_NAMES: dict[str, str] = {
    BASELINE: "Baseline",
    CONTROL: "Control (no graph)",  # stage 2 as MGAT but X' = X and no OF loss
    MGAT: "MGAT",
    GAT: "GAT",
}
#: How a sentence names a model as the reference of a difference ("MGAT minus the control").
REFERENCE_NAMES: dict[str, str] = {BASELINE: "baseline", CONTROL: "control", GAT: "GAT"}
# A re-ranked evaluation (k-reciprocal re-ranking of the model's own features): "MGAT +
# re-ranking", the model's colour, a line style and marker of its own.
DISPLAY_NAMES |= {reranked(m): f"{DISPLAY_NAMES[m]} + re-ranking" for m in STAGES}
REFERENCE_NAMES |= {reranked(m): f"{REFERENCE_NAMES.get(m, m)} + re-ranking" for m in STAGES}
#: Order in legends and tables: the reference first, then the control, the method last; the
#: re-ranked evaluations after them in the same order.
MODEL_ORDER: tuple[str, ...] = (BASELINE, CONTROL, GAT, MGAT)
MODEL_ORDER += tuple(reranked(m) for m in MODEL_ORDER)

# Okabe-Ito colours (seaborn's "colorblind" palette): distinguishable with colour blindness.
_CB = sns.color_palette("colorblind")
PALETTE: dict[str, tuple[float, float, float]] = {
    BASELINE: (0.35, 0.35, 0.35),
    CONTROL: _CB[2],  # green
    GAT: _CB[0],  # blue
    MGAT: _CB[3],  # vermilion
}
PALETTE |= {reranked(m): colour for m, colour in PALETTE.items()}
_EXTRA = [_CB[4], _CB[1], _CB[5], _CB[6], _CB[7]]

# Line style and marker per model: curves that coincide stay apart in grey-scale prints too.
_LINES: dict[str, tuple[str, str]] = {
    BASELINE: ("--", "s"),
    CONTROL: ("-.", "D"),
    GAT: (":", "^"),
    MGAT: ("-", "o"),
}
_LINES |= {
    reranked(BASELINE): ("--", "p"),
    reranked(CONTROL): ("-.", "d"),
    reranked(GAT): (":", "H"),
    reranked(MGAT): ("-", "8"),
}
_EXTRA_DASHES: list[tuple[int, tuple[int, ...]]] = [
    (0, (5, 1)),
    (0, (3, 1, 1, 1, 1, 1)),
    (0, (1, 3)),
]
_EXTRA_MARKERS = ["v", "P", "X", "*", "h"]

#: Distance matrices: blue (cold) for small distances, red (warm) for large, as in Figure 4.
DISTANCE_CMAP = "RdYlBu_r"

_DATA_SOURCES = ("synthetic", "real")
_NOTE_STRIP = 0.06  # share of the figure height kept free for the synthetic-data note
_SYNTHETIC_NOTE = "SYNTHETIC DATA - not comparable to the paper"


def display_name(model: str) -> str:
    """The name a reader expects ("MGAT", not "mgat"); unknown names are shown as given."""
    return DISPLAY_NAMES.get(model, model)


def model_color(model: str, index: int = 0) -> tuple[float, float, float]:
    """The model's fixed colour, so one model looks the same in every figure."""
    return PALETTE.get(model, _EXTRA[index % len(_EXTRA)])


def model_style(model: str, index: int = 0) -> dict[str, Any]:
    """Line keyword arguments (color, linestyle, marker) that tell the models apart without
    colour: no two of the known models share a line style or a marker. Unknown names cycle
    through the extra colours, dashes and markers by ``index``."""
    linestyle: str | tuple[int, tuple[int, ...]]
    if model in _LINES:
        linestyle, marker = _LINES[model]
    else:
        linestyle = _EXTRA_DASHES[index % len(_EXTRA_DASHES)]
        marker = _EXTRA_MARKERS[index % len(_EXTRA_MARKERS)]
    return {"color": model_color(model, index), "linestyle": linestyle, "marker": marker}


def check_data_source(data_source: str) -> str:
    """Refuse anything but 'synthetic' or 'real', so no figure goes out unlabelled."""
    if data_source not in _DATA_SOURCES:
        raise DataError(f"data_source must be 'synthetic' or 'real', got {data_source!r}")
    return data_source


def _rc() -> dict[RcKeyType, Any]:
    rc: dict[RcKeyType, Any] = {}
    rc.update(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("notebook", font_scale=0.95))
    rc.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": ["DejaVu Sans"],
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "figure.titlesize": 13,
            "figure.titleweight": "bold",
            "legend.frameon": True,
            "legend.framealpha": 0.9,
            "figure.dpi": DPI,
            "savefig.dpi": DPI,
            "savefig.bbox": "tight",
            "savefig.facecolor": "white",
            "image.interpolation": "nearest",
        }
    )
    return rc


@contextmanager
def figure_style() -> Iterator[None]:
    """Apply the project's figure style for the duration of the block."""
    with mpl.rc_context(rc=_rc()):
        yield


def label_data_source(fig: Figure, data_source: str) -> None:
    """Stamp synthetic-data figures with a visible corner note; real data get none.

    Call it after drawing: with constrained layout a strip is kept free at the bottom, so the
    note never covers an axis label.
    """
    if check_data_source(data_source) == "synthetic":
        engine = fig.get_layout_engine()
        if isinstance(engine, ConstrainedLayoutEngine | TightLayoutEngine):
            engine.set(rect=(0, _NOTE_STRIP, 1, 1 - _NOTE_STRIP))
        fig.text(
            0.995,
            0.005,
            _SYNTHETIC_NOTE,
            ha="right",
            va="bottom",
            fontsize=8,
            color="#b2182b",
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "#b2182b", "alpha": 0.9},
        )
