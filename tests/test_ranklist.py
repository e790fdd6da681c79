"""Ranked lists as pictures: the seeded choice of queries, the ranking and its junk, the frames'
colours, and the features and pictures read from a tiny synthetic MARS."""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from PIL import Image

from mgat.data.base import DatasetSplit
from mgat.data.splits import load_split, write_splits
from mgat.data.synthetic import synthesize
from mgat.errors import DataError
from mgat.featurefile import FEATURE_ARRAYS, write_features
from mgat.render.ranklist import (
    BORDER,
    FRAME_RGB,
    JUNK,
    MATCH,
    QUERY,
    THUMB_H,
    THUMB_W,
    WRONG,
    RankedList,
    build_ranklists,
    choose_queries,
    compose_block,
    plot_ranklist,
    rank_queries,
    true_match,
)

matplotlib.use("Agg")


def test_true_match_needs_the_identity_under_another_camera() -> None:
    gallery_pids = np.array([1, 1, 2, 3, 3])
    gallery_camids = np.array([0, 1, 0, 0, 0])
    query_pids = np.array([1, 1, 2, 3, 4])
    query_camids = np.array([0, 1, 0, 1, 0])
    found = true_match(query_pids, query_camids, gallery_pids, gallery_camids)
    # Person 2 is in the gallery only under the query's camera; person 4 not at all.
    assert found.tolist() == [True, True, False, True, False]


def test_the_choice_of_queries_is_seeded_and_has_true_matches_only() -> None:
    has_match = np.random.default_rng(3).random(200) < 0.5
    first = choose_queries(has_match, 8, seed=0)
    assert first.tolist() == choose_queries(has_match, 8, seed=0).tolist()
    assert len(first) == len(set(first.tolist())) == 8
    assert has_match[first].all() and np.all(np.diff(first) > 0)
    others = [choose_queries(has_match, 8, seed=s).tolist() for s in (1, 2, 3)]
    assert any(other != first.tolist() for other in others)
    # Fewer queries with a true match than asked for: all of them.
    few = np.zeros(50, dtype=bool)
    few[[4, 17, 30]] = True
    assert choose_queries(few, 8, seed=5).tolist() == [4, 17, 30]
    with pytest.raises(DataError, match="no query has a true match"):
        choose_queries(np.zeros(5, dtype=bool), 8, seed=0)
    with pytest.raises(ValueError, match="at least 1"):
        choose_queries(has_match, 0, seed=0)


def test_the_ranked_list_is_the_argsort_with_junk_kept_and_flagged() -> None:
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(14, 6)).astype(np.float32)
    gallery_pids = np.array([7, 7, 7, 2, 2, 3, 3, 4, 5, 6, 8, 9, 7, 2])
    gallery_camids = np.array([0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1])
    # Query 0 is gallery item 0 itself (person 7, camera 0): its nearest item, and junk, as is
    # item 2 (person 7, camera 0); items 1 and 12 (person 7, camera 1) are true matches.
    queries = np.stack([gallery[0], rng.normal(size=6).astype(np.float32)])
    query_pids, query_camids = np.array([7, 2]), np.array([0, 1])
    lists = rank_queries(
        queries, gallery, query_pids, query_camids, gallery_pids, gallery_camids, [0, 1], top_k=10
    )
    assert [ranked.query for ranked in lists] == [0, 1]
    for ranked, query in zip(lists, queries, strict=True):
        distances = ((gallery - query) ** 2).sum(axis=1)
        expected = np.argsort(distances, kind="stable")[:10]
        assert ranked.gallery.tolist() == expected.tolist()
        assert np.allclose(ranked.distances, distances[expected], atol=1e-4)
    junk = {0: {0, 2}, 1: {4, 13}}  # same person, same camera
    matches = {0: {1, 12}, 1: {3}}
    for row, ranked in enumerate(lists):
        for item, status in zip(ranked.gallery.tolist(), ranked.status, strict=True):
            want = JUNK if item in junk[row] else MATCH if item in matches[row] else WRONG
            assert status == want, (row, item)
    assert lists[0].gallery[0] == 0 and lists[0].status[0] == JUNK
    assert lists[0].distances[0] == pytest.approx(0.0, abs=1e-4)


def solid(colour: tuple[int, int, int]) -> np.ndarray:
    return np.broadcast_to(np.array(colour, np.uint8), (THUMB_H, THUMB_W, 3)).copy()


def test_frames_take_their_status_colour_and_junk_is_greyed() -> None:
    statuses = [(MATCH, WRONG, JUNK), (JUNK, MATCH, WRONG)]
    lists = [
        RankedList(
            query=q, gallery=np.arange(3), distances=np.array([0.5, 1.25, 300.0]), status=status
        )
        for q, status in enumerate(statuses)
    ]
    picture = (200, 120, 30)  # orange: no frame has this colour
    canvas, cells = compose_block(
        lists,
        [solid(picture)] * 2,
        [[solid(picture)] * 3] * 2,
        ["id 1, cam 1", "id 2, cam 2"],
        top_k=3,
    )
    assert len(cells) == 2 * 4
    for cell in cells:
        x0, y0, x1, y1 = cell.box
        want = QUERY if cell.column == 0 else statuses[cell.row][cell.column - 1]
        assert cell.status == want
        for x, y in ((x0, y0), (x1 - 1, y1 - 1), (x0 + BORDER // 2, (y0 + y1) // 2)):
            assert tuple(canvas[y, x]) == FRAME_RGB[want], (cell, x, y)
        inside = canvas[(y0 + y1) // 2, (x0 + x1) // 2].astype(int)
        if want == JUNK:  # no colour left, and lighter than the picture's own grey
            assert inside[0] == inside[1] == inside[2] > 0.299 * 200 + 0.587 * 120 + 0.114 * 30
        else:
            assert tuple(inside) == picture
    texts = [cell.text for cell in cells if cell.row == 0]
    assert texts == ["id 1, cam 1", "0.5", "1.25", "300"]
    boxes = sorted(cell.box for cell in cells)
    for a, b in itertools.pairwise(boxes):  # no two frames overlap
        assert a[2] <= b[0] or a[3] <= b[1] or b[3] <= a[1]


# --- read from files: a tiny synthetic MARS ---------------------------------------------------


def fake_features(
    out: Path,
    data: DatasetSplit,
    *,
    stage: str,
    seed: int,
    dataset: str = "mars",
    split: int = 0,
    protocol: str = "torchreid",
    reverse_gallery: bool = False,
) -> Path:
    """A features file as the extraction writes it, with random features: each item's first
    frame as its path, MARS's gallery flagged where it holds a query."""
    rng = np.random.default_rng(seed)
    gallery = data.gallery[::-1] if reverse_gallery else data.gallery
    firsts = {
        part: [it.paths[0] for it in items]
        for part, items in (("query", data.query), ("gallery", gallery))
    }
    arrays = {"gallery_in_query": np.isin(firsts["gallery"], firsts["query"])}
    for part, items in (("query", data.query), ("gallery", gallery)):
        for kind in ("pooled", "bn"):
            arrays[f"{part}_features_{kind}"] = rng.normal(size=(len(items), 8)).astype(np.float32)
        arrays[f"{part}_pids"] = np.array([it.pid for it in items])
        arrays[f"{part}_camids"] = np.array([it.camid for it in items])
        arrays[f"{part}_paths"] = np.array(firsts[part])
    assert set(arrays) == set(FEATURE_ARRAYS)
    relation = {"dataset": dataset, "split": split, "relation": "same split"}
    meta = {
        "dataset": dataset,
        "split": split,
        "run": split,
        "protocol": protocol,
        "stage": stage,
        "trained_on": relation,
    }
    write_features(out, meta, arrays)
    return out


@pytest.fixture(scope="module")
def mars(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("mars")
    synthesize("mars", root, ids=4, seed=2, min_frames=3, max_frames=6)
    splits = root / "splits.json"
    write_splits("mars", root, splits)
    data = load_split("mars", root, splits, 0, protocol="official")  # as the extraction does
    baseline = fake_features(root / "baseline.npz", data, stage="baseline", seed=1)
    mgat = fake_features(root / "mgat.npz", data, stage="mgat", seed=2)
    return {"root": root, "splits": splits, "data": data, "baseline": baseline, "mgat": mgat}


def build(mars: dict, baseline: Path | None = None, mgat: Path | None = None, **options):
    return build_ranklists(
        baseline or mars["baseline"],
        mgat or mars["mgat"],
        dataset="mars",
        root=mars["root"],
        splits_file=mars["splits"],
        feature=options.pop("feature", "pooled"),
        **options,
    )


def test_both_models_rank_the_same_queries_in_the_protocols_gallery(mars: dict) -> None:
    data: DatasetSplit = mars["data"]
    ranked = build(mars, queries=5, seed=4)
    assert ranked.queries.tolist() == build(mars, queries=5, seed=4).queries.tolist()
    assert len(ranked.queries) == 5 and ranked.protocol == "torchreid"
    # The torchreid gallery leaves the queries' own tracklets out.
    query_firsts = {it.paths[0] for it in data.query}
    kept = [it for it in data.gallery if it.paths[0] not in query_firsts]
    assert len(ranked.gallery_pictures) == len(kept) < len(data.gallery)
    # A tracklet is shown by its middle frame.
    assert ranked.query_pictures == [it.paths[len(it.paths) // 2] for it in data.query]
    assert ranked.gallery_pictures == [it.paths[len(it.paths) // 2] for it in kept]
    assert any(len(it.paths) > 2 for it in kept)  # the middle is not the first frame
    pids = np.array([it.pid for it in kept])
    camids = np.array([it.camid for it in kept])
    for q in ranked.queries:
        query = data.query[q]
        assert ((pids == query.pid) & (camids != query.camid)).any()  # a true match
    # Each model's top 10: the argsort of its own distances, over the same queries.
    for model in ("baseline", "mgat"):
        lists = ranked.lists[model]
        assert [row.query for row in lists] == ranked.queries.tolist()
        with np.load(mars[model]) as content:
            qf = content["query_features_pooled"]
            gf = content["gallery_features_pooled"][~content["gallery_in_query"]]
        for row in lists:
            distances = ((gf - qf[row.query]) ** 2).sum(axis=1)
            assert row.gallery.tolist() == np.argsort(distances, kind="stable")[:10].tolist()


def test_the_figure_shows_middle_frames_in_their_frames(mars: dict, tmp_path: Path) -> None:
    asked: list[str] = []

    def picture(path: str) -> np.ndarray:
        asked.append(path)
        return solid((200, 120, 30))

    ranked = build(mars, queries=4, seed=0, feature="bn")
    out = plot_ranklist(ranked, tmp_path / "ranklist.png", data_source="synthetic", picture=picture)
    middles = {it.paths[len(it.paths) // 2] for it in (*mars["data"].query, *mars["data"].gallery)}
    assert asked and set(asked) <= middles and len(asked) == len(set(asked))  # read once each
    pixels = np.asarray(Image.open(out).convert("RGB")).reshape(-1, 3)
    colours = {tuple(p) for p in np.unique(pixels, axis=0)}
    assert FRAME_RGB[QUERY] in colours and FRAME_RGB[WRONG] in colours


def test_features_of_another_dataset_split_or_stage_are_refused(mars: dict, tmp_path) -> None:
    data = mars["data"]
    other = fake_features(tmp_path / "d.npz", data, stage="mgat", seed=2, dataset="ilidsvid")
    with pytest.raises(DataError, match=r"holds dataset 'ilidsvid', not 'mars'.*extract"):
        build(mars, mgat=other)
    other = fake_features(tmp_path / "s.npz", data, stage="mgat", seed=2, split=1)
    with pytest.raises(DataError, match=r"holds split 1, not 0"):
        build(mars, mgat=other)
    with pytest.raises(DataError, match=r"holds stage 'baseline', not 'mgat'"):
        build(mars, mgat=mars["baseline"])
    other = fake_features(tmp_path / "r.npz", data, stage="mgat", seed=2, reverse_gallery=True)
    with pytest.raises(DataError, match=r"different test sets.*extract both again"):
        build(mars, mgat=other)
    base = fake_features(tmp_path / "rb.npz", data, stage="baseline", seed=1, reverse_gallery=True)
    with pytest.raises(DataError, match="pass the root and splits file they were extracted from"):
        build(mars, baseline=base, mgat=other)
    with pytest.raises(DataError, match="not found"):
        build(mars, mgat=tmp_path / "missing.npz")
