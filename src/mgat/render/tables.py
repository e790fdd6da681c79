"""The paper's Tables 1-5, with this run's numbers beside the published ones.

:func:`render_table` writes three files per table, ``{out_prefix}.md``, ``.csv`` and ``.tex``.
The markdown and LaTeX carry the title, which states the data source (SYNTHETIC or real), the
protocol, the AP form and the test feature, so a demo result is never mistaken for a
reproduction.

Tables 2-5 list, in this order: the compared methods as the paper reports them (source
``paper (reported)``); per protocol this run shows (MARS and Market1501: the dataset kit's and
torchreid's), this run's Baseline, Control (stage 2 without the graph), MGAT and GAT ablation
(source ``this run``, mean ± std over splits in percent) followed by the differences ``Δ MGAT -
control``, ``Δ MGAT - baseline`` and ``Δ MGAT - GAT`` in top-1 and mAP with their paired
bootstrap 95% confidence intervals (``+1.2 [-0.5, +2.9]``, in points); the paper's own Baseline
and MGAT (source ``paper``); and, on real data only, the differences ``Δ Baseline (this run -
paper)`` and ``Δ MGAT (this run - paper)``. Tables 2 and 3 gain an mAP column that the paper
does not print. Differences are printed with the minus sign U+2212.

CSV format (one row per table row, numbers as numbers, no title line):

* Tables 2-5: ``table, dataset, method, source, data_source, protocol, ap, feature, n,
  valid_queries, num_queries`` then, per metric in the table's column order, ``<metric>``,
  ``<metric>_std``, ``<metric>_low`` and ``<metric>_high`` (metric keys as in the metrics
  record: ``top1``, ``top5``, ``top10``, ``top20``, ``mAP``). All values are in percent (points
  for differences) and not rounded for display; ``<metric>`` is the published value, this
  run's mean over splits or the difference; ``_std`` is filled for this run's rows, ``_low`` and
  ``_high`` for the interval rows. ``protocol`` and ``ap`` name the protocol a row's numbers
  come from; ``data_source``, ``feature``, ``n`` (runs), ``valid_queries`` and ``num_queries``
  (per run) describe this run and are empty on the published rows; empty cells are values the
  paper does not report ('-').
* Table 1: ``table, dataset, method, model, data_source, protocol, feature, n, probe_paper,
  gallery_paper, probe, probe_std, gallery, gallery_std`` with raw CHI scores; ``method`` is the
  paper's name (Baseline, Optimized) or ours (Control), ``model`` the metrics record's.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mgat.errors import ConfigError, DataError
from mgat.io import write_text_atomic
from mgat.metrics.evaluation import BOOTSTRAP_RESAMPLES
from mgat.render.markdown import escape, markdown_table
from mgat.render.paper import (
    DATASET_LABELS,
    METRIC_LABELS,
    TABLE1,
    TABLE1_DATASETS,
    TABLE1_METHODS,
    TABLE_DATASET,
    TABLES,
    PaperRow,
)
from mgat.render.style import REFERENCE_NAMES, check_data_source, display_name
from mgat.vocabulary import BASELINE, CONTROL, DIFFERENCES, GAT, MGAT, STAGES

__all__ = [
    "MINUS",
    "SOURCE_DELTA",
    "SOURCE_OURS",
    "SOURCE_PAPER",
    "SOURCE_REPORTED",
    "format_interval",
    "latex_escape",
    "render_table",
]

log = logging.getLogger(__name__)

SOURCE_REPORTED = "paper (reported)"
SOURCE_OURS = "this run"
SOURCE_PAPER = "paper"
MINUS = "\u2212"  # the typographic minus sign, for differences
SOURCE_DELTA = f"this run {MINUS} paper"

_AP_NAMES = {"noninterpolated": "non-interpolated", "trapezoid": "trapezoidal"}
#: Row-group labels, AP forms and averaging of the two protocols of MARS and Market1501.
PROTOCOL_LABELS = {
    "kit": "dataset kit",
    "torchreid": "torchreid",
}
PROTOCOL_AP = {"kit": "trapezoid", "torchreid": "noninterpolated"}
#: How the tables name the test features.
FEATURE_LABELS = {"pooled": "pooled (before the BN)", "bn": "post-BN"}

#: This run's rows in table order, and how the tables name them.
_TABLE_NAMES = {GAT: "GAT (ablation)", CONTROL: "Control (stage 2, no graph)"}
_OUR_MODELS = tuple((key, _TABLE_NAMES.get(key, display_name(key))) for key in STAGES)
#: The metrics whose differences carry an interval.
_CI_METRICS = ("top1", "mAP")
_MISSING = "-"


@dataclass
class _Table:
    """A table ready to write: display cells for md/tex, numbers for the CSV."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    groups: list[int]  # index of the first row of every group after the first
    csv: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    numeric_from: int = 2  # columns from here on are right-aligned


# --- reading the metrics record --------------------------------------------------------------


def _record(metrics: Mapping[str, Any], dataset: str, number: int) -> Mapping[str, Any]:
    record = metrics.get(dataset)
    if record is None:
        raise DataError(f"Table {number} needs the metrics of {dataset}, which are missing")
    if not isinstance(record, Mapping) or not isinstance(record.get("models"), Mapping):
        raise DataError(f"metrics of {dataset} have no 'models' mapping")
    bad = [m for m, v in record["models"].items() if not isinstance(v, Mapping)]
    if bad:
        raise DataError(f"metrics of {dataset}: model {bad[0]!r} is not a mapping of metrics")
    if record.get("dataset", dataset) != dataset:
        raise DataError(f"metrics given for {dataset} are for {record.get('dataset')!r}")
    if "data_source" not in record:
        raise DataError(f"metrics of {dataset} do not say their data_source (synthetic or real)")
    check_data_source(record["data_source"])
    return record


def _stat(
    record: Mapping[str, Any], model: str, metric: str, *, fraction: bool
) -> tuple[float, float, int] | None:
    """(mean, std, n) of one metric of one model, or None if the record lacks it."""
    entry = record["models"].get(model, {}).get(metric)
    if entry is None:
        return None
    where = f"{record.get('dataset')}/{model}/{metric}"
    try:
        mean = float(entry["mean"])
        std = float(entry.get("std", 0.0) or 0.0)
        n = int(entry.get("n", 1))
    except (TypeError, KeyError, ValueError) as exc:
        raise DataError(f"metric {where} is not {{mean, std, n}}: {entry!r}") from exc
    if fraction and math.isfinite(mean) and not -1e-9 <= mean <= 1 + 1e-9:
        raise DataError(f"metric {where} is {mean}, expected a fraction in 0..1")
    return mean, std, n


def _n_splits(record: Mapping[str, Any]) -> int:
    splits = record.get("splits")
    if isinstance(splits, list | tuple) and splits:
        return len(splits)
    ns = [
        int(entry.get("n", 1))
        for model in record["models"].values()
        for entry in model.values()
        if isinstance(entry, Mapping)
    ]
    return max(ns, default=1)


def _source_phrase(data_source: str) -> str:
    if data_source == "synthetic":
        return "SYNTHETIC data — not comparable to the paper"
    return "real data"


def _aggregate_phrase(n: int, repeated: bool = False) -> str:
    if n > 1 and repeated:
        return f"mean ± std over {n} runs (seeds) of the one split"
    return f"mean ± std over {n} splits" if n > 1 else "a single split, no std"


def _feature_phrase(record: Mapping[str, Any]) -> str:
    feature = record.get("feature")
    return f"test feature {FEATURE_LABELS.get(feature, feature)}" if feature else ""


def _context(record: Mapping[str, Any]) -> tuple[str, str, str, int]:
    protocol = str(record.get("protocol", "unknown"))
    ap = str(record.get("ap", "unknown"))
    return record["data_source"], protocol, ap, _n_splits(record)


def _attention_notes(record: Mapping[str, Any]) -> list[str]:
    """A footnote per stage-2 model whose attention was numerically the identity at its start
    (X' = X): its rows then measure identity-loss fine-tuning, not the graph attention."""
    notes = []
    for model, name in ((MGAT, "MGAT"), (GAT, "GAT")):
        entry = record["models"].get(model, {}).get("attention_identity")
        if not isinstance(entry, Mapping) or not entry.get("n"):
            continue
        fraction = float(entry.get("mean", 0.0))
        if not (math.isfinite(fraction) and fraction > 0):
            continue
        n = int(entry["n"])
        alpha = record["models"][model].get("alpha_self_start", {}).get("mean", math.nan)
        notes.append(
            f"{name} on {DATASET_LABELS[record['dataset']]}: the attention was numerically the "
            f"identity at the start of stage 2 on {round(fraction * n)} of {n} splits (mean "
            f"alpha_ii {alpha:.4f}): X' = X there, so the {name} rows measure fine-tuning with "
            "the identity loss, not the graph attention (see train_log.csv and docs/protocol.md)."
        )
    return notes


# --- formatting ------------------------------------------------------------------------------


def _fmt(value: float, std: float, n: int, *, scale: float, digits: int) -> str:
    if not math.isfinite(value):
        return "n/a"
    text = f"{value * scale:.{digits}f}"
    if n > 1 and math.isfinite(std):
        text += f" ± {std * scale:.{digits}f}"
    return text


def signed(value: float, digits: int = 1) -> str:
    """A difference with its sign, the minus as U+2212."""
    return f"{value:+.{digits}f}".replace("-", MINUS)


def format_interval(estimate: float, low: float, high: float, digits: int = 1) -> str:
    """``+1.2 [-0.5, +2.9]`` (minus signs U+2212): a difference and its interval."""
    return f"{signed(estimate, digits)} [{signed(low, digits)}, {signed(high, digits)}]"


def _fmt_delta(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return _MISSING
    return signed(value)


def _chi_digits(std: float, n: int) -> int:
    """Decimals for a CHI score: the paper's four for a single run, else as many as its std
    supports (one significant digit of the std)."""
    if n <= 1 or not (math.isfinite(std) and std > 0):
        return 4
    return min(4, max(0, -math.floor(math.log10(std))))


def _paper_cells(row: PaperRow, extra: int) -> list[str]:
    return [_MISSING if v is None else v for v in row.values] + [_MISSING] * extra


# --- Tables 2-5 ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _View:
    """One protocol under which this run's rows are shown."""

    name: str | None  # "kit", "torchreid", or None: the record's configured protocol
    source: str  # the rows' Source cell
    models: Mapping[str, Any]  # model -> metric -> {mean, std, n}
    protocol: str
    ap: str
    differences: Mapping[str, Any]  # "mgat-finetune" -> metric -> interval


def _views(record: Mapping[str, Any], protocol: str, ap: str) -> list[_View]:
    """The protocols this run is shown under: the kit's and torchreid's where the dataset has
    a kit (MARS, Market1501; both from one extraction), else the configured one."""
    protocols = record.get("protocols") or {}
    differences = record.get("differences") or {}
    if {"kit", "torchreid"} <= set(protocols):
        return [
            _View(
                name=name,
                source=f"{SOURCE_OURS}, {PROTOCOL_LABELS[name]}",
                models=protocols[name],
                protocol=name,
                ap=PROTOCOL_AP[name],
                differences=differences.get(name, {}),
            )
            for name in ("kit", "torchreid")
        ]
    return [
        _View(
            name=None,
            source=SOURCE_OURS,
            models=record["models"],
            protocol=protocol,
            ap=ap,
            differences=differences.get("reported", {}),
        )
    ]


def _queries_note(views: list[_View], n_runs: int) -> str:
    """How many queries are behind each number and interval, per protocol shown."""
    parts = []
    for view in views:
        valid = total = None
        for model in view.models.values():
            valid = (model.get("valid_queries") or {}).get("mean", valid)
            total = (model.get("num_queries") or {}).get("mean", total)
        if valid is None:
            continue
        name = "this run" if view.name is None else PROTOCOL_LABELS.get(view.name, "this run")
        counted = (
            f"all {total:.0f} queries, {valid:.0f} of them with a true match"
            if view.name == "kit" and total is not None
            else f"{valid:.0f} valid queries (with a true match in another camera)"
        )
        parts.append(f"{name}: {counted} per run, {n_runs} run(s)")
    if not parts:
        return ""
    return "Queries behind each number: " + "; ".join(parts) + "."


def _comparison_table(number: int, metrics: Mapping[str, Any]) -> _Table:
    paper = TABLES[number]
    dataset = paper.dataset
    record = _record(metrics, dataset, number)
    data_source, protocol, ap, n_splits = _context(record)
    present = [(key, name) for key, name in _OUR_MODELS if key in record["models"]]
    if not present:
        raise DataError(f"metrics of {dataset} have none of the models {', '.join(STAGES)}")
    columns = list(paper.columns) + [c for c in _CI_METRICS if c not in paper.columns]
    extra = len(columns) - len(paper.columns)
    views = _views(record, protocol, ap)
    repeated = bool(record.get("repeated_split"))
    protocol_phrase = (
        "the dataset kit's protocol and torchreid's"
        if views[0].name is not None
        else f"protocol {protocol}, AP {_AP_NAMES.get(ap, ap)}"
    )
    title = (
        f"Table {number}: {DATASET_LABELS[dataset]}, {_source_phrase(data_source)}; "
        + "; ".join(
            part
            for part in (
                protocol_phrase,
                _feature_phrase(record),
                _aggregate_phrase(n_splits, repeated),
            )
            if part
        )
    )

    rows: list[list[str]] = []
    groups: list[int] = []
    records: list[dict[str, Any]] = []
    ours_info = {"data_source": data_source, "feature": record.get("feature"), "n": n_splits}

    def add(method: str, source: str, cells: list[str], numbers: dict[str, Any]) -> None:
        rows.append([method, source, *cells])
        records.append({"table": number, "dataset": dataset, "method": method, "source": source})
        records[-1].update(numbers)

    def paper_numbers(row: PaperRow) -> dict[str, Any]:
        return dict(zip(paper.columns, row.numbers, strict=True))

    for row in paper.compared:
        add(row.label, SOURCE_REPORTED, _paper_cells(row, extra), paper_numbers(row))

    first_view: dict[str, dict[str, float | None]] = {}
    for view in views:
        groups.append(len(rows))
        info = {**ours_info, "protocol": view.protocol, "ap": view.ap}
        for key, name in present:
            cells: list[str] = []
            numbers: dict[str, Any] = dict(info)
            mine: dict[str, float | None] = {}
            for metric in columns:
                stat = _stat(
                    {"dataset": dataset, "models": view.models}, key, metric, fraction=True
                )
                mine[metric] = None
                if stat is None:
                    cells.append(_MISSING)
                    continue
                mean, std, n = stat
                cells.append(_fmt(mean, std, n, scale=100, digits=1))
                numbers[metric] = 100 * mean
                numbers[f"{metric}_std"] = 100 * std
                mine[metric] = 100 * mean
            for count in ("valid_queries", "num_queries"):
                entry = view.models.get(key, {}).get(count)
                if isinstance(entry, Mapping):
                    numbers[count] = entry.get("mean")
            first_view.setdefault(key, mine)  # the first view: the kit's where there is one
            add(name, view.source, cells, numbers)
        for model, reference in DIFFERENCES:
            pair = view.differences.get(f"{model}-{reference}")
            if not pair:
                continue
            method = f"Δ {display_name(model)} {MINUS} {REFERENCE_NAMES[reference]} [95% CI]"
            cells, numbers = [], dict(info)
            for metric in columns:
                ci = pair.get(metric)
                if ci is None:
                    cells.append(_MISSING)
                    continue
                cells.append(format_interval(*(100 * ci[k] for k in ("estimate", "low", "high"))))
                numbers[metric] = 100 * ci["estimate"]
                numbers[f"{metric}_low"] = 100 * ci["low"]
                numbers[f"{metric}_high"] = 100 * ci["high"]
            add(method, view.source, cells, numbers)

    groups.append(len(rows))
    for row in (paper.baseline, paper.mgat):
        add(row.label, SOURCE_PAPER, _paper_cells(row, extra), paper_numbers(row))

    # Differences to the published numbers mean something on the real data only.
    pairs = ((BASELINE, paper.baseline), (MGAT, paper.mgat))
    delta_rows = [(key, row) for key, row in pairs if key in first_view and data_source == "real"]
    if delta_rows:
        groups.append(len(rows))
    for key, row in delta_rows:
        deltas: dict[str, Any] = {**ours_info, "protocol": views[0].protocol, "ap": views[0].ap}
        for metric, published in zip(paper.columns, row.numbers, strict=True):
            ours = first_view[key][metric]
            if ours is None or published is None or not math.isfinite(ours):
                deltas[metric] = None
            else:
                deltas[metric] = ours - published
        cells = [_fmt_delta(deltas[m]) for m in paper.columns] + [_MISSING] * extra
        add(f"Δ {display_name(key)} ({SOURCE_DELTA})", SOURCE_DELTA, cells, deltas)

    csv_columns = ["table", "dataset", "method", "source", "data_source", "protocol", "ap"]
    csv_columns += ["feature", "n", "valid_queries", "num_queries"]
    for metric in columns:
        csv_columns += [metric, f"{metric}_std", f"{metric}_low", f"{metric}_high"]
    csv = pd.DataFrame.from_records(records).reindex(columns=csv_columns)

    aggregate = _aggregate_phrase(n_splits, repeated)
    notes = [
        f"Accuracies in %. {SOURCE_REPORTED}: other methods as quoted by the paper; "
        f"{SOURCE_PAPER}: the paper's own results (average of a 10-fold cross validation); "
        f"{SOURCE_OURS}: {aggregate}. Control: stage 2 exactly as MGAT's (batches, seed, "
        "schedule, BatchNorm, loss reduction, epochs) without the graph (X' = X, no OF loss).",
        f"Δ rows: differences in points, MGAT minus the named model on the same queries, with a "
        f"paired bootstrap 95% confidence interval "
        f"({'runs resampled, then queries within each' if n_splits > 1 else 'queries resampled'}"
        f"; {BOOTSTRAP_RESAMPLES:,} resamples). An interval that contains 0 does not resolve a "
        "difference.",
    ]
    queries = _queries_note(views, n_splits)
    if queries:
        notes.append(queries)
    if extra:
        notes.append(
            "mAP is this run's only: the paper's table does not report it for this dataset."
        )
    if paper.footnote:
        notes.append(f"{paper.footnote} (note of the paper's Table {number}).")
    if data_source == "synthetic":
        notes.append(
            "This run used SYNTHETIC demo data: its numbers only show that the pipeline runs "
            "and say nothing about the method; no difference to the paper is computed."
        )
    if len(views) > 1:
        notes.append(
            "This run is shown under the dataset kit's protocol (its gallery, with the queries "
            "for MARS; its AP; its stable sort, the lower gallery index first among equal "
            "distances; the average over all queries, one without a true match counting 0) and "
            "torchreid's, both from the same features"
            + (
                "; the Δ-to-paper rows compare the kit's with the paper, which says it adopts "
                "the dataset's protocol."
                if delta_rows
                else "."
            )
        )
    notes += _attention_notes(record)
    return _Table(
        title=title,
        headers=["Method", "Source", *(METRIC_LABELS[c] for c in columns)],
        rows=rows,
        groups=groups,
        csv=csv,
        notes=notes,
    )


# --- Table 1 ---------------------------------------------------------------------------------


def _chi_table(metrics: Mapping[str, Any]) -> _Table:
    datasets = [d for d in TABLE1_DATASETS if d in metrics]
    if not datasets:
        raise DataError("Table 1 needs the metrics of at least one of ilidsvid, prid2011, mars")
    records_in = {d: _record(metrics, d, 1) for d in datasets}
    contexts = {d: _context(r) for d, r in records_in.items()}

    sources = sorted({c[0] for c in contexts.values()})
    protocols = sorted({c[1] for c in contexts.values()})
    if len(sources) == 1:
        source_phrase = _source_phrase(sources[0])
    else:
        source_phrase = "MIXED real and SYNTHETIC data (see notes) — synthetic rows not comparable"
    by_phrase: dict[str, list[str]] = {}
    for dataset, context in contexts.items():
        phrase = _aggregate_phrase(context[3], bool(records_in[dataset].get("repeated_split")))
        by_phrase.setdefault(phrase, []).append(DATASET_LABELS[dataset])
    aggregates = [f"{phrase} ({', '.join(names)})" for phrase, names in by_phrase.items()]
    features = sorted({str(r.get("feature")) for r in records_in.values() if r.get("feature")})
    feature_phrase = (
        f"; test feature {', '.join(FEATURE_LABELS.get(f, f) for f in features)}"
        if features
        else ""
    )
    title = (
        "Table 1: CHI of Baseline and graph-optimised (MGAT) features on probe and gallery sets; "
        f"{source_phrase}; protocol {', '.join(protocols)}{feature_phrase}; "
        f"this run: {'; '.join(aggregates)}"
    )
    headers = [
        "Dataset",
        "Methods",
        "probe (paper)",
        "probe (this run)",
        "gallery (paper)",
        "gallery (this run)",
    ]
    methods = {**TABLE1_METHODS, "Control": CONTROL}
    rows: list[list[str]] = []
    groups: list[int] = []
    records: list[dict[str, Any]] = []
    for dataset in datasets:
        record = records_in[dataset]
        data_source, protocol, _, n_splits = contexts[dataset]
        if rows:
            groups.append(len(rows))
        for method, model in methods.items():
            if model == CONTROL and model not in record["models"]:
                continue
            probe_paper, gallery_paper = TABLE1[dataset].get(method, (None, None))
            out: dict[str, Any] = {
                "table": 1,
                "dataset": dataset,
                "method": method,
                "model": model,
                "data_source": data_source,
                "protocol": protocol,
                "feature": record.get("feature"),
                "n": n_splits,
                "probe_paper": None if probe_paper is None else float(probe_paper),
                "gallery_paper": None if gallery_paper is None else float(gallery_paper),
            }
            cells = []
            for metric, short in (("chi_probe", "probe"), ("chi_gallery", "gallery")):
                stat = _stat(record, model, metric, fraction=False)
                if stat is None:
                    cells.append(_MISSING)
                    continue
                mean, std, n = stat
                cells.append(_fmt(mean, std, n, scale=1, digits=_chi_digits(std, n)))
                out[short] = mean
                out[f"{short}_std"] = std
            name = {MGAT: f"{method} (MGAT)", CONTROL: "Control (stage 2, no graph)"}.get(
                model, method
            )
            rows.append(
                [
                    DATASET_LABELS[dataset],
                    name,
                    probe_paper or _MISSING,
                    cells[0],
                    gallery_paper or _MISSING,
                    cells[1],
                ]
            )
            records.append(out)

    columns = ["table", "dataset", "method", "model", "data_source", "protocol", "feature", "n"]
    columns += ["probe_paper", "gallery_paper", "probe", "probe_std", "gallery", "gallery_std"]
    csv = pd.DataFrame.from_records(records).reindex(columns=columns)
    notes = [
        "Calinski-Harabasz index (higher: better separated identities), raw score. "
        "paper: Bao et al., CVPRW 2019, Table 1; this run: mean ± std over splits, to the "
        "decimals its std supports. CHI depends on the feature dimension and the set sizes, so "
        "only the Baseline-vs-MGAT change within one column is comparable with the paper; the "
        "Control row (stage 2 without the graph) tells that change from stage 2's own.",
    ]
    for dataset in datasets:
        data_source, protocol, _, n_splits = contexts[dataset]
        notes.append(
            f"{DATASET_LABELS[dataset]}: {data_source} data, protocol {protocol}, "
            f"{_aggregate_phrase(n_splits, bool(records_in[dataset].get('repeated_split')))}."
        )
    for dataset in datasets:
        notes += _attention_notes(records_in[dataset])
    return _Table(title=title, headers=headers, rows=rows, groups=groups, csv=csv, notes=notes)


# --- writers ---------------------------------------------------------------------------------


def _markdown(table: _Table) -> str:
    lines = [f"## {escape(table.title)}", ""]
    lines += markdown_table(table.headers, table.rows, numeric_from=table.numeric_from)
    lines.append("")
    for note in table.notes:
        lines += [escape(note), ""]
    return "\n".join(lines)


_LATEX_CHARS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "±": r"$\pm$",
    "Δ": r"$\Delta$",
    MINUS: r"$-$",
    "\u2014": "---",  # em dash
    "\u2013": "--",  # en dash
}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters; ±, Δ and minus become math, so no utf8 input is needed."""
    return "".join(_LATEX_CHARS.get(ch, ch) for ch in text)


def _latex(table: _Table, label: str) -> str:
    headers = [latex_escape(h) for h in table.headers]
    frame = pd.DataFrame([[latex_escape(c) for c in row] for row in table.rows], columns=headers)
    column_format = "l" * table.numeric_from + "r" * (len(headers) - table.numeric_from)
    text = frame.style.hide(axis="index").to_latex(
        caption=latex_escape(table.title),
        label=label,
        hrules=True,
        position_float="centering",
        environment="table",
        column_format=column_format,
    )
    # Styler has no rules between row groups: add a \midrule before each group's first row.
    lines = text.splitlines()
    body_start = lines.index(r"\midrule") + 1
    for offset in sorted(table.groups, reverse=True):
        if 0 < offset < len(table.rows):
            lines.insert(body_start + offset, r"\midrule")
    end = lines.index(r"\end{table}")
    notes = " ".join(latex_escape(n) for n in table.notes)
    lines.insert(end, r"\par\smallskip{\footnotesize " + notes + "}")
    return "\n".join(lines) + "\n"


def render_table(
    number: int, metrics: dict[str, dict], out_prefix: Path, provenance: str | None = None
) -> dict[str, Path]:
    """Write Table ``number`` (1-5) as ``{out_prefix}.md``, ``.csv`` and ``.tex``.

    ``metrics`` maps a dataset name to its aggregated metrics record; ``provenance`` names the
    record written beside the table, which its footer then points to. Returns the paths by
    format (``md``, ``csv``, ``tex``).
    """
    if number == 1:
        table = _chi_table(metrics)
    elif number in TABLE_DATASET:
        table = _comparison_table(number, metrics)
    else:
        raise ConfigError(f"the paper has Tables 1-5, not Table {number}")
    if provenance:
        table.notes.append(
            f"Provenance of this run's numbers (software, code revision, device, settings, and "
            f"the digests of the data, splits and weights): {provenance}."
        )
    out_prefix = Path(out_prefix)
    paths = {ext: out_prefix.with_name(f"{out_prefix.name}.{ext}") for ext in ("md", "csv", "tex")}
    write_text_atomic(paths["md"], _markdown(table))
    csv = table.csv.copy()
    csv["n"] = csv["n"].astype("Int64")  # number of splits; empty on the published rows
    numeric = csv.select_dtypes("number").columns
    csv[numeric] = csv[numeric].round(6)
    write_text_atomic(paths["csv"], csv.to_csv(index=False))
    write_text_atomic(paths["tex"], _latex(table, f"tab:mgat-table{number}"))
    log.info("wrote Table %d to %s.{md,csv,tex}", number, out_prefix)
    return paths
