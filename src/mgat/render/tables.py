"""The paper's Tables 1-5, with this run's numbers beside the published ones.

:func:`render_table` writes three files per table, ``{out_prefix}.md``, ``.csv`` and ``.tex``.
The markdown and LaTeX carry the title, which states the data source (SYNTHETIC or real), the
protocol, the AP form and the test feature, so a demo result is never mistaken for a
reproduction. Each table is built first as one tidy frame (one row per table row, numbers as
numbers, with the kind and the group of each row); its CSV is a selection of the frame's columns,
and its cells are printed from the frame by :mod:`mgat.render.numbers`, then written by the one
Markdown writer (:mod:`mgat.render.markdown`) and the one LaTeX path (:mod:`mgat.render.latex`).

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd

from mgat.errors import DataError
from mgat.io import write_text_atomic
from mgat.metrics.evaluation import BOOTSTRAP_RESAMPLES
from mgat.render.latex import latex_escape, latex_table
from mgat.render.markdown import markdown_section
from mgat.render.numbers import (
    MINUS,
    MISSING,
    format_interval,
    format_mean_std,
    is_missing,
    signed,
)
from mgat.render.published import (
    DATASET_LABELS,
    METRIC_LABELS,
    TABLE1,
    TABLE1_DATASETS,
    TABLE1_METHODS,
    TABLES,
    PaperRow,
    PaperTable,
)
from mgat.render.style import REFERENCE_NAMES, check_data_source, display_name
from mgat.vocabulary import BASELINE, CONTROL, DIFFERENCES, GAT, MGAT, STAGES, reranked

__all__ = [
    "MINUS",
    "SOURCE_DELTA",
    "SOURCE_OURS",
    "SOURCE_PAPER",
    "SOURCE_REPORTED",
    "format_interval",
    "latex_escape",
    "render_table",
    "signed",
]

log = logging.getLogger(__name__)

SOURCE_REPORTED = "paper (reported)"
SOURCE_OURS = "this run"
SOURCE_PAPER = "paper"
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
#: Each model's k-reciprocal re-ranked evaluation, after the models.
_OUR_MODELS += tuple((reranked(key), f"{name} + re-ranking") for key, name in _OUR_MODELS)
#: The metrics whose differences carry an interval.
_CI_METRICS = ("top1", "mAP")

#: The kinds of row of Tables 2-5 (the tidy frame's ``kind``): the paper's compared methods,
#: this run's models, their differences with an interval, the paper's own rows, and this run
#: minus the paper.
_REPORTED, _OURS, _INTERVAL, _PAPER, _TO_PAPER = "reported", "ours", "interval", "paper", "delta"
_PUBLISHED_SOURCES = {_REPORTED: SOURCE_REPORTED, _PAPER: SOURCE_PAPER}

#: Table 1's methods (the paper's names, and ours: the control) and their metrics-record models.
_CHI_METHODS = {**TABLE1_METHODS, "Control": CONTROL}
#: Table 1's metrics and the short names its CSV gives them.
_CHI_COLUMNS = (("chi_probe", "probe"), ("chi_gallery", "gallery"))


@dataclass
class _Table:
    """A table ready to write: display cells for md/tex, the tidy frame's CSV columns."""

    title: str
    headers: list[str]
    cells: list[list[str]]
    groups: list[int]  # index of the first row of every group after the first
    csv: pd.DataFrame
    notes: list[str]
    numeric_from: int = 2  # columns from here on are right-aligned


# --- reading the metrics record --------------------------------------------------------------


def _record(metrics: Mapping[str, Any], dataset: str, number: int) -> Mapping[str, Any]:
    """The metrics record of ``dataset``, checked: it comes from a file."""
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
    models: Mapping[str, Any], model: str, metric: str, *, dataset: str, fraction: bool
) -> tuple[float, float, int] | None:
    """(mean, std, n) of one metric of one model, or None if the record lacks it."""
    entry = models.get(model, {}).get(metric)
    if entry is None:
        return None
    where = f"{dataset}/{model}/{metric}"
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


@dataclass(frozen=True)
class _Run:
    """What a metrics record says about the run behind its numbers."""

    dataset: str
    data_source: str
    protocol: str
    ap: str
    feature: Any  # the test feature ("pooled", "bn"), None where the record does not say
    n: int  # runs: splits, or seeded repeats of the one split
    repeated: bool  # the runs are seeds of one split

    @property
    def info(self) -> dict[str, Any]:
        """The CSV's description of this run, on each of its rows."""
        return {"data_source": self.data_source, "feature": self.feature, "n": self.n}

    @property
    def aggregate(self) -> str:
        """How this run's numbers aggregate its runs, in words."""
        if self.n > 1 and self.repeated:
            return f"mean ± std over {self.n} runs (seeds) of the one split"
        return f"mean ± std over {self.n} splits" if self.n > 1 else "a single split, no std"


def _run_of(record: Mapping[str, Any], dataset: str) -> _Run:
    return _Run(
        dataset=dataset,
        data_source=record["data_source"],
        protocol=str(record.get("protocol", "unknown")),
        ap=str(record.get("ap", "unknown")),
        feature=record.get("feature"),
        n=_n_splits(record),
        repeated=bool(record.get("repeated_split")),
    )


def _source_phrase(data_source: str) -> str:
    if data_source == "synthetic":
        return "SYNTHETIC data — not comparable to the paper"
    return "real data"


def _feature_phrase(feature: Any) -> str:
    return f"test feature {FEATURE_LABELS.get(feature, feature)}" if feature else ""


def _attention_notes(record: Mapping[str, Any], dataset: str) -> list[str]:
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
            f"{name} on {DATASET_LABELS[dataset]}: the attention was numerically the "
            f"identity at the start of stage 2 on {round(fraction * n)} of {n} splits (mean "
            f"alpha_ii {alpha:.4f}): X' = X there, so the {name} rows measure fine-tuning with "
            "the identity loss, not the graph attention (see train_log.csv and docs/protocol.md)."
        )
    return notes


# --- from the tidy frame to the printed cells ------------------------------------------------


def _rows_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The frame's rows as mappings; a column no row has is absent (``.get`` is None)."""
    return cast(list[dict[str, Any]], frame.to_dict("records"))


def _group_starts(labels: pd.Series) -> list[int]:
    """The rows that start a row group, all but the first: where ``labels`` changes."""
    values = labels.tolist()
    return [i for i in range(1, len(values)) if values[i] != values[i - 1]]


def _printed(row: Mapping[str, Any], column: str) -> str:
    """A published number as the paper prints it (``58``, ``99.32``), ``-`` if it has none."""
    text = row.get(f"{column}_printed")
    return text if isinstance(text, str) else MISSING


def _chi_digits(std: float, n: int) -> int:
    """Decimals for a CHI score: the paper's four for a single run, else as many as its std
    supports (one significant digit of the std)."""
    if n <= 1 or not (math.isfinite(std) and std > 0):
        return 4
    return min(4, max(0, -math.floor(math.log10(std))))


def _ours_cell(row: Mapping[str, Any], column: str, digits: int | None = None) -> str:
    """This run's mean, ± its std over several runs; ``n/a`` where it is not a number, ``-``
    where the record lacks it. ``digits`` None: as many as the std supports (CHI)."""
    n = row.get(f"{column}_n")
    if n is None or is_missing(n):
        return MISSING
    std = row[f"{column}_std"]
    if digits is None:
        digits = _chi_digits(std, n)
    return format_mean_std(row[column], std if n > 1 else None, digits=digits, missing="n/a")


def _metric_cell(row: Mapping[str, Any], metric: str) -> str:
    """One metric of one row of Tables 2-5, printed as its kind of row prints numbers."""
    kind = row["kind"]
    if kind in _PUBLISHED_SOURCES:
        return _printed(row, metric)
    if kind == _OURS:
        return _ours_cell(row, metric, digits=1)
    if kind == _INTERVAL:
        low, high = row.get(f"{metric}_low"), row.get(f"{metric}_high")
        return format_interval(row.get(metric), low, high)
    return signed(row.get(metric))


def _comparison_cells(row: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    return [row["method"], row["source"], *(_metric_cell(row, m) for m in columns)]


# --- Tables 2-5: the tidy frame --------------------------------------------------------------


@dataclass(frozen=True)
class _View:
    """One protocol under which this run's rows are shown."""

    name: str | None  # "kit", "torchreid", or None: the record's configured protocol
    source: str  # the rows' Source cell
    models: Mapping[str, Any]  # model -> metric -> {mean, std, n}
    protocol: str
    ap: str
    differences: Mapping[str, Any]  # "mgat-finetune" -> metric -> interval


def _views(record: Mapping[str, Any], run: _Run) -> list[_View]:
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
            protocol=run.protocol,
            ap=run.ap,
            differences=differences.get("reported", {}),
        )
    ]


def _published_row(row: PaperRow, columns: Sequence[str], kind: str, group: int) -> dict[str, Any]:
    """A row of the paper: its numbers, and the text it prints them as."""
    out = {"method": row.label, "source": _PUBLISHED_SOURCES[kind], "kind": kind, "group": group}
    for metric, text, number in zip(columns, row.values, row.numbers, strict=True):
        out[metric] = number
        out[f"{metric}_printed"] = text
    return out


def _our_row(
    view: _View, model: str, name: str, columns: Sequence[str], info: Mapping[str, Any]
) -> dict[str, Any]:
    """One model of this run under one protocol: mean, std and runs (``_n``) of each metric
    the record has, in percent, and the queries behind them."""
    row = {"method": name, "source": view.source, "kind": _OURS, "model": model, **info}
    for metric in columns:
        stat = _stat(view.models, model, metric, dataset=info["dataset"], fraction=True)
        if stat is not None:
            mean, std, n = stat
            row.update({metric: 100 * mean, f"{metric}_std": 100 * std, f"{metric}_n": n})
    for count in ("valid_queries", "num_queries"):
        entry = view.models.get(model, {}).get(count)
        if isinstance(entry, Mapping):
            row[count] = entry.get("mean")
    return row


def _interval_rows(
    view: _View, columns: Sequence[str], info: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """MGAT minus each reference under one protocol: the difference of each metric and its
    paired 95% interval, in points."""
    rows = []
    for model, reference in DIFFERENCES:
        pair = view.differences.get(f"{model}-{reference}")
        if not pair:
            continue
        method = f"Δ {display_name(model)} {MINUS} {REFERENCE_NAMES[reference]} [95% CI]"
        row = {"method": method, "source": view.source, "kind": _INTERVAL, **info}
        for metric in columns:
            ci = pair.get(metric)
            if ci is not None:
                row[metric] = 100 * ci["estimate"]
                row[f"{metric}_low"] = 100 * ci["low"]
                row[f"{metric}_high"] = 100 * ci["high"]
        rows.append(row)
    return rows


def _to_paper_rows(
    paper: PaperTable, ours: Sequence[Mapping[str, Any]], info: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """This run's Baseline and MGAT minus the paper's, in points, from this run's rows of the
    first protocol shown (the kit's, where there is one)."""
    ours_by_model = {row["model"]: row for row in ours}
    rows = []
    for key, published in ((BASELINE, paper.baseline), (MGAT, paper.mgat)):
        if key not in ours_by_model:
            continue
        method = f"Δ {display_name(key)} ({SOURCE_DELTA})"
        row = {"method": method, "source": SOURCE_DELTA, "kind": _TO_PAPER, **info}
        for metric, number in zip(paper.columns, published.numbers, strict=True):
            mine = ours_by_model[key].get(metric)
            if mine is None or number is None or not math.isfinite(mine):
                row[metric] = None
            else:
                row[metric] = mine - number
        rows.append(row)
    return rows


def _our_models(record: Mapping[str, Any], dataset: str) -> list[tuple[str, str]]:
    """This run's models in table order, with their table names."""
    present = [(key, name) for key, name in _OUR_MODELS if key in record["models"]]
    if not present:
        raise DataError(f"metrics of {dataset} have none of the models {', '.join(STAGES)}")
    return present


def _comparison_frame(
    paper: PaperTable, record: Mapping[str, Any], run: _Run, views: list[_View]
) -> pd.DataFrame:
    """Tables 2-5 as one tidy frame, one row per table row in table order: numbers as numbers
    (percent; points for differences), ``kind`` and ``group`` say what a row is."""
    columns = _comparison_columns(paper)
    models = _our_models(record, paper.dataset)
    rows = [_published_row(row, paper.columns, _REPORTED, 0) for row in paper.compared]
    first_view: list[dict[str, Any]] = []
    for group, view in enumerate(views, start=1):
        info = {"dataset": paper.dataset, **run.info, "protocol": view.protocol, "ap": view.ap}
        ours = [_our_row(view, key, name, columns, info) for key, name in models]
        first_view = first_view or ours
        rows += [{**row, "group": group} for row in ours + _interval_rows(view, columns, info)]
    group = len(views) + 1
    rows += [
        _published_row(row, paper.columns, _PAPER, group) for row in (paper.baseline, paper.mgat)
    ]
    if run.data_source == "real":  # differences to the paper mean something on real data only
        info = {**run.info, "protocol": views[0].protocol, "ap": views[0].ap, "group": group + 1}
        rows += _to_paper_rows(paper, first_view, info)
    frame = pd.DataFrame.from_records(rows)
    frame["table"], frame["dataset"] = paper.number, paper.dataset
    return frame


def _comparison_columns(paper: PaperTable) -> list[str]:
    """The metric columns: the paper's, then those whose differences we report that it lacks."""
    return list(paper.columns) + [c for c in _CI_METRICS if c not in paper.columns]


def _comparison_csv_columns(columns: Sequence[str]) -> list[str]:
    names = ["table", "dataset", "method", "source", "data_source", "protocol", "ap"]
    names += ["feature", "n", "valid_queries", "num_queries"]
    for metric in columns:
        names += [metric, f"{metric}_std", f"{metric}_low", f"{metric}_high"]
    return names


# --- Tables 2-5: title and notes -------------------------------------------------------------


def _comparison_title(number: int, run: _Run, views: list[_View]) -> str:
    protocol = (
        "the dataset kit's protocol and torchreid's"
        if views[0].name is not None
        else f"protocol {run.protocol}, AP {_AP_NAMES.get(run.ap, run.ap)}"
    )
    parts = [part for part in (protocol, _feature_phrase(run.feature), run.aggregate) if part]
    label = DATASET_LABELS[run.dataset]
    return f"Table {number}: {label}, {_source_phrase(run.data_source)}; " + "; ".join(parts)


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


def _reading_notes(run: _Run) -> list[str]:
    """What the sources, the units and the Δ rows of Tables 2-5 mean."""
    resampled = "runs resampled, then queries within each" if run.n > 1 else "queries resampled"
    return [
        f"Accuracies in %. {SOURCE_REPORTED}: other methods as quoted by the paper; "
        f"{SOURCE_PAPER}: the paper's own results (average of a 10-fold cross validation); "
        f"{SOURCE_OURS}: {run.aggregate}. Control: stage 2 exactly as MGAT's (batches, seed, "
        "schedule, BatchNorm, loss reduction, epochs) without the graph (X' = X, no OF loss).",
        f"Δ rows: differences in points, MGAT minus the named model on the same queries, with a "
        f"paired bootstrap 95% confidence interval ({resampled}; {BOOTSTRAP_RESAMPLES:,} "
        "resamples). An interval that contains 0 does not resolve a difference.",
    ]


def _protocols_note(to_paper: bool) -> str:
    """Why a dataset with a kit is shown twice, and which protocol the Δ-to-paper rows use."""
    return (
        "This run is shown under the dataset kit's protocol (its gallery, with the queries "
        "for MARS; its AP; its stable sort, the lower gallery index first among equal "
        "distances; the average over all queries, one without a true match counting 0) and "
        "torchreid's, both from the same features"
        + (
            "; the Δ-to-paper rows compare the kit's with the paper, which says it adopts "
            "the dataset's protocol."
            if to_paper
            else "."
        )
    )


def _comparison_notes(
    paper: PaperTable, record: Mapping[str, Any], run: _Run, views: list[_View], kinds: pd.Series
) -> list[str]:
    notes = [*_reading_notes(run), _queries_note(views, run.n)]
    if len(_comparison_columns(paper)) > len(paper.columns):
        notes.append(
            "mAP is this run's only: the paper's table does not report it for this dataset."
        )
    if paper.footnote:
        notes.append(f"{paper.footnote} (note of the paper's Table {paper.number}).")
    if run.data_source == "synthetic":
        notes.append(
            "This run used SYNTHETIC demo data: its numbers only show that the pipeline runs "
            "and say nothing about the method; no difference to the paper is computed."
        )
    if len(views) > 1:
        notes.append(_protocols_note(to_paper=bool((kinds == _TO_PAPER).any())))
    notes.append(_rerank_note(record))
    notes += _attention_notes(record, run.dataset)
    return [note for note in notes if note]


def _rerank_note(record: Mapping[str, Any]) -> str:
    """What the re-ranked rows are, where the record has them."""
    if not any(key.endswith(reranked("")) for key in record["models"]):
        return ""
    return (
        "+ re-ranking: the model's own test features ranked after k-reciprocal re-ranking (Zhong "
        "et al., CVPR 2017; evaluation.rerank) of each protocol's gallery. The paper argues that "
        f"MGAT makes such post-processing unnecessary: Δ MGAT {MINUS} baseline + re-ranking "
        "measures that claim on the same queries."
    )


def _comparison_table(number: int, metrics: Mapping[str, Any]) -> _Table:
    """Table ``number`` (2-5): the paper's rows and this run's as one frame, then printed."""
    paper = TABLES[number]
    record = _record(metrics, paper.dataset, number)
    run = _run_of(record, paper.dataset)
    views = _views(record, run)
    frame = _comparison_frame(paper, record, run, views)
    columns = _comparison_columns(paper)
    return _Table(
        title=_comparison_title(number, run, views),
        headers=["Method", "Source", *(METRIC_LABELS[c] for c in columns)],
        cells=[_comparison_cells(row, columns) for row in _rows_of(frame)],
        groups=_group_starts(frame["group"]),
        csv=frame.reindex(columns=_comparison_csv_columns(columns)),
        notes=_comparison_notes(paper, record, run, views, frame["kind"]),
    )


# --- Table 1 ---------------------------------------------------------------------------------


def _chi_row(dataset: str, method: str, record: Mapping[str, Any], run: _Run) -> dict[str, Any]:
    """One method on one dataset: the paper's CHI (number and printed text) and this run's
    mean, std and runs, raw scores."""
    model = _CHI_METHODS[method]
    row = {"table": 1, "dataset": dataset, "method": method, "model": model, **run.info}
    row["protocol"] = run.protocol
    published = TABLE1[dataset].get(method, (None, None))
    for (metric, short), text in zip(_CHI_COLUMNS, published, strict=True):
        row[f"{short}_paper"] = None if text is None else float(text)
        row[f"{short}_paper_printed"] = text
        stat = _stat(record["models"], model, metric, dataset=dataset, fraction=False)
        if stat is not None:
            row[short], row[f"{short}_std"], row[f"{short}_n"] = stat
    return row


def _chi_frame(records: Mapping[str, Mapping[str, Any]], runs: Mapping[str, _Run]) -> pd.DataFrame:
    """Table 1 as one tidy frame: per dataset the paper's methods, and the control where this
    run has one."""
    rows = [
        _chi_row(dataset, method, record, runs[dataset])
        for dataset, record in records.items()
        for method, model in _CHI_METHODS.items()
        if model != CONTROL or model in record["models"]
    ]
    return pd.DataFrame.from_records(rows)


def _chi_cells(row: Mapping[str, Any]) -> list[str]:
    names = {MGAT: f"{row['method']} (MGAT)", CONTROL: _TABLE_NAMES[CONTROL]}
    cells = [DATASET_LABELS[row["dataset"]], names.get(row["model"], row["method"])]
    for _, short in _CHI_COLUMNS:
        cells += [_printed(row, f"{short}_paper"), _ours_cell(row, short)]
    return cells


def _chi_title(runs: Mapping[str, _Run]) -> str:
    sources = sorted({run.data_source for run in runs.values()})
    protocols = sorted({run.protocol for run in runs.values()})
    if len(sources) == 1:
        source_phrase = _source_phrase(sources[0])
    else:
        source_phrase = "MIXED real and SYNTHETIC data (see notes) — synthetic rows not comparable"
    by_phrase: dict[str, list[str]] = {}
    for dataset, run in runs.items():
        by_phrase.setdefault(run.aggregate, []).append(DATASET_LABELS[dataset])
    aggregates = [f"{phrase} ({', '.join(names)})" for phrase, names in by_phrase.items()]
    features = sorted({str(run.feature) for run in runs.values() if run.feature})
    feature_phrase = (
        f"; test feature {', '.join(FEATURE_LABELS.get(f, f) for f in features)}"
        if features
        else ""
    )
    return (
        "Table 1: CHI of Baseline and graph-optimised (MGAT) features on probe and gallery sets; "
        f"{source_phrase}; protocol {', '.join(protocols)}{feature_phrase}; "
        f"this run: {'; '.join(aggregates)}"
    )


def _chi_notes(records: Mapping[str, Mapping[str, Any]], runs: Mapping[str, _Run]) -> list[str]:
    notes = [
        "Calinski-Harabasz index (higher: better separated identities), raw score. "
        "paper: Bao et al., CVPRW 2019, Table 1; this run: mean ± std over splits, to the "
        "decimals its std supports. CHI depends on the feature dimension and the set sizes, so "
        "only the Baseline-vs-MGAT change within one column is comparable with the paper; the "
        "Control row (stage 2 without the graph) tells that change from stage 2's own.",
    ]
    notes += [
        f"{DATASET_LABELS[dataset]}: {run.data_source} data, protocol {run.protocol}, "
        f"{run.aggregate}."
        for dataset, run in runs.items()
    ]
    for dataset, record in records.items():
        notes += _attention_notes(record, dataset)
    return notes


def _chi_table(metrics: Mapping[str, Any]) -> _Table:
    """Table 1: CHI of each dataset's features, the paper's beside this run's."""
    datasets = [d for d in TABLE1_DATASETS if d in metrics]
    if not datasets:
        raise DataError("Table 1 needs the metrics of at least one of ilidsvid, prid2011, mars")
    records = {d: _record(metrics, d, 1) for d in datasets}
    runs = {d: _run_of(record, d) for d, record in records.items()}
    frame = _chi_frame(records, runs)
    columns = ["table", "dataset", "method", "model", "data_source", "protocol", "feature", "n"]
    columns += ["probe_paper", "gallery_paper", "probe", "probe_std", "gallery", "gallery_std"]
    headers = ["Dataset", "Methods", "probe (paper)", "probe (this run)"]
    headers += ["gallery (paper)", "gallery (this run)"]
    return _Table(
        title=_chi_title(runs),
        headers=headers,
        cells=[_chi_cells(row) for row in _rows_of(frame)],
        groups=_group_starts(frame["dataset"]),
        csv=frame.reindex(columns=columns),
        notes=_chi_notes(records, runs),
    )


# --- writers ---------------------------------------------------------------------------------


def _markdown(table: _Table) -> str:
    return "\n".join(
        markdown_section(
            table.title, table.headers, table.cells, table.notes, numeric_from=table.numeric_from
        )
    )


def _latex(table: _Table, label: str) -> str:
    return latex_table(
        table.title,
        table.headers,
        table.cells,
        label=label,
        groups=table.groups,
        notes=table.notes,
        numeric_from=table.numeric_from,
    )


def _csv(frame: pd.DataFrame) -> str:
    """The CSV of a table's frame: its numbers rounded to 6 decimals, ``n`` an integer."""
    csv = frame.copy()
    csv["n"] = csv["n"].astype("Int64")  # number of splits; empty on the published rows
    numeric = csv.select_dtypes("number").columns
    csv[numeric] = csv[numeric].round(6)
    return csv.to_csv(index=False)


def render_table(
    number: int,
    metrics: Mapping[str, Mapping[str, Any]],
    out_prefix: str | Path,
    provenance: str | None = None,
) -> dict[str, Path]:
    """Write Table ``number`` (1-5) as ``{out_prefix}.md``, ``.csv`` and ``.tex``.

    ``metrics`` maps a dataset name to its aggregated metrics record; ``provenance`` names the
    record written beside the table, which its footer then points to. Returns the paths by
    format (``md``, ``csv``, ``tex``). A table number other than 1-5 is a caller's error
    (ValueError); a malformed metrics record is a DataError.
    """
    if number != 1 and number not in TABLES:
        raise ValueError(f"the paper has Tables 1-5, not Table {number}")
    table = _chi_table(metrics) if number == 1 else _comparison_table(number, metrics)
    if provenance:
        table.notes.append(
            f"Provenance of this run's numbers (software, code revision, device, settings, and "
            f"the digests of the data, splits and weights): {provenance}."
        )
    out_prefix = Path(out_prefix)
    paths = {ext: out_prefix.with_name(f"{out_prefix.name}.{ext}") for ext in ("md", "csv", "tex")}
    write_text_atomic(paths["md"], _markdown(table))
    write_text_atomic(paths["csv"], _csv(table.csv))
    write_text_atomic(paths["tex"], _latex(table, f"tab:mgat-table{number}"))
    log.info("wrote Table %d to %s.{md,csv,tex}", number, out_prefix)
    return paths
