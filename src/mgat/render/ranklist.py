"""Ranked lists as pictures: a seeded choice of queries, each with its nearest gallery items
under the baseline and under MGAT, framed by whether they are true matches.

CMC and mAP say how often a true match comes first, not what a model confuses; the pictures
show it. The ranking is the full distance ranking (squared Euclidean, as the evaluation's):
gallery items of the query's identity under its camera, which the protocol ignores, keep their
place but are greyed and count neither way. A video item (a tracklet) is shown by its middle
frame. The pure steps (choosing queries, ranking, composing a block of pictures) are apart
from reading the files, so tests can check each on known input.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from mgat.data.base import Item
from mgat.data.images import load_rgb
from mgat.data.leakage import check_features
from mgat.data.splits import split_test_sets
from mgat.errors import DataError
from mgat.featurefile import load_features
from mgat.metrics.rank import squared_euclidean
from mgat.render.figures import dataset_title, save_figure
from mgat.render.style import check_data_source, display_name, figure_style, label_data_source
from mgat.vocabulary import BASELINE, MGAT, TEST_FEATURES

__all__ = [
    "FRAME_RGB",
    "JUNK",
    "MATCH",
    "QUERY",
    "TOP_K",
    "WRONG",
    "Cell",
    "RankedList",
    "RankingSet",
    "Ranklists",
    "build_ranklists",
    "choose_queries",
    "compose_block",
    "item_pictures",
    "item_status",
    "plot_ranklist",
    "rank_queries",
    "ranklist_figure",
    "read_ranking_set",
    "representative_frame",
    "true_match",
]

log = logging.getLogger(__name__)

#: Gallery items shown per query.
TOP_K = 10
#: What a gallery item is to its query: a true match (its identity, another camera), a wrong
#: one, or junk (its identity under its camera: shown greyed, ignored by the protocol).
MATCH, WRONG, JUNK = "match", "wrong", "junk"
QUERY = "query"
#: Frame colours (RGB, 0..255).
FRAME_RGB: dict[str, tuple[int, int, int]] = {
    QUERY: (33, 102, 172),  # blue
    MATCH: (26, 152, 80),  # green
    WRONG: (215, 48, 39),  # red
    JUNK: (170, 170, 170),  # grey
}
#: Picture geometry on a block's canvas, in pixels: thumbnails at a person crop's 2:1.
THUMB_H, THUMB_W = 128, 64
BORDER = 7  # frame width
GAP = 8  # between cells
QUERY_GAP = 22  # extra space between the query and its ranked list
TEXT_H = 34  # below each cell, for its distance or the query's identity
HEADER = 30  # above the first row, for the column names
JUNK_FADE = 0.6  # how far a junk item's picture is faded to white, after dropping its colour

_REEXTRACT = "delete it and extract it again (rule extract_features)"


# --- choosing and ranking ------------------------------------------------------------------


def true_match(
    query_pids: np.ndarray,
    query_camids: np.ndarray,
    gallery_pids: np.ndarray,
    gallery_camids: np.ndarray,
) -> np.ndarray:
    """Per query, whether the gallery holds its identity under another camera: a query without
    one has no rank to show."""
    result = np.zeros(len(query_pids), dtype=bool)
    for pid in np.unique(query_pids):
        rows = np.flatnonzero(query_pids == pid)
        cams = gallery_camids[gallery_pids == pid]
        result[rows] = [bool(np.any(cams != cam)) for cam in query_camids[rows]]
    return result


def choose_queries(has_match: np.ndarray, count: int, seed: int) -> np.ndarray:
    """``count`` queries (all, when fewer have a true match) drawn with ``seed`` among those
    with a true match, in query order: the same for every model, whatever its ranking."""
    if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 1:
        raise ValueError(f"the number of ranked-list queries must be at least 1, got {count!r}")
    candidates = np.flatnonzero(np.asarray(has_match, dtype=bool))
    if candidates.size == 0:
        raise DataError(
            "no query has a true match in the gallery (same identity, other camera); check that "
            "the features' query and gallery ids and cameras line up"
        )
    rng = np.random.default_rng(seed)
    chosen = rng.choice(candidates, size=min(int(count), candidates.size), replace=False)
    return np.sort(chosen)


def item_status(
    query_pid: int, query_camid: int, gallery_pids: np.ndarray, gallery_camids: np.ndarray
) -> np.ndarray:
    """MATCH, WRONG or JUNK for every gallery item of one query, by the protocol's rule."""
    same = np.asarray(gallery_pids) == query_pid
    same_camera = np.asarray(gallery_camids) == query_camid
    status = np.full(len(same), WRONG, dtype=object)
    status[same & ~same_camera] = MATCH
    status[same & same_camera] = JUNK
    return status


@dataclass(frozen=True)
class RankedList:
    """One query's nearest gallery items, nearest first: their gallery rows, squared
    distances and status (MATCH, WRONG, JUNK)."""

    query: int
    gallery: np.ndarray
    distances: np.ndarray
    status: tuple[str, ...]

    @property
    def first_counted(self) -> str | None:
        """The status of the first item the protocol counts (None: all shown are junk)."""
        return next((s for s in self.status if s != JUNK), None)


def rank_queries(
    query_features: np.ndarray,
    gallery_features: np.ndarray,
    query_pids: np.ndarray,
    query_camids: np.ndarray,
    gallery_pids: np.ndarray,
    gallery_camids: np.ndarray,
    queries: Sequence[int] | np.ndarray,
    top_k: int = TOP_K,
) -> list[RankedList]:
    """The ``top_k`` nearest gallery items of each of ``queries`` by squared Euclidean distance
    (ties in gallery order), junk included."""
    queries = np.asarray(queries, dtype=np.int64)
    dist = squared_euclidean(np.asarray(query_features)[queries], gallery_features)
    lists = []
    for row, query in enumerate(queries):
        order = np.argsort(dist[row], kind="stable")[:top_k]
        status = item_status(
            int(query_pids[query]), int(query_camids[query]), gallery_pids, gallery_camids
        )
        lists.append(
            RankedList(
                query=int(query),
                gallery=order,
                distances=dist[row, order].astype(np.float64),
                status=tuple(str(s) for s in status[order]),
            )
        )
    return lists


# --- reading the features and the pictures ---------------------------------------------------


@dataclass(frozen=True)
class RankingSet:
    """What a ranked list needs of one features file: the test feature of the query and of the
    gallery the configured protocol ranks (MARS's torchreid gallery leaves the queries out),
    their ids and cameras, and the gallery rows of the file that gallery keeps."""

    path: str
    meta: dict[str, Any]
    query_features: np.ndarray
    gallery_features: np.ndarray
    query_pids: np.ndarray
    query_camids: np.ndarray
    gallery_pids: np.ndarray
    gallery_camids: np.ndarray
    query_paths: np.ndarray
    gallery_paths: np.ndarray  # every gallery item of the file, kept or not
    gallery_rows: np.ndarray

    @property
    def protocol(self) -> str:
        return str(self.meta["protocol"])


def read_ranking_set(
    path: str | Path, *, dataset: str, split: int, feature: str, stage: str | None = None
) -> RankingSet:
    """Read a features file, refusing one of another dataset, split or stage than expected
    (its pictures would be another's) or of a model trained on another split."""
    if feature not in TEST_FEATURES:
        raise ValueError(f"unknown test feature {feature!r}; use one of {TEST_FEATURES}")
    data = load_features(path)
    meta = data["meta"]
    found = {"dataset": meta.get("dataset"), "split": meta.get("split")}
    wanted = {"dataset": dataset, "split": split}
    if stage is not None and meta.get("stage") is not None:
        found["stage"], wanted["stage"] = meta["stage"], stage
    for key, value in wanted.items():
        if found[key] != value:
            raise DataError(
                f"features file {path} holds {key} {found[key]!r}, not {value!r}; give the "
                f"{key} {value!r} features (rule extract_features makes them)"
            )
    check_features(meta, str(path))
    keep = np.ones(len(data["gallery_pids"]), dtype=bool)
    if meta["protocol"] == "torchreid":
        keep = ~data["gallery_in_query"].astype(bool)
    rows = np.flatnonzero(keep)
    return RankingSet(
        path=str(path),
        meta=meta,
        query_features=data[f"query_features_{feature}"],
        gallery_features=data[f"gallery_features_{feature}"][rows],
        query_pids=data["query_pids"],
        query_camids=data["query_camids"],
        gallery_pids=data["gallery_pids"][rows],
        gallery_camids=data["gallery_camids"][rows],
        query_paths=data["query_paths"],
        gallery_paths=data["gallery_paths"],
        gallery_rows=rows,
    )


def _check_same_ranking_set(first: RankingSet, second: RankingSet) -> None:
    """Both models must rank the same queries in the same gallery, or their rows differ."""
    if first.protocol != second.protocol:
        raise DataError(
            f"{first.path} and {second.path} were extracted under different protocols "
            f"({first.protocol} vs {second.protocol}); extract both with one configuration"
        )
    for name in ("query_paths", "query_pids", "query_camids", "gallery_paths", "gallery_rows"):
        if not np.array_equal(getattr(first, name), getattr(second, name)):
            raise DataError(
                f"{first.path} and {second.path} hold different test sets ({name} differ); "
                "extract both again from the same data and splits file"
            )


def representative_frame(item: Item) -> str:
    """The picture that stands for an item: the image itself, or a tracklet's middle frame."""
    if isinstance(item.paths, str):
        return item.paths
    return item.paths[len(item.paths) // 2]


def _same_file(feature_path: str, item: Item, root: str | Path) -> bool:
    """Whether a features file's path names the item's first frame: the features keep paths
    as the extraction saw them, so they are compared below the root."""
    first = item.paths if isinstance(item.paths, str) else item.paths[0]
    relative = Path(os.path.relpath(first, root)).as_posix()
    stored = Path(feature_path).as_posix()
    return stored == relative or stored.endswith("/" + relative)


def item_pictures(
    dataset: str,
    root: str | Path,
    splits_file: str | Path,
    split: int,
    protocol: str,
    query_paths: Sequence[str] | np.ndarray,
    gallery_paths: Sequence[str] | np.ndarray,
) -> tuple[list[str], list[str]]:
    """The representative picture of every query and gallery item of a features file, read
    from the dataset (a features file keeps a tracklet's first frame only)."""
    data = split_test_sets(dataset, root, splits_file, split, protocol)  # as extracted
    pictures = []
    for name, items, paths in (
        ("query", data.query, query_paths),
        ("gallery", data.gallery, gallery_paths),
    ):
        if len(items) != len(paths):
            raise DataError(
                f"{dataset} split {split} under {root} has {len(items)} {name} items but the "
                f"features have {len(paths)}; pass the root and splits file they were extracted "
                "from, or extract them again"
            )
        for row, (item, path) in enumerate(zip(items, paths, strict=True)):
            if not _same_file(str(path), item, root):
                raise DataError(
                    f"{name} item {row} of the features ({path}) is not {dataset}'s under {root} "
                    "; pass the root and splits file they were extracted from, or extract them "
                    "again"
                )
        pictures.append([representative_frame(item) for item in items])
    return pictures[0], pictures[1]


def thumbnail(path: str) -> np.ndarray:
    """A picture as a THUMB_H x THUMB_W RGB array (uint8): every cell the same size."""
    image = load_rgb(path).resize((THUMB_W, THUMB_H), resample=2)  # bilinear
    return np.asarray(image, dtype=np.uint8)


# --- composing and drawing -------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One framed picture of a block: its row (query) and column (0: the query, k: the k-th
    nearest item), its frame's box on the canvas (x0, y0, x1, y1; pixels, end exclusive), its
    status (QUERY, MATCH, WRONG, JUNK) and the text under it."""

    row: int
    column: int
    box: tuple[int, int, int, int]
    status: str
    text: str


def _grey_out(picture: np.ndarray) -> np.ndarray:
    """A junk item's picture without colour and faded towards white."""
    grey = picture.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    faded = 255 - (255 - grey) * (1 - JUNK_FADE)
    return np.repeat(faded[..., None], 3, axis=2).round().astype(np.uint8)


def _cell_origin(row: int, column: int) -> tuple[int, int]:
    x = GAP // 2 + column * (THUMB_W + 2 * BORDER + GAP) + (QUERY_GAP if column else 0)
    y = HEADER + row * (THUMB_H + 2 * BORDER + TEXT_H)
    return x, y


def _distance_text(distance: float) -> str:
    """A distance in at most five characters: no exponent, rounding's tiny negatives as 0."""
    if abs(distance) < 1e-3:
        return "0"
    return f"{distance:.0f}" if abs(distance) >= 100 else f"{distance:.3g}"


def compose_block(
    lists: Sequence[RankedList],
    query_pictures: Sequence[np.ndarray],
    gallery_pictures: Sequence[Sequence[np.ndarray]],
    query_labels: Sequence[str],
    top_k: int = TOP_K,
) -> tuple[np.ndarray, list[Cell]]:
    """One model's block: a row per query, its picture, then its ranked items, each framed by
    its status; junk items greyed. Returns the RGB canvas and where each cell lies on it."""
    rows = len(lists)
    if not (len(query_pictures) == len(gallery_pictures) == len(query_labels) == rows):
        raise ValueError("compose_block: one query picture, label and list of pictures per row")
    width = _cell_origin(0, top_k + 1)[0] - GAP // 2
    height = _cell_origin(rows, 0)[1]
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    cells: list[Cell] = []

    def put(row: int, column: int, picture: np.ndarray, status: str, text: str) -> None:
        if picture.shape != (THUMB_H, THUMB_W, 3):
            raise ValueError(f"compose_block: pictures must be {THUMB_H}x{THUMB_W} RGB")
        x, y = _cell_origin(row, column)
        x1, y1 = x + THUMB_W + 2 * BORDER, y + THUMB_H + 2 * BORDER
        canvas[y:y1, x:x1] = FRAME_RGB[status]
        shown = _grey_out(picture) if status == JUNK else picture
        canvas[y + BORDER : y1 - BORDER, x + BORDER : x1 - BORDER] = shown
        cells.append(Cell(row, column, (x, y, x1, y1), status, text))

    for row, ranked in enumerate(lists):
        put(row, 0, query_pictures[row], QUERY, query_labels[row])
        items = zip(ranked.status, ranked.distances, gallery_pictures[row], strict=True)
        for column, (status, distance, picture) in enumerate(items, start=1):
            if column > top_k:
                break
            put(row, column, picture, status, _distance_text(float(distance)))
    return canvas, cells


def _rgb(colour: tuple[int, int, int]) -> tuple[float, float, float]:
    """A 0..255 colour as matplotlib's 0..1 one."""
    red, green, blue = colour
    return red / 255, green / 255, blue / 255


def _titled(title: str, data_source: str) -> str:
    if check_data_source(data_source) == "synthetic":
        return f"{title} [SYNTHETIC data]"
    return title


def ranklist_figure(
    blocks: Mapping[str, tuple[np.ndarray, Sequence[Cell]]],
    firsts: Mapping[str, Sequence[str | None]],
    *,
    title: str,
    data_source: str,
) -> Figure:
    """The models' blocks side by side, with each column's rank above the first row, each
    item's distance (the query's identity and camera) below it, and a legend of the frames.

    ``firsts``: per model, the status of each query's first counted item, for the block's
    title (how many queries have a true match first).
    """
    check_data_source(data_source)
    if not blocks:
        raise DataError("no ranked lists to draw")
    heights = {canvas.shape[0] for canvas, _ in blocks.values()}
    if len(heights) != 1:
        raise DataError("the models' ranked lists show different numbers of queries")
    height = heights.pop()
    width = sum(canvas.shape[1] for canvas, _ in blocks.values())
    scale = 1 / 160  # inches per canvas pixel: text of 6.5 pt fits in TEXT_H at 180 dpi
    with figure_style():
        fig = Figure(figsize=(width * scale + 0.6, height * scale + 0.9), layout="constrained")
        axes = fig.subplots(1, len(blocks), squeeze=False)[0]
        for ax, (model, (canvas, cells)) in zip(axes, blocks.items(), strict=True):
            ax.imshow(canvas, interpolation="antialiased")
            ax.set_axis_off()
            statuses = firsts.get(model, [])
            right = sum(s == MATCH for s in statuses)
            ax.set_title(
                f"{display_name(model)}: a true match first for {right} of {len(statuses)}"
            )
            for cell in cells:
                x0, y0, x1, y1 = cell.box
                centre = (x0 + x1 - 1) / 2
                if cell.row == 0:
                    head = "query" if cell.column == 0 else str(cell.column)
                    ax.text(centre, y0 - 6, head, ha="center", va="bottom", fontsize=7)
                ax.text(
                    centre,
                    y1 + 3,
                    cell.text,
                    ha="center",
                    va="top",
                    fontsize=6.5,
                    color="#777777" if cell.status == JUNK else "black",
                    fontstyle="italic" if cell.status == JUNK else "normal",
                    linespacing=1.0,
                )
        handles = [
            Patch(facecolor="white", edgecolor=_rgb(FRAME_RGB[s]), linewidth=2.5, label=t)
            for s, t in (
                (QUERY, "query"),
                (MATCH, "true match"),
                (WRONG, "wrong identity"),
                (JUNK, "same identity and camera: ignored"),
            )
        ]
        fig.legend(handles=handles, loc="outside lower left", ncols=4, fontsize=8)
        fig.suptitle(_titled(title, data_source))
        label_data_source(fig, data_source)
    return fig


def _query_label(pid: int, camid: int) -> str:
    return f"id {pid}, cam {camid + 1}"  # cameras are 0-based in the records, 1-based on disk


@dataclass(frozen=True)
class Ranklists:
    """Everything a ranked-list figure shows: the chosen queries (rows of the query set), each
    model's ranked lists for them, the protocol, and the picture of every query and of every
    item of the protocol's gallery (the rows of ``RankedList.gallery``)."""

    dataset: str
    split: int
    feature: str
    top_k: int
    queries: np.ndarray
    lists: dict[str, list[RankedList]]
    protocol: str
    query_pids: np.ndarray
    query_camids: np.ndarray
    query_pictures: list[str]
    gallery_pictures: list[str]


def build_ranklists(
    baseline: str | Path,
    mgat: str | Path,
    *,
    dataset: str,
    root: str | Path,
    splits_file: str | Path,
    split: int = 0,
    queries: int = 8,
    seed: int = 0,
    feature: str,
    top_k: int = TOP_K,
) -> Ranklists:
    """Rank the gallery of the baseline's and MGAT's features of one split for the same
    seeded queries, and find each item's picture in the dataset."""
    sets = {
        BASELINE: read_ranking_set(
            baseline, dataset=dataset, split=split, feature=feature, stage=BASELINE
        ),
        MGAT: read_ranking_set(mgat, dataset=dataset, split=split, feature=feature, stage=MGAT),
    }
    first = sets[BASELINE]
    _check_same_ranking_set(first, sets[MGAT])
    has_match = true_match(
        first.query_pids, first.query_camids, first.gallery_pids, first.gallery_camids
    )
    chosen = choose_queries(has_match, queries, seed)
    if len(chosen) < queries:
        log.warning("only %d queries have a true match; showing them all", len(chosen))
    query_pictures, gallery_pictures = item_pictures(
        dataset, root, splits_file, split, first.protocol, first.query_paths, first.gallery_paths
    )
    lists = {
        model: rank_queries(
            ranking_set.query_features,
            ranking_set.gallery_features,
            ranking_set.query_pids,
            ranking_set.query_camids,
            ranking_set.gallery_pids,
            ranking_set.gallery_camids,
            chosen,
            top_k,
        )
        for model, ranking_set in sets.items()
    }
    return Ranklists(
        dataset=dataset,
        split=split,
        feature=feature,
        top_k=top_k,
        queries=chosen,
        lists=lists,
        protocol=first.protocol,
        query_pids=first.query_pids,
        query_camids=first.query_camids,
        query_pictures=query_pictures,
        gallery_pictures=[gallery_pictures[row] for row in first.gallery_rows],
    )


def plot_ranklist(
    ranked: Ranklists,
    out: str | Path,
    *,
    data_source: str,
    picture: Callable[[str], np.ndarray] = thumbnail,
) -> Path:
    """Draw the ranked lists of :func:`build_ranklists` and save the PNG at ``out``.
    ``picture`` turns a picture's path into its THUMB_H x THUMB_W RGB thumbnail."""
    check_data_source(data_source)
    cache: dict[str, np.ndarray] = {}

    def cached(path: str) -> np.ndarray:
        if path not in cache:
            cache[path] = picture(path)
        return cache[path]

    labels = [
        _query_label(int(ranked.query_pids[q]), int(ranked.query_camids[q])) for q in ranked.queries
    ]
    query_thumbs = [cached(ranked.query_pictures[q]) for q in ranked.queries]
    shown = min(ranked.top_k, len(ranked.gallery_pictures))
    blocks = {}
    firsts = {}
    for model, lists in ranked.lists.items():
        thumbs = [[cached(ranked.gallery_pictures[g]) for g in row.gallery] for row in lists]
        blocks[model] = compose_block(lists, query_thumbs, thumbs, labels, shown)
        firsts[model] = [row.first_counted for row in lists]
    title = dataset_title(
        f"Ranked lists: {{label}}, split {ranked.split} ({ranked.protocol} protocol, "
        f"{ranked.feature} feature)",
        ranked.dataset,
    )
    fig = ranklist_figure(blocks, firsts, title=title, data_source=data_source)
    return save_figure(fig, Path(out))
