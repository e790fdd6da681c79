"""Ablation sweeps: stage 2 over a grid of settings, as one table and one figure per dataset.

The workflow trains and evaluates every setting of the configured parameter space (gamma, where
MGAT reads X, the OF loss form and weight, M x K) on the first splits of a dataset; this module
turns the per-split evaluations into a table (mean and std over splits, beside the baseline of
the same splits) and a figure of each metric against gamma, one line per other setting.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mgat.errors import DataError
from mgat.io import read_json, write_text_atomic
from mgat.render.figures import save_figure
from mgat.render.style import (
    check_data_source,
    display_name,
    figure_style,
    label_data_source,
    model_color,
)

#: The swept settings, in the order of the parameter space's folders.
SWEEP_PARAMETERS = ("gamma", "features", "of_loss", "of_weight", "M", "K")
#: Metrics of the sweep table (fractions, shown in %).
SWEEP_METRICS = ("top1", "top5", "mAP")
#: Attention statistics at the start of stage 2, shown beside the metrics.
SWEEP_ATTENTION = ("alpha_self_start", "rel_change_start")


def _mean_std(values: Sequence[float | None]) -> tuple[float, float]:
    array = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if array.size == 0:
        return math.nan, math.nan
    return float(array.mean()), float(array.std(ddof=1)) if array.size > 1 else 0.0


def _read(path: str | Path) -> dict[str, Any]:
    return read_json(path, "evaluation", "run the sweep's evaluations (rule evaluate_sweep)")


def summarize_sweep(
    runs: Sequence[Mapping[str, Any]],
    baseline: Sequence[str | Path],
) -> pd.DataFrame:
    """One row per (stage, setting): mean and std over splits of every sweep metric.

    ``runs`` holds one entry per evaluated model: ``{"stage", "setting": {...}, "evaluation":
    path}``; ``baseline`` the baseline's evaluations of the same splits (one row, stage
    ``baseline``, no setting).
    """
    if not runs:
        raise DataError("the sweep has no runs to summarize")
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for run in runs:
        setting = run["setting"]
        missing = [p for p in SWEEP_PARAMETERS if p not in setting]
        if missing:
            raise DataError(f"sweep setting {setting!r} lacks {missing}")
        key = (run["stage"], *(setting[p] for p in SWEEP_PARAMETERS))
        groups.setdefault(key, []).append(_read(run["evaluation"]))
    rows = []
    base_records = [_read(path) for path in baseline]
    if base_records:
        rows.append(_row("baseline", dict.fromkeys(SWEEP_PARAMETERS), base_records))
    for (stage, *values), records in groups.items():
        rows.append(_row(stage, dict(zip(SWEEP_PARAMETERS, values, strict=True)), records))
    table = pd.DataFrame(rows)
    return table.sort_values(
        ["stage", "features", "of_loss", "of_weight", "M", "K", "gamma"],
        key=lambda column: column.map(_sort_key),
        kind="stable",
    ).reset_index(drop=True)


def _sort_key(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (0, "")
    if value in ("baseline", "mgat", "gat"):
        return (1, ("baseline", "mgat", "gat").index(value))
    return (2, value) if isinstance(value, int | float) else (3, str(value))


def _row(stage: str, setting: Mapping[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    datasets = {r["dataset"] for r in records}
    if len(datasets) != 1:
        raise DataError(f"sweep evaluations of one setting mix datasets {sorted(datasets)}")
    row: dict[str, Any] = {"stage": stage, **setting, "dataset": datasets.pop()}
    row["splits"] = len(records)
    for metric in SWEEP_METRICS + SWEEP_ATTENTION:
        mean, std = _mean_std([r.get(metric) for r in records])
        row[metric] = mean
        row[f"{metric}_std"] = std
    return row


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _parameter(value: Any) -> str:
    return "-" if _missing(value) else value if isinstance(value, str) else f"{value:g}"


def _stat(value: Any, std: Any, *, scale: float, digits: int) -> str:
    if _missing(value):
        return "-"
    text = f"{value * scale:.{digits}f}"
    if not _missing(std) and std > 0:
        text += f" ± {std * scale:.{digits}f}"
    return text


def sweep_markdown(table: pd.DataFrame, *, data_source: str) -> str:
    """The sweep table as Markdown, the baseline first, with what each column means."""
    check_data_source(data_source)
    dataset = str(table["dataset"].iloc[0])
    splits = int(table["splits"].max())
    title = f"## Sweep on {dataset}: stage 2 over its settings ({splits} split(s))"
    if data_source == "synthetic":
        title += " [SYNTHETIC data: shows the pipeline, says nothing about the method]"
    headers = [
        "Stage",
        *SWEEP_PARAMETERS,
        "top-1 %",
        "top-5 %",
        "mAP %",
        "alpha_ii",
        "||X'-X||/||X||",
    ]
    lines = [title, "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in table.to_dict("records"):
        cells = [display_name(row["stage"])]
        cells += [
            _parameter(row[p]) if row["stage"] != "baseline" else "" for p in SWEEP_PARAMETERS
        ]
        cells += [_stat(row[m], row[f"{m}_std"], scale=100, digits=1) for m in SWEEP_METRICS]
        cells += [_stat(row[a], row[f"{a}_std"], scale=1, digits=4) for a in SWEEP_ATTENTION]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Mean ± std over splits. alpha_ii: mean self weight of the attention at the start of "
        "stage 2 (1 = the identity: X' = X, stage 2 is fine-tuning with the identity loss); "
        "||X'-X||/||X||: how much MGAT moved the features then. features: where MGAT reads X "
        "(pooled: before the BN; bn: after it). M x K: persons x images per batch.",
        "",
    ]
    return "\n".join(lines)


def sweep_figure(table: pd.DataFrame, *, data_source: str) -> Figure:
    """Top-1 and mAP against gamma (log scale), one line per stage and other setting; the
    baseline of the same splits dashed."""
    check_data_source(data_source)
    runs = table[table["stage"] != "baseline"]
    if runs.empty:
        raise DataError("the sweep table has no stage-2 rows to plot")
    base = table[table["stage"] == "baseline"]
    others = [p for p in SWEEP_PARAMETERS if p != "gamma" and runs[p].nunique() > 1]
    with figure_style():
        fig = Figure(figsize=(10.0, 4.4), layout="constrained")
        axes = fig.subplots(1, 2)
        for ax, metric, label in zip(axes, ("top1", "mAP"), ("Top-1 (%)", "mAP (%)"), strict=True):
            for index, ((stage, *values), group) in enumerate(
                runs.groupby(["stage", *others], sort=True)
            ):
                group = group.sort_values("gamma")
                name = display_name(stage)
                if others:
                    name += (
                        " ("
                        + ", ".join(f"{p}={v}" for p, v in zip(others, values, strict=True))
                        + ")"
                    )
                ax.errorbar(
                    group["gamma"], 100 * group[metric], yerr=100 * group[f"{metric}_std"],
                    marker="o", linewidth=1.8, capsize=3, label=name,
                    color=model_color(stage if not others else "", index),
                )  # fmt: skip
            if not base.empty and math.isfinite(base[metric].iloc[0]):
                ax.axhline(
                    100 * base[metric].iloc[0], color=model_color("baseline"), linestyle="--",
                    linewidth=1.5, label="Baseline",
                )  # fmt: skip
            ax.set_xscale("log")
            ax.set_xlabel("gamma (eq. 2)")
            ax.set_ylabel(label)
        axes[0].legend(loc="best", fontsize=8)
        dataset = str(table["dataset"].iloc[0])
        title = f"Sweep on {dataset}: metric against gamma"
        if data_source == "synthetic":
            title += " [SYNTHETIC data]"
        fig.suptitle(title)
        label_data_source(fig, data_source)
    return fig


def render_sweep(
    runs: Sequence[Mapping[str, Any]],
    baseline: Sequence[str | Path],
    *,
    out_csv: str | Path,
    out_md: str | Path,
    out_png: str | Path,
    data_source: str,
) -> pd.DataFrame:
    """Summarize a dataset's sweep and write its CSV, Markdown table and figure."""
    table = summarize_sweep(runs, baseline)
    write_text_atomic(out_csv, table.to_csv(index=False))
    write_text_atomic(out_md, sweep_markdown(table, data_source=data_source))
    save_figure(sweep_figure(table, data_source=data_source), Path(out_png))
    return table
