"""CMC and mAP exactly as torchreid's market1501 evaluator computes them, at a fraction of its cost.

The same code also gives the Market-1501/MARS MATLAB kits' figures (``ap="trapezoid"``,
``ties="stable"``, ``average="all"``), which differ from torchreid's in three details only.

torchreid's ``evaluate_rank`` (the usual source of published ReID figures, Section 4.1) argsorts
every distance row, removes gallery items with the query's identity *and* camera, and scans each
row in a per-query loop. Only the ranks of the query's own identity matter, so this module finds
them without a full argsort where it can:

* each chunk of rows is sorted by value (``np.sort``: about twice as fast as ``np.argsort`` and
  without its int64 index matrix), and the position of every same-identity item is found by one
  vectorised binary search over the sorted rows (the number of smaller distances);
* a true match whose distance is *tied* with another item of its row has a rank that depends on
  how ``np.argsort`` breaks the tie (its default kind is not stable). Those rows, and only those,
  are argsorted with the call torchreid makes (``np.argsort``, default kind, the float32 row), so
  tie order and hence CMC/mAP agree with torchreid's; or, for the kits (``ties="stable"``), with
  a stable argsort, as MATLAB's ``sort`` is. When most rows hold ties (quantised distances) later
  chunks skip the sort and are argsorted straight away;
* the junk-removed rank of each match, the hits so far, both AP forms and the first-hit rank come
  from cumulative sums over the few same-identity items, grouped by query.

There is no per-query Python loop, and memory stays at a few times one chunk of rows.
"""

from __future__ import annotations

import logging
import operator
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mgat.errors import DataError
from mgat.vocabulary import AP_FORMS

logger = logging.getLogger(__name__)

APForm = Literal["noninterpolated", "trapezoid"]
TieRule = Literal["torchreid", "stable"]
TIE_RULES: tuple[str, ...] = ("torchreid", "stable")
Average = Literal["valid", "all"]
AVERAGES: tuple[str, ...] = ("valid", "all")
# Rows per chunk: the sorted copy is chunk x G float32 (16 MB at Market-1501's G = 15913), and a
# chunk whose rows all hold ties adds two chunk x G int64 matrices (about 65 MB).
DEFAULT_CHUNK = 256
# Once more than this share of the rows seen had a tied true match, later chunks are argsorted
# straight away instead of sorted first (heavily quantised distances, e.g. integer ones).
ARGSORT_ALL_SHARE = 0.5
_NAN_MESSAGE = "the distance matrix contains NaN; check the features it was computed from"


@dataclass(frozen=True)
class RankResult:
    """CMC/mAP, and the per-query figures behind them, so that averages can be re-weighted,
    subsets inspected or pairs of models bootstrapped without evaluating again.

    ``ap`` is per query: for a query without a true match it is NaN under ``average="valid"``
    (skipped; ``mAP == np.mean(ap[first_rank > 0])``) and 0.0 under ``average="all"``
    (``mAP == np.mean(ap)``).
    ``first_rank`` (int64) is each query's 1-based junk-removed rank of its first true match, 0
    where it has none, whatever ``max_rank``; ``first_rank == 1`` is its top-1 hit. ``num_valid``
    counts the queries with a true match under either average.
    """

    cmc: np.ndarray
    mAP: float
    num_valid: int
    num_queries: int
    ap: np.ndarray
    first_rank: np.ndarray


def _to_numpy(x: Any) -> np.ndarray:
    """Accept numpy arrays, lists and torch tensors (on any device) without importing torch."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int of at least 1 (an index-like value, not a bool), else ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be a positive integer, got {value!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return number


def squared_euclidean(qf: Any, gf: Any, chunk: int = 1024) -> np.ndarray:
    """Squared Euclidean distances ``|q|^2 + |g|^2 - 2 q.g`` in float32, as torchreid computes them.

    Written in place into the [Q, G] result chunk by chunk, so no [Q, G] temporary is made beside
    it. Like torchreid's, the result is not clamped: rounding can leave tiny negative values.
    """
    chunk = positive_int(chunk, "chunk")
    q = _to_numpy(qf).astype(np.float32, copy=False)
    g = _to_numpy(gf).astype(np.float32, copy=False)
    if q.ndim != 2 or g.ndim != 2:
        raise DataError(f"features must be 2-D [N, D], got shapes {q.shape} and {g.shape}")
    if q.shape[1] != g.shape[1]:
        raise DataError(f"query and gallery feature sizes differ: {q.shape[1]} vs {g.shape[1]}")
    q_sq = np.einsum("ij,ij->i", q, q)
    g_sq = np.einsum("ij,ij->i", g, g)
    out = np.empty((q.shape[0], g.shape[0]), dtype=np.float32)
    for start in range(0, q.shape[0], chunk):
        block = out[start : start + chunk]
        np.matmul(q[start : start + chunk], g.T, out=block)
        block *= -2.0
        block += q_sq[start : start + chunk, None]
        block += g_sq[None, :]
    return out


def _count_less(sorted_rows: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Count of entries of ``sorted_rows[rows[k]]`` below ``values[k]``, all k in one search."""
    width = sorted_rows.shape[1]
    flat = sorted_rows.reshape(-1)
    base = rows * width
    lo = np.zeros(len(rows), dtype=np.int64)
    hi = np.full(len(rows), width, dtype=np.int64)
    for _ in range(width.bit_length()):
        mid = (lo + hi) >> 1
        less = flat[base + np.minimum(mid, width - 1)] < values
        active = lo < hi
        lo = np.where(active & less, mid + 1, lo)
        hi = np.where(active & ~less, mid, hi)
    return lo


def _argsort_positions(
    dist: np.ndarray,
    fallback_rows: np.ndarray,
    rows: np.ndarray,
    gidx: np.ndarray,
    ties: TieRule = "torchreid",
) -> np.ndarray:
    """Position of gallery item ``gidx[k]`` in the argsort order of row ``rows[k]``.

    ``rows`` all lie in ``fallback_rows``; only those rows are argsorted. ``ties="torchreid"``
    is torchreid's call (default kind); ``"stable"`` puts equal distances in gallery order, as
    MATLAB's ``sort`` does in the kits.
    """
    order = np.argsort(dist[fallback_rows], axis=1, kind="stable" if ties == "stable" else None)
    inverse = np.empty_like(order)
    ranks = np.broadcast_to(np.arange(order.shape[1], dtype=order.dtype), order.shape)
    np.put_along_axis(inverse, order, ranks, axis=1)
    local = np.searchsorted(fallback_rows, rows)
    return inverse[local, gidx]


def _chunk_hits(
    dist: np.ndarray,
    q_codes: np.ndarray,
    q_cams: np.ndarray,
    g_cams: np.ndarray,
    g_by_pid: np.ndarray,
    pid_bounds: np.ndarray,
    ties: TieRule = "torchreid",
    argsort_all: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """For every true match of a chunk of queries: (row, junk-removed rank, hits so far), 1-based.

    Matches come out grouped by row and in rank order within a row. Also returns how many rows
    were argsorted and how many have a true match, so the caller can skip the sort when most rows
    hold ties (``argsort_all``); either way the ranks are the same.
    """
    n_rows, n_gallery = dist.shape
    # Every (query, gallery item with the query's identity) pair, via the gallery grouped by pid.
    first = pid_bounds[q_codes]
    counts = pid_bounds[q_codes + 1] - first
    total = int(counts.sum())
    empty = np.zeros(0, dtype=np.int64)
    if total == 0:
        return empty, empty, empty, 0, 0
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), counts)
    offsets = np.cumsum(counts) - counts
    within = np.arange(total, dtype=np.int64) - np.repeat(offsets, counts)
    gidx = g_by_pid[np.repeat(first, counts) + within]
    values = dist[rows, gidx]
    junk = g_cams[gidx] == q_cams[rows]  # same identity, same camera: removed from the ranking
    good = ~junk
    rows_with_good = np.unique(rows[good])

    if argsort_all:
        if np.isnan(dist).any():
            raise DataError(_NAN_MESSAGE)
        fallback_rows = rows_with_good
        positions = np.zeros(total, dtype=np.int64)  # rows without a true match are dropped
    else:
        sorted_rows = np.sort(dist, axis=1)
        if np.isnan(sorted_rows[:, -1]).any():  # NaN sorts last
            raise DataError(_NAN_MESSAGE)
        positions = _count_less(sorted_rows, rows, values)
        # A true match tied with any other item of its row: its rank depends on the tie rule, so
        # that row is argsorted with it (torchreid's argsort, or a stable one for the kits).
        after = np.minimum(positions + 1, n_gallery - 1)
        tied = good & (positions + 1 < n_gallery) & (sorted_rows[rows, after] == values)
        fallback_rows = np.unique(rows[tied])
    if len(fallback_rows):
        in_fallback = np.isin(rows, fallback_rows)
        positions[in_fallback] = _argsort_positions(
            dist, fallback_rows, rows[in_fallback], gidx[in_fallback], ties
        )

    # Within a row, positions of true matches are distinct from every other pair's, so sorting
    # by (row, position) gives the matches in rank order with the junk items ahead of each.
    order = np.argsort(rows * (n_gallery + 1) + positions, kind="stable")
    rows, positions, junk, good = rows[order], positions[order], junk[order], good[order]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    segment = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(rows)]))
    junk_before = np.cumsum(junk) - junk
    junk_before -= junk_before[starts][segment]
    hits = np.cumsum(good)
    hits -= (hits - good)[starts][segment]
    kept_rank = positions + 1 - junk_before
    return rows[good], kept_rank[good], hits[good], len(fallback_rows), len(rows_with_good)


def rank_metrics(
    distmat: Any,
    q_pids: Any,
    g_pids: Any,
    q_camids: Any,
    g_camids: Any,
    max_rank: int = 50,
    ap: APForm = "noninterpolated",
    *,
    ties: TieRule = "torchreid",
    average: Average = "valid",
    chunk: int = DEFAULT_CHUNK,
) -> RankResult:
    """CMC, mAP and per-query AP as torchreid's ``evaluate_rank`` (market1501 mode) gives them,
    or, with ``ap="trapezoid", ties="stable", average="all"``, as the official Market-1501/MARS
    MATLAB kits do; the defaults are torchreid's.

    ``ap="noninterpolated"`` is torchreid's AP (mean precision at each hit); ``"trapezoid"`` is
    the kits' ``compute_AP.m`` (mean of the precision before and at each hit).

    ``ties`` ranks gallery items at exactly equal (float32) distances: ``"torchreid"`` as
    ``np.argsort`` with its default (unstable) kind orders them; ``"stable"`` as the kits'
    ``sort(score, 'ascend')`` does, the lower gallery index first.

    ``average="valid"`` (torchreid) skips a query without a true match (no gallery item of its
    identity under another camera); ``"all"`` (the kits) counts it with CMC 0 at every rank and
    AP 0. MATLAB's ``compute_AP.m`` would give such a query recall 0/0 (NaN); its CMC is 0 there,
    and its AP is taken as 0, as the kits' Python ports do. Every query of the real Market-1501
    and MARS query sets has a true match, so this only matters for other data.

    ``chunk`` (queries per step) trades memory for speed and never changes results.
    A valid query whose junk-removed list is shorter than ``max_rank`` counts as matched up to
    ``max_rank`` (torchreid's Python code fails there and its Cython code reads stale values).
    """
    if ap not in AP_FORMS:
        raise ValueError(f"unknown ap {ap!r}; expected one of {', '.join(AP_FORMS)}")
    if ties not in TIE_RULES:
        raise ValueError(f"unknown ties {ties!r}; expected one of {', '.join(TIE_RULES)}")
    if average not in AVERAGES:
        raise ValueError(f"unknown average {average!r}; expected one of {', '.join(AVERAGES)}")
    max_rank = positive_int(max_rank, "max_rank")
    chunk = positive_int(chunk, "chunk")
    dist = _to_numpy(distmat)
    if dist.ndim != 2:
        raise DataError(f"the distance matrix must be 2-D [queries, gallery], got {dist.shape}")
    num_q, num_g = dist.shape
    ids = [_to_numpy(a) for a in (q_pids, g_pids, q_camids, g_camids)]
    expected = (num_q, num_g, num_q, num_g)
    names = ("q_pids", "g_pids", "q_camids", "g_camids")
    for name, arr, size in zip(names, ids, expected, strict=True):
        if arr.shape != (size,):
            raise DataError(f"{name} must have shape ({size},) to match the distance matrix")
    if num_q == 0 or num_g == 0:
        raise DataError(f"the distance matrix is empty ({num_q} queries x {num_g} gallery items)")
    qp, gp, qc, gc = ids
    if num_g < max_rank:
        logger.warning("Note: number of gallery samples is quite small, got %d", num_g)
        max_rank = num_g

    # Identities as dense codes; the gallery grouped by code gives each query's matches directly.
    _, codes = np.unique(np.concatenate([qp, gp]), return_inverse=True)
    q_codes, g_codes = codes[:num_q], codes[num_q:]
    g_by_pid = np.argsort(g_codes, kind="stable")
    pid_bounds = np.r_[0, np.cumsum(np.bincount(g_codes, minlength=int(codes.max()) + 1))]

    first_rank = np.zeros(num_q, dtype=np.int64)  # 0: no true match
    ap_per_query = np.full(num_q, np.nan)
    argsorted = with_match = 0
    for start in range(0, num_q, chunk):
        stop = min(start + chunk, num_q)
        block = np.asarray(dist[start:stop], dtype=np.float32)  # torchreid ranks float32 rows
        rows, rank, hit, n_argsorted, n_with_match = _chunk_hits(
            block,
            q_codes[start:stop],
            qc[start:stop],
            gc,
            g_by_pid,
            pid_bounds,
            ties,
            argsort_all=argsorted > ARGSORT_ALL_SHARE * with_match,
        )
        argsorted += n_argsorted
        with_match += n_with_match
        if len(rows) == 0:
            continue
        precision = hit / rank
        if ap == "noninterpolated":
            terms = precision
        else:
            before = np.divide(hit - 1, rank - 1, out=np.ones(len(rank)), where=rank > 1)
            terms = (before + precision) / 2
        n_hits = np.bincount(rows, minlength=stop - start)
        valid = n_hits > 0
        sums = np.bincount(rows, weights=terms, minlength=stop - start)
        ap_per_query[start:stop][valid] = sums[valid] / n_hits[valid]
        is_first = hit == 1
        first_rank[start + rows[is_first]] = rank[is_first]

    valid = first_rank > 0
    num_valid = int(valid.sum())
    if num_valid == 0:
        raise DataError(
            "no query has a true match in the gallery (same identity, other camera); "
            "check that query and gallery identities and camera ids line up"
        )
    # A valid query's first hit lies within its junk-removed list, so its CMC is 1 from there on.
    first_hits = np.bincount(np.minimum(first_rank[valid], max_rank + 1), minlength=max_rank + 2)
    if average == "all":  # a query without a true match: CMC 0 and AP 0
        ap_per_query[~valid] = 0.0
        denominator, mAP = num_q, float(np.mean(ap_per_query))
    else:
        denominator, mAP = num_valid, float(np.mean(ap_per_query[valid]))
    cmc = np.cumsum(first_hits[1 : max_rank + 1]).astype(np.float32) / np.float32(denominator)
    return RankResult(
        cmc=cmc,
        mAP=mAP,
        num_valid=num_valid,
        num_queries=num_q,
        ap=ap_per_query,
        first_rank=first_rank,
    )
