"""The paper's published numbers, transcribed exactly from its Tables 1-5.

Source: Liqiang Bao, Bingpeng Ma, Hong Chang, Xilin Chen, "Masked Graph Attention Network for
Person Re-identification", CVPR Workshops 2019, Tables 1-5.

Values are kept as the text printed in the paper ("58", "99.32", "73.74", "140.0140") so that a
rendered table shows them digit for digit; ``-`` (not reported) is ``None``. Accuracies are in
percent, CHI (Table 1) is the raw Calinski-Harabasz score. A ``*`` after a method (DRSA) means
that it used additional datasets in training. The bold marks of the paper (best per column) are
not data and are not kept. The paper's figures are the average of a "10-fold cross validation".
"""

from __future__ import annotations

from dataclasses import dataclass

from mgat.data.registry import DATASETS, paper_table_datasets
from mgat.vocabulary import BASELINE, MGAT

__all__ = [
    "DATASET_LABELS",
    "METRIC_LABELS",
    "TABLE1",
    "TABLE1_COLUMNS",
    "TABLE1_DATASETS",
    "TABLE1_METHODS",
    "TABLES",
    "TABLE_DATASET",
    "PaperRow",
    "PaperTable",
]

#: Display name of each dataset, as the paper writes it (its ``INFO.label``).
DATASET_LABELS: dict[str, str] = {name: info.label for name, info in DATASETS.items()}

#: Column headers of the metrics record's keys, as the paper writes them.
METRIC_LABELS: dict[str, str] = {
    "top1": "top-1",
    "top5": "top-5",
    "top10": "top-10",
    "top20": "top-20",
    "mAP": "mAP",
    "chi_probe": "probe",
    "chi_gallery": "gallery",
}

#: Which dataset each comparison table reports (its ``INFO.paper_tables``).
TABLE_DATASET: dict[int, str] = {
    number: names[0] for number, names in paper_table_datasets().items() if number > 1
}


@dataclass(frozen=True)
class PaperRow:
    """One row of a published table, its values as printed (``None`` where the paper has '-')."""

    method: str
    values: tuple[str | None, ...]
    ref: int | None = None
    extra_data: bool = False  # the paper's '*': additional datasets used in training

    @property
    def label(self) -> str:
        """The row's name as printed, e.g. ``TDL [36]`` or ``DRSA* [15]``."""
        star = "*" if self.extra_data else ""
        ref = f" [{self.ref}]" if self.ref is not None else ""
        return f"{self.method}{star}{ref}"

    @property
    def numbers(self) -> tuple[float | None, ...]:
        """The values as floats, for arithmetic (differences to this run)."""
        return tuple(None if v is None else float(v) for v in self.values)


@dataclass(frozen=True)
class PaperTable:
    """One of the comparison Tables 2-5: compared methods, then the paper's Baseline and MGAT."""

    number: int
    dataset: str
    columns: tuple[str, ...]  # metrics-record keys, in the paper's column order
    compared: tuple[PaperRow, ...]
    baseline: PaperRow
    mgat: PaperRow
    footnote: str | None = None

    @property
    def headers(self) -> tuple[str, ...]:
        """The column headers as printed in the paper."""
        return tuple(METRIC_LABELS[c] for c in self.columns)


def _row(label: str, ref: int | None, *values: str | None) -> PaperRow:
    star = label.endswith("*")
    return PaperRow(method=label.rstrip("*"), values=values, ref=ref, extra_data=star)


_STAR_NOTE = "* means additional datasets are used in training"

TABLES: dict[int, PaperTable] = {
    2: PaperTable(
        number=2,
        dataset="ilidsvid",
        columns=("top1", "top5", "top10", "top20"),
        compared=(
            _row("TDL", 36, "56.3", "87.6", "95.6", "98.3"),
            _row("CNN+XQDA", 42, "53.0", "81.4", None, "95.1"),
            _row("CNN+RNN", 20, "58", "84", "91", "96"),
            _row("JSTRNN", 46, "55.2", "86.5", None, "97.0"),
            _row("ASTPN", 33, "62", "86", "94", "98"),
            _row("QAN", 17, "68.0", "86.8", "95.4", "97.4"),
            _row("RQEN", 24, "77.1", "93.2", "97.7", "99.4"),
            _row("SDM", 39, "60.2", "84.7", "91.7", "95.2"),
            _row("DRSA*", 15, "80.2", None, None, None),
        ),
        baseline=_row("Baseline", None, "76.0", "94.0", "98.7", "99.3"),
        mgat=_row("MGAT", None, "80.3", "94.7", "98.7", "99.5"),
        footnote=_STAR_NOTE,
    ),
    3: PaperTable(
        number=3,
        dataset="prid2011",
        columns=("top1", "top5", "top10", "top20"),
        compared=(
            _row("TDL", 36, "56.7", "80.0", "87.6", "93.6"),
            _row("CNN+XQDA", 42, "77.3", "93.5", None, "99.3"),
            _row("CNN+RNN", 20, "70", "90", "95", "97"),
            _row("JSTRNN", 46, "79.4", "94.4", None, "99.3"),
            _row("ASTPN", 33, "77", "95", "99", "99"),
            _row("QAN", 17, "90.3", "98.2", "99.32", "100.0"),
            _row("RQEN", 24, "91.8", "98.4", "99.3", "99.8"),
            _row("SDM", 39, "85.2", "97.1", "98.9", "99.6"),
            _row("DRSA*", 15, "93.2", None, None, None),
        ),
        baseline=_row("Baseline", None, "87.6", "96.6", "98.9", "100.0"),
        mgat=_row("MGAT", None, "92.1", "97.1", "99.2", "100.0"),
        footnote=_STAR_NOTE,
    ),
    4: PaperTable(
        number=4,
        dataset="mars",
        columns=("top1", "top5", "top20", "mAP"),
        compared=(
            _row("CNN+XQDA", 42, "65.3", "82.0", "89.0", "47.6"),
            _row("JSTRNN", 46, "70.6", "90.0", "97.6", "50.7"),
            _row("DCFBLP", 14, "71.8", "86.6", "93.0", "56.1"),
            _row("QAN", 17, "73.74", "84.9", "91.6", "51.7"),
            _row("TriNet", 11, "79.8", "91.4", None, "67.7"),
            _row("SDM", 39, "71.2", "85.7", "91.8", None),
            _row("DRSA*", 15, "82.3", None, None, "65.8"),
        ),
        baseline=_row("Baseline", None, "79.8", "91.9", "96.4", "71.2"),
        mgat=_row("MGAT", None, "81.1", "92.2", "97.7", "71.8"),
        footnote=_STAR_NOTE,
    ),
    5: PaperTable(
        number=5,
        dataset="market1501",
        columns=("mAP", "top1", "top5", "top10"),
        compared=(
            _row("OIM Loss", 32, "60.9", "82.1", None, None),
            _row("SpindleNet", 40, None, "76.9", "91.5", "94.6"),
            _row("MSCAN", 14, "53.1", "76.3", None, None),
            _row("k-reciprocal", 44, "63.6", "77.1", None, None),
            _row("Point 2 Set", 45, "44.3", "70.7", None, None),
            _row("SVDNet", 25, "62.1", "82.3", None, "92.3"),
            _row("Part Aligned", 41, "63.4", "81.0", "92.0", "94.7"),
            _row("HA-CNN", 31, "75.7", "91.2", None, None),
            _row("AlignedReID", 5, "90.7", "94.4", None, None),
        ),
        baseline=_row("Baseline", None, "76.0", "90.3", "95.8", "97.1"),
        mgat=_row("MGAT", None, "76.5", "91.5", "97.2", "98.0"),
    ),
}

#: Table 1's columns (metrics-record keys): CHI on the probe and on the gallery set.
TABLE1_COLUMNS: tuple[str, str] = ("chi_probe", "chi_gallery")
#: Table 1's datasets, in the paper's (and the registry's) order.
TABLE1_DATASETS: tuple[str, ...] = paper_table_datasets()[1]
#: Table 1's method names, mapped to the metrics record's model ("Optimized" is MGAT).
TABLE1_METHODS: dict[str, str] = {"Baseline": BASELINE, "Optimized": MGAT}

#: Table 1, CHI of baseline and graph-optimised features: dataset -> method -> (probe, gallery).
TABLE1: dict[str, dict[str, tuple[str, str]]] = {
    "ilidsvid": {"Baseline": ("140.0140", "198.5689"), "Optimized": ("140.0694", "198.9442")},
    "prid2011": {"Baseline": ("515.4785", "275.5601"), "Optimized": ("519.3805", "279.3300")},
    "mars": {"Baseline": ("276.6798", "296.8376"), "Optimized": ("314.6908", "322.3207")},
}
