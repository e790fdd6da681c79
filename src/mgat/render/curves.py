"""Training curves of a dataset: each stage's losses, accuracy and learning rate per epoch,
and stage 2's attention diagnostics, the mean over runs with their range as a band.

Final metrics say where training ended, not how: whether a stage converged, whether the OF
loss moved, whether the attention stayed the identity. Each run's ``train_log.csv`` (one row
per epoch, :mod:`mgat.engine.loop`) holds that; the figure shows it per stage, one line style
per stage as in every other figure.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from mgat.errors import DataError
from mgat.render.figures import dataset_title, save_figure
from mgat.render.style import (
    MODEL_ORDER,
    check_data_source,
    display_name,
    figure_style,
    label_data_source,
    model_style,
)

__all__ = [
    "PANELS",
    "REQUIRED_COLUMNS",
    "Panel",
    "curves_figure",
    "mean_over_runs",
    "plot_curves",
    "read_train_log",
]

log = logging.getLogger(__name__)

#: Columns every stage logs; a log without one is not mgat's and cannot be drawn.
REQUIRED_COLUMNS = ("epoch", "id_loss", "accuracy", "lr_head", "lr_backbone")


@dataclass(frozen=True)
class Panel:
    """One panel: the column it draws, its title, y label, and whether the y axis is
    logarithmic (losses and learning rates span decades across stages)."""

    column: str
    title: str
    ylabel: str
    log_scale: bool = False
    percent: bool = False


#: The panels in reading order: what every stage logs, then what only the graph stages do.
PANELS = (
    Panel("id_loss", "Identity loss", "cross-entropy", log_scale=True),
    Panel("of_loss", "OF loss (graph stages)", "OF loss", log_scale=True),
    Panel("accuracy", "Training accuracy", "accuracy (%)", percent=True),
    Panel("lr_head", "Learning rate", "learning rate", log_scale=True),
    Panel("alpha_self", "Attention self weight", "mean alpha_self (1: X' = X)"),
    Panel("rel_change", "Change the graph makes", "||X' - X|| / ||X||"),
)
_ROWS, _COLUMNS = 2, 3
# Largest horizontal shift of a stage's line, in epochs: coincident lines stay side by side.
_MAX_OFFSET = 0.1
_RETRAIN = "delete the stage's model.pt and train_log.csv and rerun it (rule train_{stage})"


def read_train_log(path: str | Path, stage: str) -> pd.DataFrame:
    """A run's ``train_log.csv``, checked: the required columns, numeric, one row per epoch."""
    what = f"training log {path} ({stage})"
    fix = _RETRAIN.format(stage=stage)
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"{what} not found; train the stage first (rule train_{stage})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{what} is not a CSV table ({type(err).__name__}); {fix}") from err
    missing = [column for column in REQUIRED_COLUMNS if column not in frame.columns]
    if missing:
        raise DataError(f"{what} lacks the columns {', '.join(missing)}; {fix}")
    if frame.empty:
        raise DataError(f"{what} has no epochs; {fix}")
    known = [panel.column for panel in PANELS if panel.column in frame.columns]
    for column in ("epoch", "lr_backbone", *known):
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise DataError(f"{what}: column {column} is not numeric; {fix}")
    if frame["epoch"].duplicated().any():
        raise DataError(f"{what} lists an epoch twice; {fix}")
    return frame


def mean_over_runs(logs: Sequence[pd.DataFrame], column: str) -> pd.DataFrame | None:
    """Per epoch, the mean, minimum and maximum of ``column`` over the runs that logged it, and
    how many did (None: no run logged it, as the baseline and the control log no OF loss)."""
    parts = [
        frame[["epoch", column]].dropna()
        for frame in logs
        if column in frame.columns and frame[column].notna().any()
    ]
    if not parts:
        return None
    grouped = pd.concat(parts).groupby("epoch")[column]
    table = grouped.agg(["mean", "min", "max", "count"]).reset_index()
    return table.rename(columns={"count": "runs"})


def _offsets(count: int) -> np.ndarray:
    """Horizontal shifts, evenly spread and symmetric about 0, so coincident lines show."""
    if count == 1:
        return np.zeros(1)
    return np.linspace(-_MAX_OFFSET, _MAX_OFFSET, count)


def _draw(ax: Axes, panel: Panel, logs: Mapping[str, Sequence[pd.DataFrame]]) -> int:
    """Draw one panel's lines, each stage shifted by its small offset; returns how many stages
    it shows."""
    shown = 0
    offsets = _offsets(len(logs))
    for index, stage in enumerate(logs):
        table = mean_over_runs(logs[stage], panel.column)
        if table is None:
            continue
        scale = 100.0 if panel.percent else 1.0
        # The log counts from 0, a reader from 1.
        epochs = table["epoch"].to_numpy() + 1 + offsets[index]
        style = model_style(stage, index)
        ax.plot(
            epochs,
            table["mean"].to_numpy() * scale,
            **style,
            linewidth=1.8,
            markersize=5,
            label=display_name(stage),
        )
        if (table["runs"] > 1).any():
            ax.fill_between(
                epochs,
                table["min"].to_numpy() * scale,
                table["max"].to_numpy() * scale,
                color=style["color"],
                alpha=0.15,
                linewidth=0,
            )
        if panel.column == "lr_head":  # stage 1's trunk learns at its own rate
            trunk = mean_over_runs(logs[stage], "lr_backbone")
            if trunk is not None and not np.allclose(trunk["mean"], table["mean"]):
                ax.plot(
                    trunk["epoch"].to_numpy() + 1 + offsets[index],
                    trunk["mean"].to_numpy(),
                    color=style["color"],
                    linestyle=style["linestyle"],
                    linewidth=0.9,
                    alpha=0.6,
                )
        shown += 1
    return shown


def _wants_log_scale(ax: Axes) -> bool:
    """Whether the values drawn span a decade or more and are all positive (a log axis would
    hide the others)."""
    values = np.concatenate([np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()])
    return bool(values.size) and values.min() > 0 and values.max() >= 10 * values.min()


def _ordered(stages: Sequence[str]) -> list[str]:
    known = [stage for stage in MODEL_ORDER if stage in stages]
    return known + [stage for stage in stages if stage not in MODEL_ORDER]


def curves_figure(
    logs: Mapping[str, Sequence[pd.DataFrame]],
    *,
    title: str,
    data_source: str,
) -> Figure:
    """Build the training-curves figure: one panel per entry of PANELS, one line per stage
    (the mean over its runs at each epoch, band: minimum to maximum over the runs). A stage
    with no runs is left out; a panel no stage logged says so."""
    check_data_source(data_source)
    present = {stage: logs[stage] for stage in _ordered(list(logs)) if logs[stage]}
    if not present:
        raise DataError("no training logs to draw; train the stages first")
    runs = {stage: len(frames) for stage, frames in present.items()}
    with figure_style():
        fig = Figure(figsize=(13.0, 7.4), layout="constrained")
        axes = fig.subplots(_ROWS, _COLUMNS, squeeze=False).ravel()
        for ax, panel in zip(axes, PANELS, strict=True):
            shown = _draw(ax, panel, present)
            trunk_lines = panel.column == "lr_head" and len(ax.get_lines()) > shown
            ax.set_title(panel.title + (" (thin: trunk)" if trunk_lines else ""), fontsize=11)
            ax.set_xlabel("epoch of the stage")
            ax.set_ylabel(panel.ylabel)
            if not shown:
                ax.text(
                    0.5,
                    0.5,
                    "not logged by these stages",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    color="#777777",
                )
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            if panel.log_scale and _wants_log_scale(ax):
                ax.set_yscale("log")
            ax.xaxis.get_major_locator().set_params(integer=True)
        handles = [
            Line2D(
                [],
                [],
                **model_style(stage, index),
                linewidth=1.8,
                markersize=5,
                label=f"{display_name(stage)} ({runs[stage]} run{'s' * (runs[stage] > 1)})",
            )
            for index, stage in enumerate(present)
        ]
        fig.legend(handles=handles, loc="outside right upper", fontsize=9)
        missing = [display_name(stage) for stage in logs if stage not in present]
        note = f"; not run: {', '.join(missing)}" if missing else ""
        spread = "mean over runs, band: min to max" if max(runs.values()) > 1 else "one run each"
        subtitle = f"{spread}{note}"
        if check_data_source(data_source) == "synthetic":
            title = f"{title} [SYNTHETIC data]"
        fig.suptitle(f"{title}\n{subtitle}")
        label_data_source(fig, data_source)
    return fig


def plot_curves(
    train_logs: Mapping[str, Sequence[str | Path]],
    out: str | Path,
    *,
    dataset: str,
    data_source: str,
) -> Path:
    """Read every run's training log of each stage (``train_logs``: stage -> paths) and save
    the training-curves figure of ``dataset`` as PNG at ``out``."""
    check_data_source(data_source)
    logs = {
        stage: [read_train_log(path, stage) for path in paths]
        for stage, paths in train_logs.items()
    }
    for stage, frames in logs.items():
        if not frames:
            log.warning("no training log of stage %s; it is left out", stage)
    title = dataset_title("Training curves: {label}", dataset)
    fig = curves_figure(logs, title=title, data_source=data_source)
    return save_figure(fig, Path(out))
