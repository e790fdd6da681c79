"""Ranking metrics against a per-query loop written from the definitions, and the CHI wrapper."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from sklearn.metrics import calinski_harabasz_score

from mgat.errors import DataError
from mgat.metrics import (
    RankResult,
    calinski_harabasz,
    rank_metrics,
    squared_euclidean,
)
from mgat.metrics import rank as rank_module


def reference_rank(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    max_rank: int,
    ap: str,
) -> tuple[np.ndarray, float, int]:
    """torchreid's market1501 protocol, one query at a time, in float64 where it matters.

    Ties are broken as torchreid breaks them: ``np.argsort`` with its default kind on the float32
    row. A valid query's CMC is 1 from its first hit on (also past the end of a short list).
    """
    num_q, num_g = distmat.shape
    max_rank = min(max_rank, num_g)
    cmcs, aps = [], []
    for q in range(num_q):
        order = np.argsort(distmat[q].astype(np.float32))
        same_pid = g_pids[order] == q_pids[q]
        junk = same_pid & (g_camids[order] == q_camids[q])
        hits = same_pid[~junk]
        if not hits.any():
            continue
        ranks = np.flatnonzero(hits) + 1  # 1-based ranks in the junk-removed list
        cmc = np.zeros(max_rank)
        if ranks[0] <= max_rank:
            cmc[ranks[0] - 1 :] = 1.0
        cmcs.append(cmc)
        total = 0.0
        for i, r in enumerate(ranks, start=1):
            precision = i / r
            if ap == "noninterpolated":
                total += precision
            else:  # compute_AP.m: the precision just before this hit, 1 at rank 1
                old_precision = (i - 1) / (r - 1) if r != 1 else 1.0
                total += (old_precision + precision) / 2
        aps.append(total / len(ranks))
    return np.mean(cmcs, axis=0), float(np.mean(aps)), len(aps)


def random_problem(
    seed: int, num_q: int = 60, num_g: int = 300, ties: bool = True
) -> tuple[np.ndarray, ...]:
    """Queries with matches, queries whose identity is absent from the gallery, and queries whose
    only gallery images share their camera (hence no true match)."""
    rng = np.random.default_rng(seed)
    g_pids = rng.integers(0, 25, num_g)
    g_camids = rng.integers(0, 4, num_g)
    q_pids = rng.integers(0, 30, num_q)  # 25..29: absent from the gallery
    q_camids = rng.integers(0, 4, num_q)
    g_pids[g_pids == 3] = 40  # identity 40: gallery images only under camera 2
    g_camids[g_pids == 40] = 2
    q_pids[:3], q_camids[:3] = 40, 2
    if ties:  # integer distances: many ties, including between matches and non-matches
        distmat = rng.integers(0, 20, (num_q, num_g)).astype(np.float32)
    else:
        distmat = rng.random((num_q, num_g), dtype=np.float32)
    return distmat, q_pids, g_pids, q_camids, g_camids


def reference_kit(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    max_rank: int,
    ties: str = "stable",
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """The Market-1501/MARS MATLAB kits' evaluation, one query at a time, in float64.

    ``[~, index] = sort(score, 'ascend')`` is a stable sort; ``compute_AP.m`` walks ``index``,
    skips junk (same identity, same camera), sets CMC to 1 from the first good item on in the
    junk-removed list, and sums the trapezoid rule over recall. CMC and mAP average over all
    queries; a query without a good item counts 0 (MATLAB would compute recall 0/0 there).
    ``ties="torchreid"`` orders ``index`` by ``np.argsort``'s default kind instead.
    Returns ``(cmc, mAP, per-query AP, per-query 1-based first good rank or 0)``.
    """
    num_q, num_g = distmat.shape
    cmc = np.zeros((num_q, num_g))
    aps = np.zeros(num_q)
    first = np.zeros(num_q, dtype=np.int64)
    for q in range(num_q):
        row = distmat[q].astype(np.float32)
        index = np.argsort(row) if ties == "torchreid" else np.argsort(row, kind="stable")
        same_pid = g_pids == q_pids[q]
        good = set(np.flatnonzero(same_pid & (g_camids != q_camids[q])).tolist())
        junk = set(np.flatnonzero(same_pid & (g_camids == q_camids[q])).tolist())
        ngood = len(good)
        if ngood == 0:
            continue  # CMC 0 at every rank, AP 0
        old_recall, old_precision, ap = 0.0, 1.0, 0.0
        intersect_size = j = good_now = njunk = 0
        for n, item in enumerate(index.tolist()):  # n is 0-based here, 1-based in MATLAB
            flag = item in good
            if flag:
                cmc[q, n - njunk :] = 1.0
                if first[q] == 0:
                    first[q] = n - njunk + 1
                good_now += 1
            if item in junk:
                njunk += 1
                continue
            if flag:
                intersect_size += 1
            recall = intersect_size / ngood
            precision = intersect_size / (j + 1)
            ap += (recall - old_recall) * (old_precision + precision) / 2
            old_recall, old_precision = recall, precision
            j += 1
            if good_now == ngood:
                break
        aps[q] = ap
    return cmc[:, : min(max_rank, num_g)].mean(axis=0), float(aps.mean()), aps, first


def cmc_map(*args, **kwargs) -> tuple[np.ndarray, float]:
    """``(cmc, mAP)``, the pair torchreid's ``evaluate_rank`` returns."""
    result = rank_metrics(*args, **kwargs)
    return result.cmc, result.mAP


@pytest.mark.parametrize("ap", ["noninterpolated", "trapezoid"])
@pytest.mark.parametrize("ties", [True, False], ids=["ties", "no-ties"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_reference_loop(seed: int, ties: bool, ap: str) -> None:
    problem = random_problem(seed, ties=ties)
    cmc, mAP = cmc_map(*problem, max_rank=50, ap=ap)
    result = rank_metrics(*problem, max_rank=50, ap=ap)
    ref_cmc, ref_mAP, ref_valid = reference_rank(*problem, max_rank=50, ap=ap)
    assert cmc.dtype == np.float32
    assert cmc.shape == (50,)
    np.testing.assert_allclose(cmc, ref_cmc, atol=1e-6)
    assert mAP == pytest.approx(ref_mAP, abs=1e-6)
    assert result.num_valid == ref_valid
    assert 0 < result.num_valid < result.num_queries == 60
    assert np.isnan(result.ap[:3]).all()  # the same-camera-only queries were skipped


@pytest.mark.parametrize("ap", ["noninterpolated", "trapezoid"])
@pytest.mark.parametrize("num_g", [30, 50])
def test_small_gallery(num_g: int, ap: str, caplog: pytest.LogCaptureFixture) -> None:
    """Fewer than max_rank items: max_rank shrinks to the gallery size, with torchreid's note.
    Exactly max_rank items: junk removal leaves some queries a list shorter than max_rank."""
    problem = random_problem(3, num_q=40, num_g=num_g)
    with caplog.at_level(logging.WARNING, logger="mgat.metrics.rank"):
        cmc, mAP = cmc_map(*problem, max_rank=50, ap=ap)
    small = "number of gallery samples is quite small, got 30"
    assert (small in caplog.text) == (num_g == 30)
    ref_cmc, ref_mAP, _ = reference_rank(*problem, max_rank=50, ap=ap)
    assert cmc.shape == (min(num_g, 50),)
    np.testing.assert_allclose(cmc, ref_cmc, atol=1e-6)
    assert mAP == pytest.approx(ref_mAP, abs=1e-6)


def test_rows_argsorted_whole_chunks_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mostly tied rows switch later chunks to argsort-only; a tie-free chunk first must not."""
    modes: list[bool] = []
    chunk_hits = rank_module._chunk_hits

    def spy(*args: object, argsort_all: bool = False) -> object:
        modes.append(argsort_all)
        return chunk_hits(*args, argsort_all=argsort_all)  # type: ignore[arg-type]

    monkeypatch.setattr(rank_module, "_chunk_hits", spy)
    tied = random_problem(4, num_q=80, num_g=200)
    smooth = random_problem(5, num_q=80, num_g=200, ties=False)
    distmat = np.concatenate([smooth[0][:20], tied[0][:60]])
    q_pids = np.concatenate([smooth[1][:20], tied[1][:60]])
    q_camids = np.concatenate([smooth[3][:20], tied[3][:60]])
    problem = (distmat, q_pids, tied[2], q_camids, tied[4])
    ref_cmc, ref_mAP, ref_valid = reference_rank(*problem, max_rank=50, ap="noninterpolated")
    for chunk in (10, 20, 80):
        result = rank_metrics(*problem, chunk=chunk)
        np.testing.assert_allclose(result.cmc, ref_cmc, atol=1e-6)
        assert result.mAP == pytest.approx(ref_mAP, abs=1e-6)
        assert result.num_valid == ref_valid
    assert True in modes and False in modes


@pytest.mark.parametrize("ap", ["noninterpolated", "trapezoid"])
def test_chunk_size_does_not_change_results(ap: str) -> None:
    problem = random_problem(6, num_q=45)
    results = [rank_metrics(*problem, ap=ap, chunk=chunk) for chunk in (1, 7, 45, 1000)]
    for other in results[1:]:
        np.testing.assert_array_equal(other.cmc, results[0].cmc)
        np.testing.assert_array_equal(other.ap, results[0].ap)
        assert other.mAP == results[0].mAP
        assert other.num_valid == results[0].num_valid


KIT = {"ap": "trapezoid", "ties": "stable", "average": "all"}


@pytest.mark.parametrize("ties", [True, False], ids=["ties", "no-ties"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kit_protocol_matches_kit_reference_loop(seed: int, ties: bool) -> None:
    """Stable ties, trapezoid AP and every query counted reproduce the MATLAB kits."""
    problem = random_problem(seed, ties=ties)
    result = rank_metrics(*problem, max_rank=50, **KIT)
    ref_cmc, ref_mAP, ref_ap, ref_first = reference_kit(*problem, max_rank=50)
    assert result.cmc.dtype == np.float32
    np.testing.assert_allclose(result.cmc, ref_cmc, atol=1e-6)
    assert result.mAP == pytest.approx(ref_mAP, abs=1e-12)
    np.testing.assert_allclose(result.ap, ref_ap, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(result.first_rank, ref_first)
    assert result.first_rank.dtype == np.int64
    assert result.num_valid == int((ref_first > 0).sum())
    assert 0 < result.num_valid < result.num_queries == 60
    assert (result.ap[:3] == 0).all() and (result.first_rank[:3] == 0).all()
    assert result.mAP == float(np.mean(result.ap))
    np.testing.assert_allclose(result.cmc[0], np.mean(result.first_rank == 1), atol=1e-7)


@pytest.mark.parametrize("seed", [0, 1])
def test_first_rank_under_default_rules(seed: int) -> None:
    """``first_rank`` follows np.argsort's ties by default, and is 0 without a true match."""
    problem = random_problem(seed, ties=True)
    result = rank_metrics(*problem, max_rank=50)
    _, _, _, ref_first = reference_kit(*problem, max_rank=50, ties="torchreid")
    np.testing.assert_array_equal(result.first_rank, ref_first)
    assert np.isnan(result.ap[ref_first == 0]).all()
    assert result.mAP == float(np.mean(result.ap[result.first_rank > 0]))


def test_defaults_are_torchreid_rules() -> None:
    """The new options default to today's behaviour, bit for bit."""
    for ties in (True, False):
        problem = random_problem(8, ties=ties)
        default = rank_metrics(*problem)
        explicit = rank_metrics(*problem, ties="torchreid", average="valid")
        np.testing.assert_array_equal(default.cmc, explicit.cmc)
        np.testing.assert_array_equal(default.ap, explicit.ap)
        np.testing.assert_array_equal(default.first_rank, explicit.first_rank)
        assert default.mAP == explicit.mAP
        ref_cmc, ref_mAP, ref_valid = reference_rank(*problem, max_rank=50, ap="noninterpolated")
        np.testing.assert_allclose(default.cmc, ref_cmc, atol=1e-6)
        assert default.mAP == pytest.approx(ref_mAP, abs=1e-6)
        assert default.num_valid == ref_valid


@pytest.mark.parametrize("average", ["valid", "all"])
@pytest.mark.parametrize("ties", ["torchreid", "stable"])
@pytest.mark.parametrize("ap", ["noninterpolated", "trapezoid"])
def test_chunk_size_does_not_change_results_under_options(ap: str, ties: str, average: str) -> None:
    problem = random_problem(6, num_q=45)
    results = [
        rank_metrics(*problem, ap=ap, ties=ties, average=average, chunk=chunk)  # type: ignore[arg-type]
        for chunk in (1, 7, 45, 1000)
    ]
    for other in results[1:]:
        np.testing.assert_array_equal(other.cmc, results[0].cmc)
        np.testing.assert_array_equal(other.ap, results[0].ap)
        np.testing.assert_array_equal(other.first_rank, results[0].first_rank)
        assert other.mAP == results[0].mAP
        assert other.num_valid == results[0].num_valid


def test_kit_protocol_with_whole_chunks_argsorted() -> None:
    """Tie-free rows first, then mostly tied ones (argsorted whole): stable ties throughout."""
    tied = random_problem(4, num_q=80, num_g=200)
    smooth = random_problem(5, num_q=80, num_g=200, ties=False)
    distmat = np.concatenate([smooth[0][:20], tied[0][:60]])
    q_pids = np.concatenate([smooth[1][:20], tied[1][:60]])
    q_camids = np.concatenate([smooth[3][:20], tied[3][:60]])
    problem = (distmat, q_pids, tied[2], q_camids, tied[4])
    ref_cmc, ref_mAP, ref_ap, ref_first = reference_kit(*problem, max_rank=50)
    for chunk in (10, 20, 80):
        result = rank_metrics(*problem, chunk=chunk, **KIT)
        np.testing.assert_allclose(result.cmc, ref_cmc, atol=1e-6)
        assert result.mAP == pytest.approx(ref_mAP, abs=1e-12)
        np.testing.assert_allclose(result.ap, ref_ap, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(result.first_rank, ref_first)


def one_query(distances: list[float], pids: list[int], cams: list[int]) -> tuple[np.ndarray, ...]:
    """Query of identity 1 under camera 0 against a gallery given item by item."""
    return (
        np.array([distances], dtype=np.float32),
        np.array([1]),
        np.array(pids),
        np.array([0]),
        np.array(cams),
    )


def test_hand_computed_hit_miss_hit() -> None:
    """Ranking [hit, miss, hit].

    Non-interpolated: precision 1/1 at rank 1 and 2/3 at rank 3, so AP = (1 + 2/3) / 2 = 5/6.
    Trapezoid (compute_AP.m): hit 1 at rank 1 has old precision 1 and precision 1, giving
    (1 + 1) / 2 = 1; hit 2 at rank 3 has old precision (the precision at rank 2) 1/2 and
    precision 2/3, giving (1/2 + 2/3) / 2 = 7/12; AP = (1 + 7/12) / 2 = 19/24.
    CMC is 1 from rank 1.
    """
    problem = one_query([0.1, 0.2, 0.3], pids=[1, 2, 1], cams=[1, 1, 2])
    cmc, mAP = cmc_map(*problem, max_rank=3)
    np.testing.assert_array_equal(cmc, [1.0, 1.0, 1.0])
    assert mAP == pytest.approx(5 / 6, abs=1e-12)
    _, mAP = cmc_map(*problem, max_rank=3, ap="trapezoid")
    assert mAP == pytest.approx(19 / 24, abs=1e-12)


def test_same_identity_same_camera_is_removed() -> None:
    """Ranking [junk, miss, hit, miss]: the junk item (identity 1, camera 0) is dropped, leaving
    [miss, hit, miss]. Non-interpolated AP = 1/2; trapezoid: old precision 0/1 at rank 2, so
    AP = (0 + 1/2) / 2 = 1/4. CMC = [0, 1, 1] over the remaining ranks."""
    problem = one_query([0.05, 0.1, 0.2, 0.3], pids=[1, 2, 1, 3], cams=[0, 1, 3, 1])
    result = rank_metrics(*problem, max_rank=3)
    np.testing.assert_array_equal(result.cmc, [0.0, 1.0, 1.0])
    assert result.mAP == pytest.approx(0.5, abs=1e-12)
    assert rank_metrics(*problem, max_rank=3, ap="trapezoid").mAP == pytest.approx(0.25)


def test_query_without_true_match_is_excluded() -> None:
    """Query 0 finds its match at rank 2 (AP 1/2); query 1's identity is only under its own
    camera and query 2's is absent: both are skipped, so the means are over query 0 alone."""
    distmat = np.array([[0.2, 0.1, 0.3], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3]], dtype=np.float32)
    q_pids, q_camids = np.array([1, 2, 9]), np.array([0, 0, 0])
    g_pids, g_camids = np.array([1, 3, 2]), np.array([1, 1, 0])
    result = rank_metrics(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=3)
    assert (result.num_valid, result.num_queries) == (1, 3)
    np.testing.assert_array_equal(result.cmc, [0.0, 1.0, 1.0])
    assert result.mAP == pytest.approx(0.5)
    assert result.ap[0] == pytest.approx(0.5)
    assert np.isnan(result.ap[1:]).all()
    assert isinstance(result, RankResult)


@pytest.mark.parametrize("match_first", [True, False], ids=["match-lower", "wrong-lower"])
def test_true_match_tied_with_wrong_match(match_first: bool) -> None:
    """A true match (identity 1, camera 1) and a wrong match (identity 2) at the same distance,
    behind a junk item (identity 1, camera 0) at that distance too. Under "stable" the lower
    gallery index comes first: the match is at rank 1 (AP 1) or rank 2 (AP 1/2, trapezoid
    (0 + 1/2) / 2 = 1/4); under "torchreid" the order is np.argsort's."""
    pids, cams = ([1, 2], [1, 1]) if match_first else ([2, 1], [1, 1])
    problem = one_query([0.5, 0.5, 0.5, 0.9], pids=[1, *pids, 3], cams=[0, *cams, 2])
    stable = rank_metrics(*problem, max_rank=3, ties="stable")
    expected_rank = 1 if match_first else 2
    assert stable.first_rank.tolist() == [expected_rank]
    np.testing.assert_array_equal(stable.cmc, [1.0, 1.0, 1.0] if match_first else [0, 1, 1])
    assert stable.mAP == pytest.approx(1.0 if match_first else 0.5, abs=1e-12)
    kit = rank_metrics(*problem, max_rank=3, **KIT)
    assert kit.mAP == pytest.approx(1.0 if match_first else 0.25, abs=1e-12)

    order = np.argsort(problem[0][0])  # torchreid's call on the float32 row
    kept = order[order != 0]  # the junk item removed
    torchreid = rank_metrics(*problem, max_rank=3, ties="torchreid")
    assert torchreid.first_rank.tolist() == [
        int(np.flatnonzero(kept == (1 if match_first else 2))[0]) + 1
    ]


def test_long_tied_row_follows_each_rule() -> None:
    """Forty items at one distance, the only true match among them at gallery index 23."""
    pids = [2] * 40
    pids[23] = 1
    problem = one_query([1.0] * 40, pids=pids, cams=[1] * 40)
    assert rank_metrics(*problem, ties="stable").first_rank.tolist() == [24]
    order = np.argsort(problem[0][0])
    expected = int(np.flatnonzero(order == 23)[0]) + 1
    assert rank_metrics(*problem, ties="torchreid").first_rank.tolist() == [expected]
    assert rank_metrics(*problem).first_rank.tolist() == [expected]


def test_average_all_counts_queries_without_match() -> None:
    """The case of test_query_without_true_match_is_excluded with every query counted: queries 1
    and 2 score CMC 0 and AP 0, so CMC = [0, 1/3, 1/3] and mAP = (1/2 + 0 + 0) / 3."""
    distmat = np.array([[0.2, 0.1, 0.3], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3]], dtype=np.float32)
    q_pids, q_camids = np.array([1, 2, 9]), np.array([0, 0, 0])
    g_pids, g_camids = np.array([1, 3, 2]), np.array([1, 1, 0])
    for ties in ("torchreid", "stable"):
        result = rank_metrics(
            distmat, q_pids, g_pids, q_camids, g_camids, max_rank=3, ties=ties, average="all"
        )
        assert (result.num_valid, result.num_queries) == (1, 3)
        np.testing.assert_allclose(result.cmc, [0.0, 1 / 3, 1 / 3], atol=1e-7)
        assert result.mAP == pytest.approx(0.5 / 3, abs=1e-12)
        np.testing.assert_array_equal(result.ap, [0.5, 0.0, 0.0])
        np.testing.assert_array_equal(result.first_rank, [2, 0, 0])
    valid = rank_metrics(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=3)
    np.testing.assert_array_equal(valid.first_rank, [2, 0, 0])


def test_average_all_without_any_match_is_still_a_data_error() -> None:
    problem = one_query([0.1, 0.2], pids=[1, 2], cams=[0, 1])
    with pytest.raises(DataError, match="no query has a true match in the gallery"):
        rank_metrics(*problem, average="all")


def test_unknown_ties_or_average_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown ties 'matlab'"):
        rank_metrics(*random_problem(0), ties="matlab")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown average 'some'"):
        rank_metrics(*random_problem(0), average="some")  # type: ignore[arg-type]


def test_accepts_torch_and_float64_inputs() -> None:
    problem = random_problem(7, ties=False)
    expected = rank_metrics(*problem)
    as_torch = [torch.from_numpy(np.asarray(a)) for a in problem]
    as_torch[0] = as_torch[0].double()  # ranked after rounding to float32, as torchreid does
    result = rank_metrics(*as_torch)
    np.testing.assert_array_equal(result.cmc, expected.cmc)
    assert result.mAP == expected.mAP


def test_unknown_ap_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown ap 'interpolated'"):
        rank_metrics(*random_problem(0), ap="interpolated")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_rank"):
        rank_metrics(*random_problem(0), max_rank=0)


def test_no_valid_query_is_a_one_line_data_error() -> None:
    problem = one_query([0.1, 0.2], pids=[1, 2], cams=[0, 1])  # identity 1 only under camera 0
    with pytest.raises(DataError, match="no query has a true match in the gallery") as info:
        rank_metrics(*problem)
    assert "\n" not in str(info.value)


def test_bad_shapes_and_nan_are_data_errors() -> None:
    distmat, q_pids, g_pids, q_camids, g_camids = random_problem(0, ties=False)
    with pytest.raises(DataError, match="g_pids must have shape"):
        rank_metrics(distmat, q_pids, g_pids[:-1], q_camids, g_camids)
    distmat[5, 7] = np.nan
    with pytest.raises(DataError, match="NaN"):
        rank_metrics(distmat, q_pids, g_pids, q_camids, g_camids)


def test_squared_euclidean_matches_float64() -> None:
    rng = np.random.default_rng(0)
    qf = rng.standard_normal((37, 64)).astype(np.float32)
    gf = rng.standard_normal((53, 64)).astype(np.float32)
    q64, g64 = qf.astype(np.float64), gf.astype(np.float64)
    expected = ((q64[:, None, :] - g64[None, :, :]) ** 2).sum(-1)
    for chunk in (1, 10, 1024):
        dist = squared_euclidean(qf, gf, chunk=chunk)
        assert dist.dtype == np.float32
        assert dist.shape == (37, 53)
        np.testing.assert_allclose(dist, expected, rtol=1e-5, atol=1e-3)
    from_torch = squared_euclidean(torch.from_numpy(qf), torch.from_numpy(gf))
    np.testing.assert_array_equal(from_torch, squared_euclidean(qf, gf))
    with pytest.raises(DataError, match="feature sizes differ"):
        squared_euclidean(qf, gf[:, :10])


def test_calinski_harabasz_matches_sklearn() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 8)
    features = rng.standard_normal((40, 16)) + labels[:, None]
    expected = calinski_harabasz_score(features, labels)
    assert calinski_harabasz(features, labels) == pytest.approx(expected, rel=1e-12)
    assert calinski_harabasz(torch.from_numpy(features), labels) == pytest.approx(expected)


@pytest.mark.parametrize("labels", [np.zeros(6), np.arange(6)], ids=["one-label", "all-distinct"])
def test_calinski_harabasz_label_count_error(labels: np.ndarray) -> None:
    features = np.random.default_rng(0).standard_normal((6, 3))
    with pytest.raises(DataError, match="needs 2 to n_samples - 1 = 5 distinct labels") as info:
        calinski_harabasz(features, labels)
    assert "\n" not in str(info.value)
