"""k-reciprocal re-ranking against a dense float64 reference written here from the equations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mgat.metrics import rank_metrics, rerank, squared_euclidean
from mgat.metrics.rerank import (
    DEFAULT_K1,
    DEFAULT_K2,
    DEFAULT_LAMBDA,
    _lex_sorted,
    _smallest,
    rerank_distance,
)


def reference(qf: np.ndarray, gf: np.ndarray, k1: int, k2: int, lam: float) -> np.ndarray:
    """Zhong et al. 2017, eqs. 3-13, dense and one item at a time, in float64."""
    x = np.concatenate([qf, gf]).astype(np.float64)
    n, nq = len(x), len(qf)
    sq = (x * x).sum(axis=1)
    d = sq[:, None] + sq[None, :] - 2.0 * (x @ x.T)
    d = (d + d.T) / 2  # exactly symmetric
    order = np.argsort(d, axis=1, kind="stable")  # N(p, k): ties in index order
    dn = (d / d.max(axis=0)).T  # each column over its maximum, transposed

    def near(p: int, k: int) -> list[int]:
        return [int(i) for i in order[p, : min(k + 1, n)]]

    def recip(p: int, k: int) -> set[int]:  # eq. 3
        return {g for g in near(p, k) if p in near(g, k)}

    half = int(np.around(k1 / 2))
    v = np.zeros((n, n))
    for p in range(n):
        r = recip(p, k1)
        star = set(r)
        for q in r:  # eq. 4, with the reference code's strict ">"
            rq = recip(q, half)
            if len(r & rq) > 2.0 / 3.0 * len(rq):
                star |= rq
        idx = sorted(star)
        w = np.exp(-dn[p, idx])  # eq. 7
        v[p, idx] = w / w.sum()
    if k2 > 1:  # eq. 10
        v = np.stack([v[order[p, : min(k2, n)]].mean(axis=0) for p in range(n)])
    jaccard = np.empty((nq, n - nq))
    for i in range(nq):  # eqs. 11-12
        for j in range(n - nq):
            a, b = v[i], v[nq + j]
            jaccard[i, j] = 1.0 - np.minimum(a, b).sum() / np.maximum(a, b).sum()
    return (1.0 - lam) * jaccard + lam * dn[:nq, nq:]  # eq. 13


def assert_same_ranking(ours: np.ndarray, ref: np.ndarray, tol: float = 0.0) -> None:
    """Our order of each row is the reference's; with ``tol``, swaps only between values that
    the reference holds within ``tol`` of each other (ties)."""
    order = np.argsort(ours, axis=1, kind="stable")
    if tol == 0.0:
        np.testing.assert_array_equal(order, np.argsort(ref, axis=1, kind="stable"))
        return
    along = np.take_along_axis(ref, order, axis=1)
    assert (np.diff(along, axis=1) >= -tol).all()


def random_case(seed: int, nq: int = 7, ng: int = 40, dim: int = 8) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((nq, dim)), rng.standard_normal((ng, dim))


@pytest.mark.parametrize(
    ("k1", "k2", "lam"),
    [
        (DEFAULT_K1, DEFAULT_K2, DEFAULT_LAMBDA),
        (5, 3, 0.5),
        (3, 1, 0.3),
        (1, 2, 0.3),
        (10, 6, 0.0),
        (7, 4, 0.3),
        (7, 1, 1.0),
        (11, 9, 0.8),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_reference(k1: int, k2: int, lam: float, seed: int) -> None:
    qf, gf = random_case(seed)
    ours = rerank_distance(qf, gf, k1=k1, k2=k2, lambda_value=lam)
    ref = reference(qf, gf, k1, k2, lam)
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-6)
    assert_same_ranking(ours, ref)


def test_clustered_features_match_reference() -> None:
    """Identities with several images each: large reciprocal sets and many expansions (eq. 4)."""
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((8, 16)) * 3
    labels = rng.integers(0, 8, 60)
    x = centres[labels] + rng.standard_normal((60, 16))
    for k1, k2 in ((20, 6), (6, 3)):
        ours = rerank_distance(x[:12], x[12:], k1=k1, k2=k2)
        ref = reference(x[:12], x[12:], k1, k2, 0.3)
        np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-6)
        assert_same_ranking(ours, ref)


def test_chunk_size_does_not_change_the_result() -> None:
    qf, gf = random_case(4, nq=9, ng=50)
    whole = rerank_distance(qf, gf)
    for chunk in (1, 3, 8):
        small = rerank_distance(qf, gf, chunk=chunk)
        np.testing.assert_allclose(small, whole, rtol=0, atol=1e-6)
        assert_same_ranking(small, whole)


def test_blocks_and_split_diagonal_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Distances computed block by block, diagonal blocks split in halves down to tiny leaves,
    still give the reference's result."""
    monkeypatch.setattr(rerank, "_LEAF", 3)
    qf, gf = random_case(16, nq=6, ng=35)
    for chunk in (7, 16, 64):
        ours = rerank_distance(qf, gf, chunk=chunk)
        np.testing.assert_allclose(ours, reference(qf, gf, 20, 6, 0.3), rtol=0, atol=2e-6)
    x = torch.from_numpy(np.concatenate([qf, gf]).astype(np.float32))
    sq = (x * x).sum(dim=1)
    d = rerank._self_distances(x, sq, torch.empty(len(x) ** 2))
    half = len(x) // 2
    np.testing.assert_array_equal(d[:half, half:], d[half:, :half].T)  # one computed, copied
    np.testing.assert_allclose(d, squared_euclidean(x, x), rtol=0, atol=1e-5)


def test_stable_smallest_breaks_ties_by_index() -> None:
    rng = np.random.default_rng(5)
    d = rng.integers(0, 4, (30, 50)).astype(np.float32)  # many ties, some across the k-th
    d[3] = 1.0  # one row all tied
    for k in (1, 5, 17, 50):
        values, index = _lex_sorted(*_smallest(torch.from_numpy(d), k))
        np.testing.assert_array_equal(index, np.argsort(d, axis=1, kind="stable")[:, :k])
        np.testing.assert_array_equal(values, np.sort(d, axis=1)[:, :k])


def test_ties_from_duplicated_and_quantised_features() -> None:
    """Integer features: distances are exact in float32 and float64, and tie a lot; duplicated
    rows tie at distance 0 with each other. Neighbour lists break ties by index."""
    rng = np.random.default_rng(6)
    x = rng.integers(0, 3, (45, 3)).astype(np.float32)
    x[20:25] = x[2]  # duplicates of a query in the gallery
    x[30:33] = x[40]  # duplicates within the gallery
    qf, gf = x[:8], x[8:]
    for k1, k2 in ((DEFAULT_K1, DEFAULT_K2), (4, 3), (9, 1)):
        ours = rerank_distance(qf, gf, k1=k1, k2=k2)
        ref = reference(qf, gf, k1, k2, 0.3)
        np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-6)
        assert_same_ranking(ours, ref, tol=1e-6)
        np.testing.assert_array_equal(rerank_distance(qf, gf, k1=k1, k2=k2, chunk=5), ours)


def test_distractors_stay_last() -> None:
    """A tight group far from everything shares no k-reciprocal support with the queries, so its
    Jaccard distance is 1 and its original distance the largest: ranked after every item."""
    rng = np.random.default_rng(7)
    qf, gf = random_case(7, ng=40)
    far = 1000.0 + 0.1 * rng.standard_normal((8, qf.shape[1]))
    gallery = np.concatenate([gf[:20], far, gf[20:]])
    is_far = np.zeros(len(gallery), dtype=bool)
    is_far[20:28] = True
    ours = rerank_distance(qf, gallery)
    assert (ours[:, is_far].min(axis=1) > ours[:, ~is_far].max(axis=1)).all()
    assert (ours[:, is_far] > 0.99).all()
    ref = reference(qf, gallery, DEFAULT_K1, DEFAULT_K2, DEFAULT_LAMBDA)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-6)


def test_k1_larger_than_the_set() -> None:
    qf, gf = random_case(8, nq=4, ng=9)
    for k1, k2 in ((100, 6), (13, 50), (12, 13)):
        ours = rerank_distance(qf, gf, k1=k1, k2=k2)
        ref = reference(qf, gf, k1, k2, 0.3)
        np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-6)
        assert_same_ranking(ours, ref)


@pytest.mark.parametrize(("nq", "ng"), [(1, 1), (1, 2), (3, 1), (2, 5)])
def test_tiny_sets(nq: int, ng: int) -> None:
    qf, gf = random_case(17, nq=nq, ng=ng, dim=3)
    for k1, k2 in ((20, 6), (1, 1), (2, 3)):
        ours = rerank_distance(qf, gf, k1=k1, k2=k2)
        np.testing.assert_allclose(ours, reference(qf, gf, k1, k2, 0.3), rtol=0, atol=2e-6)


def test_identical_features() -> None:
    """Every distance 0: rows are not divided by their maximum (0), ties go by index, and all
    gallery items end up at one distance."""
    ours = rerank_distance(np.ones((3, 4)), np.ones((9, 4)))
    assert np.isfinite(ours).all()
    np.testing.assert_array_equal(ours, np.full((3, 9), ours[0, 0]))


def test_k2_one_skips_expansion() -> None:
    """Without expansion each V row is supported on R*(p) only, so a query's Jaccard distance is
    below 1 exactly for gallery items whose R* meets its own; with k2 = 2 the supports grow."""
    qf, gf = random_case(9)
    plain = rerank_distance(qf, gf, k1=6, k2=1, lambda_value=0.0)
    expanded = rerank_distance(qf, gf, k1=6, k2=2, lambda_value=0.0)
    np.testing.assert_allclose(plain, reference(qf, gf, 6, 1, 0.0), rtol=0, atol=2e-6)
    assert (plain < 1.0).sum() < (expanded < 1.0).sum()


def test_lambda_one_is_the_normalised_original_distance() -> None:
    qf, gf = random_case(10)
    ours = rerank_distance(qf, gf, lambda_value=1.0)
    d = squared_euclidean(qf, gf)
    row_max = squared_euclidean(qf, np.concatenate([qf, gf])).max(axis=1)
    np.testing.assert_allclose(ours, d / row_max[:, None], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(np.argsort(ours, axis=1), np.argsort(d, axis=1))


def test_lambda_zero_is_the_jaccard_distance() -> None:
    qf, gf = random_case(11)
    ours = rerank_distance(qf, gf, k1=4, k2=2, lambda_value=0.0)
    assert ((ours >= -1e-6) & (ours <= 1.0)).all()  # m can round a hair above 1
    assert (ours == 1.0).any() and (ours < 1.0).any()  # disjoint and shared supports
    np.testing.assert_allclose(ours, reference(qf, gf, 4, 2, 0.0), rtol=0, atol=2e-6)


def test_torch_input_and_rank_metrics() -> None:
    """Torch tensors give the numpy result; the matrix goes to rank_metrics as a distance."""
    rng = np.random.default_rng(12)
    centres = rng.standard_normal((6, 10)) * 2
    q_pids, g_pids = np.arange(6).repeat(2), np.arange(6).repeat(6)
    qf = centres[q_pids] + rng.standard_normal((12, 10))
    gf = centres[g_pids] + rng.standard_normal((36, 10))
    ours = rerank_distance(qf, gf)
    tensors = rerank_distance(torch.from_numpy(qf), torch.from_numpy(gf).float(), device="cpu")
    np.testing.assert_allclose(tensors, ours, rtol=0, atol=1e-6)
    q_cams, g_cams = np.zeros(12, np.int64), np.ones(36, np.int64)
    got = rank_metrics(ours, q_pids, g_pids, q_cams, g_cams, max_rank=10)
    ref = reference(qf, gf, 20, 6, 0.3).astype(np.float32)
    want = rank_metrics(ref, q_pids, g_pids, q_cams, g_cams, max_rank=10)
    np.testing.assert_array_equal(got.cmc, want.cmc)
    assert got.mAP == pytest.approx(want.mAP, abs=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k1": 0}, "k1"),
        ({"k1": 2.5}, "k1"),
        ({"k1": True}, "k1"),
        ({"k2": 0}, "k2"),
        ({"k2": -3}, "k2"),
        ({"lambda_value": -0.1}, "lambda"),
        ({"lambda_value": 1.5}, "lambda"),
        ({"lambda_value": float("nan")}, "lambda"),
        ({"lambda_value": "high"}, "lambda"),
        ({"chunk": 0}, "chunk"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict, message: str) -> None:
    qf, gf = random_case(13, nq=3, ng=5)
    with pytest.raises(ValueError, match=message):
        rerank_distance(qf, gf, **kwargs)


@pytest.mark.parametrize(
    ("qf", "gf"),
    [
        (np.zeros(4), np.zeros((5, 4))),  # 1-D
        (np.zeros((0, 4)), np.zeros((5, 4))),  # empty
        (np.zeros((3, 4)), np.zeros((5, 3))),  # feature sizes differ
        (np.array([[0.0, np.nan]]), np.zeros((5, 2))),
        (np.zeros((3, 2)), np.full((5, 2), np.inf)),
        (np.array([["a", "b"]]), np.zeros((5, 2))),
    ],
)
def test_invalid_features_raise(qf: np.ndarray, gf: np.ndarray) -> None:
    with pytest.raises(ValueError):
        rerank_distance(qf, gf)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu() -> None:
    rng = np.random.default_rng(14)
    centres = rng.standard_normal((30, 64)) * 2
    x = (centres[rng.integers(0, 30, 600)] + rng.standard_normal((600, 64))).astype(np.float32)
    cpu = rerank_distance(x[:100], x[100:], chunk=128)
    cuda_tensors = torch.from_numpy(x).cuda()
    on_cuda = rerank_distance(cuda_tensors[:100], cuda_tensors[100:], chunk=128)
    np.testing.assert_allclose(on_cuda, cpu, rtol=0, atol=1e-5)
    top = np.argsort(cpu, axis=1, kind="stable")[:, :10]
    agree = (np.argsort(on_cuda, axis=1, kind="stable")[:, :10] == top).mean()
    assert agree > 0.99  # float rounding may swap near-ties only
    small = random_case(15)
    ref = reference(*small, 20, 6, 0.3)
    np.testing.assert_allclose(rerank_distance(*small, device="cuda"), ref, rtol=0, atol=2e-6)
