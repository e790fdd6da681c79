"""Ablation sweeps: stage 2 over a grid of settings, as one table and one figure per dataset.

The workflow trains and evaluates every setting of the configured parameter space (gamma, where
MGAT reads X, the OF loss form and weight, M x K, the BatchNorm mode and the loss reduction) on
the first splits of a dataset, and the control (stage 2 without the graph) of each distinct
(M, K, BN mode, reduction). This module builds one tidy table first (mean and std over splits of
every metric and training diagnostic, per stage and setting, beside the baseline and the
controls of the same splits; the paired bootstrap differences of each setting to its control,
to the baseline and to the GAT of the same setting), then formats it: Markdown with a verdict
in words per setting, CSV, and a figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from mgat.errors import DataError
from mgat.io import read_json, write_text_atomic
from mgat.metrics.evaluation import REPORTED, mean_std, paired_differences
from mgat.render.figures import save_figure
from mgat.render.markdown import markdown_section
from mgat.render.numbers import MINUS, MISSING, format_interval, format_mean_std, is_missing
from mgat.render.published import DATASET_LABELS
from mgat.render.style import (
    REFERENCE_NAMES,
    check_data_source,
    display_name,
    figure_style,
    label_data_source,
    model_style,
)
from mgat.vocabulary import (
    BASELINE,
    CONTROL,
    CONTROL_PARAMETERS,
    GAT,
    MGAT,
    STAGES,
    SWEEP_PARAMETERS,
)

#: Metrics of the sweep table (fractions, shown in %).
SWEEP_METRICS = ("top1", "top5", "mAP")
#: Training diagnostics shown beside the metrics: the attention at the start of stage 2 and
#: how far the stage moved the network by its end.
SWEEP_DIAGNOSTICS = (
    "alpha_self_start",
    "row_sum_start",
    "rel_change_start",
    "move_trunk",
    "bn_mean_shift_head",
)
_DIAGNOSTIC_HEADERS = {
    "alpha_self_start": "alpha_ii",
    "row_sum_start": "row sum",
    "rel_change_start": "||X'-X||/||X||",
    "move_trunk": "trunk moved",
    "bn_mean_shift_head": "head BN shift",
}
#: The differences each setting carries: (reference stage, column prefix).
SWEEP_DIFFERENCES = ((CONTROL, "control"), (BASELINE, "baseline"), (GAT, "gat"))


def _read(path: str | Path) -> dict[str, Any]:
    return read_json(path, "evaluation", "run the sweep's evaluations (rule evaluate_sweep)")


def primary_view(record: Mapping[str, Any]) -> str:
    """The protocol a sweep reads a run under: the configured one, or, for a dataset with a kit
    protocol, the kit's (the first one its table shows)."""
    views = record.get("per_query") or {}
    if REPORTED in views or not views:
        return REPORTED
    return "kit" if "kit" in views else next(iter(views))


def _metric(record: Mapping[str, Any], view: str, metric: str) -> float | None:
    if view == REPORTED:
        return record.get(metric)
    return (record.get("protocols") or {}).get(view, {}).get(metric)


def _summary_row(
    stage: str, setting: Mapping[str, Any], records: list[dict[str, Any]], view: str
) -> dict[str, Any]:
    datasets = {r["dataset"] for r in records}
    if len(datasets) != 1:
        raise DataError(f"sweep evaluations of one setting mix datasets {sorted(datasets)}")
    row: dict[str, Any] = {"stage": stage, **setting, "dataset": datasets.pop()}
    row["splits"] = len(records)
    for metric in SWEEP_METRICS:
        stats = mean_std([_metric(r, view, metric) for r in records])
        row[metric], row[f"{metric}_std"] = stats["mean"], stats["std"]
    for key in SWEEP_DIAGNOSTICS:
        stats = mean_std([r.get(key) for r in records])
        row[key], row[f"{key}_std"] = stats["mean"], stats["std"]
    return row


def _by_split(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: r["split"])


def _control_key(setting: Mapping[str, Any]) -> tuple[Any, ...]:
    """The values of the parameters a control reads: the settings that share one control."""
    return tuple(setting[p] for p in CONTROL_PARAMETERS)


@dataclass
class _Sweep:
    """A sweep's evaluations, read and in split order."""

    settings: dict[tuple[Any, ...], dict[str, Any]]  # parameter values -> setting
    runs: dict[tuple[Any, ...], list[dict[str, Any]]]  # (stage, *parameter values) -> runs
    baseline: list[dict[str, Any]]
    controls: dict[tuple[Any, ...], list[dict[str, Any]]]  # control parameter values -> runs
    view: str  # the protocol the sweep reads its runs under


def _read_sweep(runs: Sequence[Mapping[str, Any]], baseline: Sequence[str | Path]) -> _Sweep:
    """Read every evaluation a sweep names once (a control is named by every stage's runs)."""
    settings: dict[tuple[Any, ...], dict[str, Any]] = {}
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    controls: dict[tuple[Any, ...], list[str]] = {}  # control parameters -> evaluations
    for run in runs:
        setting = run["setting"]
        missing = [p for p in SWEEP_PARAMETERS if p not in setting]
        if missing:
            raise ValueError(f"sweep setting {setting!r} lacks {missing}")
        values = tuple(setting[p] for p in SWEEP_PARAMETERS)
        settings[values] = {p: setting[p] for p in SWEEP_PARAMETERS}
        groups.setdefault((run["stage"], *values), []).append(_read(run["evaluation"]))
        if run.get("control"):
            controls.setdefault(_control_key(setting), []).append(run["control"])
    view = primary_view(next(iter(groups.values()))[0])
    base = _by_split([_read(path) for path in baseline])
    return _Sweep(
        settings=settings,
        runs={key: _by_split(records) for key, records in groups.items()},
        baseline=base,
        controls={
            key: _by_split([_read(path) for path in dict.fromkeys(paths)])
            for key, paths in controls.items()
        },
        view=view,
    )


def _reference_rows(sweep: _Sweep) -> list[dict[str, Any]]:
    """The rows every setting is read against: the baseline, and each distinct control."""
    rows = []
    if sweep.baseline:
        unset = dict.fromkeys(SWEEP_PARAMETERS)
        rows.append(_summary_row(BASELINE, unset, sweep.baseline, sweep.view))
    for key, records in sweep.controls.items():
        setting = {
            **dict.fromkeys(SWEEP_PARAMETERS),
            **dict(zip(CONTROL_PARAMETERS, key, strict=True)),
        }
        rows.append(_summary_row(CONTROL, setting, records, sweep.view))
    return rows


def _setting_row(sweep: _Sweep, stage: str, point: tuple[Any, ...]) -> dict[str, Any]:
    """One stage at one setting, with its paired differences (``d_<metric>_<reference>`` and
    ``_low``/``_high``) to each reference that ran on the same splits."""
    records = sweep.runs[(stage, *point)]
    setting = sweep.settings[point]
    row = _summary_row(stage, setting, records, sweep.view)
    references = {
        BASELINE: sweep.baseline,
        CONTROL: sweep.controls.get(_control_key(setting), []),
        GAT: sweep.runs.get((GAT, *point), []) if stage == MGAT else [],
    }
    for reference, prefix in SWEEP_DIFFERENCES:
        if not references[reference]:
            continue
        found = paired_differences(records, references[reference], stage, reference)
        for metric, ci in found.get(sweep.view, {}).items():
            row[f"d_{metric}_{prefix}"] = ci["estimate"]
            row[f"d_{metric}_{prefix}_low"] = ci["low"]
            row[f"d_{metric}_{prefix}_high"] = ci["high"]
    return row


def summarize_sweep(
    runs: Sequence[Mapping[str, Any]],
    baseline: Sequence[str | Path],
) -> pd.DataFrame:
    """One row per (stage, setting), the baseline and each control: mean and std over splits
    of every sweep metric and diagnostic, and for each stage-2 setting its paired differences
    (``d_<metric>_<reference>`` and ``_low``/``_high``, fractions) to its control, the baseline
    and the GAT of the same setting, where those ran.

    ``runs`` holds one entry per evaluated model: ``{"stage", "setting": {...}, "evaluation":
    path, "control": path or absent}``; ``baseline`` the baseline's evaluations of the same
    splits. No runs, or a setting without every sweep parameter, is a caller's error
    (ValueError); a missing or malformed evaluation a DataError.
    """
    if not runs:
        raise ValueError("the sweep has no runs to summarize")
    sweep = _read_sweep(runs, baseline)
    rows = _reference_rows(sweep)
    rows += [_setting_row(sweep, stage, tuple(point)) for stage, *point in sweep.runs]
    table = pd.DataFrame(rows)
    table["view"] = sweep.view
    return table.sort_values(
        ["stage", *reversed(SWEEP_PARAMETERS)],
        key=lambda column: column.map(_sort_key),
        kind="stable",
    ).reset_index(drop=True)


def _sort_key(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (0, "")
    if value in STAGES:
        return (1, STAGES.index(value))
    return (2, value) if isinstance(value, int | float) else (3, str(value))


def _parameter(value: Any) -> str:
    return "" if is_missing(value) else value if isinstance(value, str) else f"{value:g}"


def _mean_std_cell(row: Mapping[str, Any], key: str, *, scale: float, digits: int) -> str:
    """Mean ± std over runs; a std of 0 (one run, or runs that agree) is left out."""
    std = row[f"{key}_std"]
    shown = None if is_missing(std) or std <= 0 else std
    return format_mean_std(row[key], shown, scale=scale, digits=digits)


def _interval(row: Mapping[str, Any], metric: str, prefix: str) -> str:
    """A difference and its interval in points, with two decimals: a method check resolves
    differences below a tenth of a point."""
    key = f"d_{metric}_{prefix}"
    if is_missing(row.get(key)):
        return MISSING
    estimate, low, high = (100 * row[key + end] for end in ("", "_low", "_high"))
    return format_interval(estimate, low, high, digits=2)


def _resolved(row: Mapping[str, Any], metric: str, prefix: str) -> int | None:
    """+1 / -1 where the interval lies above / below 0, 0 where it contains 0."""
    key = f"d_{metric}_{prefix}"
    if is_missing(row.get(key)):
        return None
    if row[key + "_low"] > 0:
        return 1
    return -1 if row[key + "_high"] < 0 else 0


def verdict(row: Mapping[str, Any], prefix: str = "control") -> str:
    """In words, whether a setting differs from its control (or another reference)."""
    signs = {m: _resolved(row, m, prefix) for m in ("top1", "mAP")}
    if all(s is None for s in signs.values()):
        return f"no {prefix} to compare with"
    name = display_name(str(row["stage"]))
    reference = "the control" if prefix == "control" else prefix
    found = [
        f"{'higher' if s > 0 else 'lower'} {label} ({_interval(row, m, prefix)})"
        for m, label in (("top1", "top-1"), ("mAP", "mAP"))
        if (s := signs[m])
    ]
    if found:
        return f"{name} differs from {reference}: " + ", ".join(found)
    widths = [
        100 * (row[f"d_{m}_{prefix}_high"] - row[f"d_{m}_{prefix}_low"]) / 2
        for m in ("top1", "mAP")
        if signs[m] is not None
    ]
    if max(widths) == 0 and all(row[f"d_{m}_{prefix}"] == 0 for m in ("top1", "mAP")):
        return f"the same top-1 and mAP as {reference} on every query"
    return (
        f"no difference from {reference} resolved: both intervals contain 0 "
        f"(half-width up to {max(widths):.1f} points)"
    )


def _varying(table: pd.DataFrame) -> list[str]:
    runs = table[~table["stage"].isin([BASELINE])]
    return [p for p in SWEEP_PARAMETERS if runs[p].dropna().nunique() > 1]


def _fixed(table: pd.DataFrame, varying: list[str]) -> str:
    runs = table[~table["stage"].isin([BASELINE, CONTROL])]
    parts = []
    for p in SWEEP_PARAMETERS:
        if p in varying or runs.empty:
            continue
        parts.append(f"{p} {_parameter(runs[p].iloc[0])}")
    return ", ".join(parts)


def _sweep_title(table: pd.DataFrame, data_source: str) -> str:
    dataset = str(table["dataset"].iloc[0])
    label = DATASET_LABELS.get(dataset, dataset)
    title = f"Sweep on {label}: stage 2 over its settings ({int(table['splits'].max())} run(s))"
    if data_source == "synthetic":
        title += " [SYNTHETIC data: shows the pipeline, says nothing about the paper's data]"
    return title


def _metrics_cells(
    records: list[dict[str, Any]], varying: list[str]
) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the main table: each row's metrics and training diagnostics."""
    headers = ["Stage", *varying, "top-1 %", "top-5 %", "mAP %"]
    headers += [_DIAGNOSTIC_HEADERS[d] for d in SWEEP_DIAGNOSTICS]
    rows = []
    for row in records:
        cells = [display_name(row["stage"]), *(_parameter(row[p]) for p in varying)]
        cells += [_mean_std_cell(row, m, scale=100, digits=1) for m in SWEEP_METRICS]
        cells += [_mean_std_cell(row, d, scale=1, digits=4) for d in SWEEP_DIAGNOSTICS]
        rows.append(cells)
    return headers, rows


def _metrics_note(table: pd.DataFrame, varying: list[str]) -> str:
    """What the main table's protocol, fixed settings and diagnostics are."""
    fixed = _fixed(table, varying)
    kit = str(table["view"].iloc[0]) == "kit"
    protocol = "the dataset kit's protocol" if kit else "the configured protocol"
    return (
        f"Mean ± std over runs, under {protocol}. "
        + (f"Fixed in every setting: {fixed}. " if fixed else "")
        + "Control: stage 2 without the graph (X' = X, no OF loss), trained with the "
        "setting's M, K, bn and loss_reduction. alpha_ii: mean self weight of the attention "
        "at the start of stage 2 (1 = the identity: X' = X); row sum: mean row sum of the "
        "attention applied there (A o M for MGAT: alpha_ii + same - other; 1 for GAT); "
        "||X'-X||/||X||: how much the graph moved the features then; trunk moved: "
        "||W - W_stage1|| / ||W_stage1|| of the trunk at the end; head BN shift: RMS shift "
        "of the head BN's running means, in stage-1 standard deviations. features: where "
        "MGAT reads X (pooled: before the BN; bn: after it). M x K: persons x images per "
        "batch."
    )


_DIFFERENCES_NOTE = (
    "Each stage-2 model minus the named reference on the same queries: the control of its "
    "setting, the baseline of the same splits, and (for MGAT) the GAT of the same setting. "
    "Queries are resampled (over several runs: the runs first, then the queries within each). "
    "An interval that contains 0 does not resolve a difference."
)


def _differences_cells(
    runs: list[dict[str, Any]], varying: list[str]
) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the differences table: every difference that ran, with its
    interval, and the verdict against the control in words."""
    present = [
        (reference, prefix, metric)
        for reference, prefix in SWEEP_DIFFERENCES
        for metric in ("top1", "mAP")
        if any(not is_missing(r.get(f"d_{metric}_{prefix}")) for r in runs)
    ]
    metric_names = {"top1": "top-1", "mAP": "mAP"}
    headers = ["Stage", *varying]
    headers += [f"Δ {metric_names[m]} vs {REFERENCE_NAMES[r]}" for r, _p, m in present]
    headers.append("verdict")
    rows = []
    for row in runs:
        cells = [display_name(row["stage"]), *(_parameter(row[p]) for p in varying)]
        cells += [_interval(row, m, p) for _r, p, m in present]
        rows.append([*cells, verdict(row)])
    return headers, rows


def sweep_markdown(table: pd.DataFrame, *, data_source: str) -> str:
    """The sweep table as Markdown: the baseline and the controls first, every setting with its
    metrics and training diagnostics, then its differences with their intervals and a verdict
    in words."""
    check_data_source(data_source)
    records = cast(list[dict[str, Any]], table.to_dict("records"))  # the columns are strings
    varying = _varying(table)
    headers, rows = _metrics_cells(records, varying)
    note = _metrics_note(table, varying)
    title = _sweep_title(table, data_source)
    lines = markdown_section(title, headers, rows, [note], numeric_from=1 + len(varying))
    runs = [r for r in records if r["stage"] not in (BASELINE, CONTROL)]
    if runs:
        headers, rows = _differences_cells(runs, varying)
        heading = "Differences, in points, with paired bootstrap 95% confidence intervals"
        lines += markdown_section(heading, headers, rows, [_DIFFERENCES_NOTE], level=3)
    return "\n".join(lines)


def _x_positions(values: ArrayLike, index: int, count: int, log: bool) -> np.ndarray:
    """Positions shifted by a small per-line offset, so coincident lines stay visible."""
    spread = 0.06 if log else 0.12
    offset = (index - (count - 1) / 2) * (spread / max(count - 1, 1)) * 2 if count > 1 else 0.0
    positions = np.asarray(values, dtype=float)
    return positions * 10**offset if log else positions + offset


def _keys(keys: Any) -> tuple[Any, ...]:
    return keys if isinstance(keys, tuple) else (keys,)


def _categories(runs: pd.DataFrame, others: list[str]) -> list[tuple[Any, ...]]:
    return [
        tuple(r[p] for p in others) for r in runs.drop_duplicates(subset=others).to_dict("records")
    ]


def _setting_axis(ax: Any, categories: list[tuple[Any, ...]], others: list[str]) -> None:
    labels = [
        "\n".join(f"{p}={_parameter(v)}" for p, v in zip(others, c, strict=True))
        for c in categories
    ]
    ax.set_xticks(range(len(categories)), labels or [""], fontsize=8)
    ax.set_xlim(-0.5, len(categories) - 0.5)
    ax.set_xlabel("setting")


def _plot_against_gamma(ax: Any, table: pd.DataFrame, metric: str, others: list[str]) -> None:
    """One line per stage and other setting against gamma, the baseline and the controls as
    horizontal lines."""
    runs = table[~table["stage"].isin([BASELINE, CONTROL])]
    lines = list(runs.groupby(["stage", *others], sort=True))
    shared = len({_keys(k)[0] for k, _ in lines}) < len(lines)
    for index, (keys, group) in enumerate(lines):
        stage, *values = _keys(keys)
        name = display_name(stage)
        if others:
            name += " (" + ", ".join(f"{p}={v}" for p, v in zip(others, values, strict=True)) + ")"
        # One stage, several settings: each setting its own colour, dashes and marker.
        style = model_style("", index) if shared else model_style(stage)
        group = group.sort_values("gamma")
        x = _x_positions(group["gamma"], index, len(lines), log=True)
        ax.errorbar(
            x,
            100 * group[metric],
            yerr=100 * group[f"{metric}_std"],
            capsize=3,
            linewidth=1.8,
            elinewidth=1.2,
            label=name,
            **style,
        )
    for stage in (BASELINE, CONTROL):
        for _, row in table[table["stage"] == stage].iterrows():
            if not math.isfinite(row[metric]):
                continue
            suffix = ", ".join(
                f"{p}={_parameter(row[p])}" for p in CONTROL_PARAMETERS if p in others
            )
            ax.axhline(
                100 * row[metric],
                linewidth=1.4,
                label=display_name(stage) + (f" ({suffix})" if suffix and stage == CONTROL else ""),
                **{**model_style(stage), "marker": None},
            )
    ax.set_xscale("log")
    ax.set_xlabel("gamma (eq. 2)")


def _plot_differences(ax: Any, table: pd.DataFrame, metric: str, others: list[str]) -> None:
    """Each setting's stage-2 models minus the control of that setting, with their paired
    95% intervals: what the sweep measures, on a scale where the control is 0."""
    runs = table[~table["stage"].isin([BASELINE, CONTROL])]
    categories = _categories(runs, others)
    stages = [s for s in STAGES if s in set(runs["stage"])]
    for index, stage in enumerate(stages):
        group = runs[runs["stage"] == stage]
        group = group[group[f"d_{metric}_control"].notna()]
        if group.empty:
            continue
        order = [categories.index(tuple(r[p] for p in others)) for r in group.to_dict("records")]
        y = 100 * group[f"d_{metric}_control"].to_numpy(dtype=float)
        low = 100 * group[f"d_{metric}_control_low"].to_numpy(dtype=float)
        high = 100 * group[f"d_{metric}_control_high"].to_numpy(dtype=float)
        ax.errorbar(
            _x_positions(order, index, len(stages), log=False),
            y,
            yerr=[y - low, high - y],
            capsize=4,
            elinewidth=1.4,
            label=f"{display_name(stage)} {MINUS} control",
            **{**model_style(stage), "linestyle": "none"},
        )
    ax.axhline(
        0.0,
        linewidth=1.4,
        label=f"{display_name(CONTROL)}: 0",
        **{**model_style(CONTROL), "marker": None},
    )
    _setting_axis(ax, categories, others)


def _plot_per_setting(ax: Any, table: pd.DataFrame, metric: str, others: list[str]) -> None:
    """Without controls: each setting's metric, mean ± std over runs, the baseline dashed."""
    runs = table[~table["stage"].isin([BASELINE, CONTROL])]
    categories = _categories(runs, others)
    stages = [s for s in STAGES if s in set(runs["stage"])]
    for index, stage in enumerate(stages):
        group = runs[runs["stage"] == stage]
        order = [categories.index(tuple(r[p] for p in others)) for r in group.to_dict("records")]
        ax.errorbar(
            _x_positions(order, index, len(stages), log=False),
            100 * group[metric],
            yerr=100 * group[f"{metric}_std"],
            capsize=3,
            label=display_name(stage),
            **{**model_style(stage), "linestyle": "none"},
        )
    base = table[table["stage"] == BASELINE]
    if not base.empty and math.isfinite(base[metric].iloc[0]):
        ax.axhline(
            100 * base[metric].iloc[0],
            linewidth=1.4,
            label=display_name(BASELINE),
            **{**model_style(BASELINE), "marker": None},
        )
    _setting_axis(ax, categories, others)


def sweep_figure(table: pd.DataFrame, *, data_source: str) -> Figure:
    """The sweep in one figure, for top-1 and mAP. When gamma varies: each stage and other
    setting against gamma (log scale), baseline dashed, controls dash-dotted. Otherwise, where
    the controls ran: each setting's stage-2 models minus its control with their paired 95%
    intervals; else each setting's metric. Points and lines are offset a little so none hides
    another."""
    check_data_source(data_source)
    runs = table[~table["stage"].isin([BASELINE, CONTROL])]
    if runs.empty:
        raise DataError("the sweep table has no stage-2 rows to plot")
    varying = _varying(table)
    others = [p for p in varying if p != "gamma"]
    by_gamma = "gamma" in varying
    against_control = (
        not by_gamma and "d_top1_control" in runs and runs["d_top1_control"].notna().any()
    )
    dataset = str(table["dataset"].iloc[0])
    with figure_style():
        fig = Figure(figsize=(11.0, 4.6), layout="constrained")
        axes = fig.subplots(1, 2)
        for ax, metric, label in zip(axes, ("top1", "mAP"), ("top-1", "mAP"), strict=True):
            if by_gamma:
                _plot_against_gamma(ax, table, metric, others)
                ax.set_ylabel(f"{label} (%)")
            elif against_control:
                _plot_differences(ax, table, metric, others)
                ax.set_ylabel(f"Δ {label} vs the control (points, 95% CI)")
            else:
                _plot_per_setting(ax, table, metric, others)
                ax.set_ylabel(f"{label} (%)")
        axes[0].legend(loc="best", fontsize=7)
        title = f"Sweep on {DATASET_LABELS.get(dataset, dataset)}: stage 2 settings"
        if by_gamma:
            title += " against gamma"
        elif against_control:
            title += f", each model {MINUS} its control"
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
