"""The paper's Tables 1-5, with this run's numbers beside the published ones.

:func:`render_table` writes three files per table, ``{out_prefix}.md``, ``.csv`` and ``.tex``.
The markdown and LaTeX carry the title, which states the data source (SYNTHETIC or real), the
gallery protocol and the AP form, so a demo result is never mistaken for a reproduction.

Tables 2-5 list, in this order: the compared methods as the paper reports them (source
``paper (reported)``), this run's Baseline, MGAT and, if present, GAT ablation (source
``this run``, mean ± std over splits in percent), the paper's own Baseline and MGAT (source
``paper``), and the differences ``Δ Baseline (this run - paper)`` and ``Δ MGAT (this run -
paper)`` in percentage points (source ``this run - paper``; written with the
minus sign U+2212).

CSV format (one row per table row, numbers as numbers, no title line):

* Tables 2-5: ``table, dataset, method, source, data_source, protocol, ap, n`` then, per metric
  in the paper's column order, ``<metric>`` and ``<metric>_std`` (metric keys as in the metrics
  record: ``top1``, ``top5``, ``top10``, ``top20``, ``mAP``). All values are in percent and not
  rounded for display; ``<metric>`` is the published value, this run's mean over splits or the
  difference; ``<metric>_std`` is filled for this run's rows only. ``data_source``,
  ``protocol``, ``ap`` and ``n`` (number of splits) describe this run and are empty on the
  published rows; empty cells are values the paper does not report ('-').
* Table 1: ``table, dataset, method, model, data_source, protocol, n, probe_paper,
  gallery_paper, probe, probe_std, gallery, gallery_std`` with raw CHI scores; ``method`` is the
  paper's name (Baseline, Optimized), ``model`` the metrics record's (baseline, mgat).
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
from mgat.render.paper import (
    DATASET_LABELS,
    TABLE1,
    TABLE1_DATASETS,
    TABLE1_METHODS,
    TABLE_DATASET,
    TABLES,
    PaperRow,
)
from mgat.render.style import check_data_source, display_name

__all__ = [
    "SOURCE_DELTA",
    "SOURCE_OURS",
    "SOURCE_PAPER",
    "SOURCE_REPORTED",
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
#: Row-group labels and AP forms of the two protocols of MARS and Market1501.
PROTOCOL_LABELS = {
    "kit": "dataset kit (its gallery, its AP)",
    "torchreid": "torchreid",
}
PROTOCOL_AP = {"kit": "trapezoid", "torchreid": "noninterpolated"}

_OUR_MODELS = (("baseline", "Baseline"), ("mgat", "MGAT"), ("gat", "GAT (ablation)"))
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
        return "SYNTHETIC data (demo) — not comparable to the paper"
    return "real data"


def _aggregate_phrase(n: int, repeated: bool = False) -> str:
    if n > 1 and repeated:
        return f"mean ± std over {n} runs (seeds) of the one split"
    return f"mean ± std over {n} splits" if n > 1 else "a single split, no std"


def _context(record: Mapping[str, Any]) -> tuple[str, str, str, int]:
    protocol = str(record.get("protocol", "unknown"))
    ap = str(record.get("ap", "unknown"))
    return record["data_source"], protocol, ap, _n_splits(record)


def _attention_notes(record: Mapping[str, Any]) -> list[str]:
    """A footnote per stage-2 model whose attention was numerically the identity at its start
    (X' = X): its rows then measure identity-loss fine-tuning, not the graph attention."""
    notes = []
    for model, name in (("mgat", "MGAT"), ("gat", "GAT")):
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


def _fmt_delta(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return _MISSING
    text = f"{value:+.1f}"
    return text.replace("-", MINUS)


def _paper_cells(row: PaperRow) -> list[str]:
    return [_MISSING if v is None else v for v in row.values]


# --- Tables 2-5 ------------------------------------------------------------------------------


def _comparison_table(number: int, metrics: Mapping[str, Any]) -> _Table:
    paper = TABLES[number]
    dataset = paper.dataset
    record = _record(metrics, dataset, number)
    data_source, protocol, ap, n_splits = _context(record)
    present = [(key, name) for key, name in _OUR_MODELS if key in record["models"]]
    if not present:
        raise DataError(f"metrics of {dataset} have none of the models baseline, mgat, gat")

    title = (
        f"Table {number}: {DATASET_LABELS[dataset]}, {_source_phrase(data_source)}; "
        f"protocol {protocol}, AP {_AP_NAMES.get(ap, ap)}; "
        f"{_aggregate_phrase(n_splits, bool(record.get('repeated_split')))}"
    )
    headers = ["Method", "Source", *paper.headers]
    rows: list[list[str]] = []
    groups: list[int] = []
    records: list[dict[str, Any]] = []
    ours_info = {"data_source": data_source, "protocol": protocol, "ap": ap, "n": n_splits}

    def add(method: str, source: str, cells: list[str], numbers: dict[str, Any]) -> None:
        rows.append([method, source, *cells])
        records.append({"table": number, "dataset": dataset, "method": method, "source": source})
        records[-1].update(numbers)

    def paper_numbers(row: PaperRow) -> dict[str, Any]:
        return dict(zip(paper.columns, row.numbers, strict=True))

    for row in paper.compared:
        add(row.label, SOURCE_REPORTED, _paper_cells(row), paper_numbers(row))

    # Datasets with a kit of their own (MARS, Market1501) show it beside torchreid's, from one
    # extraction; the differences to the paper are taken against the kit's ("strictly adopt
    # the original evaluation protocol provided by the dataset").
    protocols = record.get("protocols") or {}
    if {"kit", "torchreid"} <= set(protocols):
        views = [
            (
                f"{SOURCE_OURS}, {PROTOCOL_LABELS[name]}",
                {"dataset": dataset, "models": protocols[name]},
                name,
            )
            for name in ("kit", "torchreid")
        ]
        title = title.replace(
            f"protocol {protocol}, AP {_AP_NAMES.get(ap, ap)}",
            "the dataset kit's protocol and torchreid's",
        )
    else:
        views = [(SOURCE_OURS, record, None)]
    ours: dict[str, dict[str, float | None]] = {}
    for source, view, view_protocol in views:
        groups.append(len(rows))
        for key, name in present:
            cells: list[str] = []
            numbers: dict[str, Any] = dict(ours_info)
            if view_protocol is not None:
                numbers["protocol"] = view_protocol
                numbers["ap"] = PROTOCOL_AP[view_protocol]
            mine: dict[str, float | None] = {}
            for metric in paper.columns:
                stat = _stat(view, key, metric, fraction=True)
                if stat is None:
                    cells.append(_MISSING)
                    mine[metric] = None
                    continue
                mean, std, n = stat
                cells.append(_fmt(mean, std, n, scale=100, digits=1))
                numbers[metric] = 100 * mean
                numbers[f"{metric}_std"] = 100 * std
                mine[metric] = 100 * mean
            ours.setdefault(key, mine)  # the first view: the kit's where there is one
            add(name, source, cells, numbers)

    groups.append(len(rows))
    for row in (paper.baseline, paper.mgat):
        add(row.label, SOURCE_PAPER, _paper_cells(row), paper_numbers(row))

    pairs = (("baseline", paper.baseline), ("mgat", paper.mgat))
    delta_rows = [(key, row) for key, row in pairs if key in ours]
    if delta_rows:
        groups.append(len(rows))
    for key, row in delta_rows:
        deltas: dict[str, Any] = dict(ours_info)
        for metric, published in zip(paper.columns, row.numbers, strict=True):
            mine = ours[key][metric]
            if mine is None or published is None or not math.isfinite(mine):
                deltas[metric] = None
            else:
                deltas[metric] = mine - published
        method = f"Δ {display_name(key)} ({SOURCE_DELTA})"
        add(method, SOURCE_DELTA, [_fmt_delta(deltas[m]) for m in paper.columns], deltas)

    columns = ["table", "dataset", "method", "source", "data_source", "protocol", "ap", "n"]
    for metric in paper.columns:
        columns += [metric, f"{metric}_std"]
    csv = pd.DataFrame.from_records(records).reindex(columns=columns)

    notes = [
        f"Accuracies in %. {SOURCE_REPORTED}: other methods as quoted by the paper; "
        f"{SOURCE_PAPER}: the paper's own results (average of a 10-fold cross validation); "
        f"{SOURCE_OURS}: {_aggregate_phrase(n_splits, bool(record.get('repeated_split')))}; "
        f"Δ rows: {SOURCE_DELTA}, in points.",
    ]
    if paper.footnote:
        notes.append(f"{paper.footnote} (note of the paper's Table {number}).")
    if data_source == "synthetic":
        notes.append(
            "This run used SYNTHETIC demo data: its numbers only show that the pipeline runs "
            "and say nothing about the method."
        )
    if len(views) > 1:
        notes.append(
            "This run is shown under the dataset kit's protocol (its gallery, with the queries "
            "for MARS, and its AP) and torchreid's, both from the same features; the Δ rows "
            "compare the kit's with the paper, which says it adopts the dataset's protocol."
        )
    notes += _attention_notes(record)
    return _Table(title=title, headers=headers, rows=rows, groups=groups, csv=csv, notes=notes)


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
    title = (
        "Table 1: CHI of Baseline and graph-optimised (MGAT) features on probe and gallery sets; "
        f"{source_phrase}; protocol {', '.join(protocols)}; this run: {'; '.join(aggregates)}"
    )
    headers = [
        "Dataset",
        "Methods",
        "probe (paper)",
        "probe (this run)",
        "gallery (paper)",
        "gallery (this run)",
    ]
    rows: list[list[str]] = []
    groups: list[int] = []
    records: list[dict[str, Any]] = []
    for dataset in datasets:
        record = records_in[dataset]
        data_source, protocol, _, n_splits = contexts[dataset]
        if rows:
            groups.append(len(rows))
        for method, model in TABLE1_METHODS.items():
            probe_paper, gallery_paper = TABLE1[dataset][method]
            out: dict[str, Any] = {
                "table": 1,
                "dataset": dataset,
                "method": method,
                "model": model,
                "data_source": data_source,
                "protocol": protocol,
                "n": n_splits,
                "probe_paper": float(probe_paper),
                "gallery_paper": float(gallery_paper),
            }
            cells = []
            for metric, short in (("chi_probe", "probe"), ("chi_gallery", "gallery")):
                stat = _stat(record, model, metric, fraction=False)
                if stat is None:
                    cells.append(_MISSING)
                    continue
                mean, std, n = stat
                cells.append(_fmt(mean, std, n, scale=1, digits=4))
                out[short] = mean
                out[f"{short}_std"] = std
            name = f"{method} (MGAT)" if model == "mgat" else method
            rows.append(
                [DATASET_LABELS[dataset], name, probe_paper, cells[0], gallery_paper, cells[1]]
            )
            records.append(out)

    columns = ["table", "dataset", "method", "model", "data_source", "protocol", "n"]
    columns += ["probe_paper", "gallery_paper", "probe", "probe_std", "gallery", "gallery_std"]
    csv = pd.DataFrame.from_records(records).reindex(columns=columns)
    notes = [
        "Calinski-Harabasz index (higher: better separated identities), raw score. "
        "paper: Bao et al., CVPRW 2019, Table 1; this run: mean ± std over splits. "
        "CHI depends on the feature dimension and the set sizes, so only the Baseline-vs-MGAT "
        "change within one column is comparable with the paper.",
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


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")


def _markdown(table: _Table) -> str:
    align = ["---" if i < table.numeric_from else "---:" for i in range(len(table.headers))]
    lines = [f"## {table.title}", ""]
    lines.append("| " + " | ".join(_md_cell(h) for h in table.headers) + " |")
    lines.append("| " + " | ".join(align) + " |")
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
    lines.append("")
    for note in table.notes:
        lines += [_md_cell(note), ""]
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
