"""k-reciprocal re-ranking (Zhong, Zheng, Cao, Li, CVPR 2017) with memory linear in the set size.

``rerank_distance`` returns a [Q, G] distance matrix that ``rank_metrics`` takes exactly like a
``squared_euclidean`` one. It follows the paper's equations with the conventions of the authors'
widely used ``re_ranking`` code (facts cited, no code taken from it):

* the probes are the queries; everything works over all N = Q + G items together;
* the original distance ``d`` is ``squared_euclidean`` (float32 ``|a|^2 + |b|^2 - 2 a.b``,
  unclamped). The reference divides each column of the N x N matrix by that column's maximum
  and transposes, so row p is ``d(., p) / max d(., p)``; as ``d`` is symmetric this is
  ``d(p, .) / max d(p, .)``, row p over its own maximum. That makes the Gaussian ``exp(-d)`` of
  eq. 7 scale-free. (torchreid's port also squares the distances it is given; we do not.)
  A row whose maximum is not positive (all N items identical) is left undivided;
* N(p, k) is the k + 1 items nearest to p (p itself usually first), ranked by the raw ``d``;
  equal distances go in index order (a stable sort), so the result is deterministic;
* R(p, k) = {g in N(p, k) : p in N(g, k)} (eq. 3). R*(p, k1) adds R(q, round(k1 / 2)) for each
  q in R(p, k1) that shares more than 2/3 of its members with R(p, k1) (eq. 4). The paper writes
  ">=", the reference code tests ">", and so do we: published re-ranked figures come from it.
  ``round`` halves to even, as ``np.around`` does;
* V(p, g) = exp(-d(p, g)) on R*(p, k1), 0 elsewhere (eq. 7), each row divided by its sum;
* local query expansion (eq. 10): V(p) becomes the mean of V(i) over the k2 items nearest to p,
  p included (no expansion when k2 == 1);
* Jaccard distance (eqs. 11-12): with m = sum_j min(V(p, j), V(g, j)) and rows summing to 1,
  d_J = 1 - m / (2 - m);
* final distance (eq. 13): (1 - lambda) d_J + lambda d, query x gallery.

The reference keeps V and d_J in float16; we keep float32, so figures can differ in the fourth
decimal. Where it builds several dense N x N matrices (1.5 GB each in float32 at Market-1501's
N = 19,281), here the neighbour lists and row maxima come from square blocks of the distance
matrix (matmul + top-k), each block computed once for the rows on both sides of it; V is a
sparse list of (row, column, value) with a few dozen entries per row; and the Jaccard distances
are accumulated a span of queries at a time through an inverted index over V's columns. Beside
the features and the [Q, G] result, memory is two chunk x chunk blocks, O(N k1) for the
neighbour lists and V, and temporaries of a fixed size. It runs on any torch device (CPU or
CUDA); on a GPU the sums are accumulated in a nondeterministic order, which changes results
only by float rounding.

Near-ties decide neighbour lists: where two distances lie within a few float32 steps, a
different matmul (another BLAS, chunk size or device) can swap them across the k1-th place and
so change a few rows of V. ``benchmarks/rerank.py`` measures how often that happens.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from mgat.metrics.rank import positive_int
from mgat.vocabulary import DEFAULT_RERANK_K1 as DEFAULT_K1
from mgat.vocabulary import DEFAULT_RERANK_K2 as DEFAULT_K2
from mgat.vocabulary import DEFAULT_RERANK_LAMBDA as DEFAULT_LAMBDA

# Side of the square blocks of the N x N distance matrix (a 64 MB block, and its transposed copy;
# top-k over rows this long costs a third of what it costs over rows of 1024), and the most
# queries per Jaccard step (a [chunk, G] float32 accumulator: 260 MB at Market-1501's G).
DEFAULT_CHUNK = 4096
# Diagonal blocks of the distance matrix are split in halves down to this many rows.
_LEAF = 1024
# Elements of the temporaries (index pairs, gathered feature rows) made in one step.
_BUDGET = 1 << 23


def _features(x: Any, name: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        tensor = x.detach()
    else:
        array = np.asarray(x)
        if array.dtype.kind not in "fiu":
            raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
        array = np.ascontiguousarray(array, dtype=np.float32)
        tensor = torch.from_numpy(array if array.flags.writeable else array.copy())
    if tensor.dtype == torch.bool or tensor.is_complex():
        raise ValueError(f"{name} must hold real numbers, got {tensor.dtype}")
    if tensor.ndim != 2 or tensor.shape[0] == 0 or tensor.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D [N, D] array, got {tuple(tensor.shape)}")
    return tensor


def _take(t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``t[index]`` along the first dimension: on CPU ``take`` (1-D) and ``index_select`` are
    several times faster than indexing."""
    return torch.take(t, index) if t.ndim == 1 else t.index_select(0, index)


def _distances(
    a: torch.Tensor,
    a_sq: torch.Tensor,
    b: torch.Tensor,
    b_sq: torch.Tensor,
    out: torch.Tensor,
) -> torch.Tensor:
    """``|a|^2 + |b|^2 - 2 a.b`` in the order ``squared_euclidean`` rounds it, into ``out``
    (as many elements as the result, viewed in its shape)."""
    d = torch.mm(a, b.T, out=out.view(a.shape[0], b.shape[0]))
    d.mul_(-2.0).add_(a_sq[:, None]).add_(b_sq[None, :])
    return d


def _self_distances(x: torch.Tensor, sq: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """The distances of a block of items among themselves, into ``out`` like ``_distances``:
    halves split recursively, the upper right one computed and copied, transposed, to the lower
    left, down to blocks of ``_LEAF`` items."""
    c = x.shape[0]
    if c <= _LEAF:
        return _distances(x, sq, x, sq, out)
    h = c // 2
    d = out.view(c, c)
    d[:h, :h] = _self_distances(x[:h], sq[:h], torch.empty_like(out[: h * h]))
    d[h:, h:] = _self_distances(x[h:], sq[h:], torch.empty_like(out[: (c - h) ** 2]))
    upper = _distances(x[:h], sq[:h], x[h:], sq[h:], torch.empty_like(out[: h * (c - h)]))
    d[:h, h:] = upper
    d[h:, :h] = upper.T
    return d


def _lex_sorted(values: torch.Tensor, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row ordered by value, equal values by index (two sorts; the second one stable)."""
    index, perm = index.sort(dim=1)
    values, order = values.gather(1, perm).sort(dim=1, stable=True)
    return values, index.gather(1, order)


def _smallest(d: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k smallest entries of each row (values, columns), in no particular order; among
    equal values the lower columns.

    ``topk`` of k + 1 finds them; only rows whose k-th and (k+1)-th values are equal (ties
    across the boundary, which ``topk`` may break either way) are stably sorted in full.
    """
    if k >= d.shape[1]:
        return d.clone(), torch.arange(d.shape[1], device=d.device).expand(d.shape)
    values, index = torch.topk(d, k + 1, dim=1, largest=False, sorted=True)
    crowded = (values[:, k] == values[:, k - 1]).nonzero().squeeze(1)
    values, index = values[:, :k], index[:, :k]
    if crowded.numel():
        tied = torch.sort(d[crowded], dim=1, stable=True)
        values[crowded], index[crowded] = tied.values[:, :k], tied.indices[:, :k]
    return values, index


class _Nearest:
    """The k nearest (value, column) of a block of rows, gathered from blocks of columns."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.values: list[torch.Tensor] = []
        self.index: list[torch.Tensor] = []

    def add(self, d: torch.Tensor, offset: int) -> None:
        values, index = _smallest(d, self.k)
        self.values.append(values)
        self.index.append(index + offset)
        if len(self.values) >= 16:  # bounded memory: keep the k best so far
            values, index = self.result()
            self.values, self.index = [values], [index]

    def result(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Values and columns [rows, k], each row ascending, equal values in column order."""
        values, index = _lex_sorted(torch.cat(self.values, dim=1), torch.cat(self.index, dim=1))
        return values[:, : self.k], index[:, : self.k]


def _neighbours(
    x: torch.Tensor, sq: torch.Tensor, width: int, num_q: int, chunk: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each item's ``width`` nearest items (itself included) and their distances, its largest
    distance, and the query x gallery distances.

    The N x N distances are computed once per pair of row blocks (i <= j), block (i, j) serving
    the rows of block i and, transposed, those of block j; blocks (i, i) are split the same way
    (``_self_distances``). That is little more than half the matmul work of the full matrix.
    """
    n = x.shape[0]
    blocks = [slice(a, min(a + chunk, n)) for a in range(0, n, chunk)]
    pending = [_Nearest(width) for _ in blocks]
    found: list[tuple[torch.Tensor, torch.Tensor]] = []
    row_max = torch.full((n,), -torch.inf, dtype=x.dtype, device=x.device)
    query_gallery = torch.empty((num_q, n - num_q), dtype=x.dtype, device=x.device)
    # Two reused buffers: a fresh 64 MB tensor per block costs more in page faults than its copy.
    side = min(chunk, n)
    buffer = torch.empty(side * side, dtype=x.dtype, device=x.device)
    transposed = torch.empty_like(buffer)
    for i, rows in enumerate(blocks):
        for j in range(i, len(blocks)):
            cols = blocks[j]
            shape = (rows.stop - rows.start, cols.stop - cols.start)
            out = buffer[: shape[0] * shape[1]]
            if i == j:
                d = _self_distances(x[rows], sq[rows], out)
            else:
                d = _distances(x[rows], sq[rows], x[cols], sq[cols], out)
            pending[i].add(d, cols.start)
            row_max[rows] = torch.maximum(row_max[rows], d.amax(dim=1))
            if j != i:
                d_t = transposed[: shape[0] * shape[1]].view(shape[1], shape[0]).copy_(d.T)
                pending[j].add(d_t, rows.start)
                row_max[cols] = torch.maximum(row_max[cols], d.amax(dim=0))
            if rows.start < num_q and cols.stop > num_q:  # a query x gallery part
                q_rows = slice(rows.start, min(rows.stop, num_q))
                g_cols = slice(max(cols.start, num_q), cols.stop)
                query_gallery[q_rows, g_cols.start - num_q : g_cols.stop - num_q] = d[
                    : q_rows.stop - rows.start, g_cols.start - cols.start :
                ]
        found.append(pending[i].result())  # block i has met every block of columns
        pending[i] = _Nearest(width)  # frees its candidates
    values = torch.cat([v for v, _ in found])
    index = torch.cat([ix for _, ix in found])
    return index, values, row_max, query_gallery


def _row_chunks(n: int, per_row: int) -> Iterator[slice]:
    step = max(1, _BUDGET // max(per_row, 1))
    for start in range(0, n, step):
        yield slice(start, min(start + step, n))


def _reciprocal(nearest: torch.Tensor) -> torch.Tensor:
    """``mask[p, a]``: p is among the neighbours of its neighbour ``nearest[p, a]`` (eq. 3)."""
    n, k = nearest.shape
    mask = torch.empty((n, k), dtype=torch.bool, device=nearest.device)
    ids = torch.arange(n, device=nearest.device)
    for rows in _row_chunks(n, k * k):
        back = _take(nearest, nearest[rows].reshape(-1)).view(-1, k, k)
        mask[rows] = (back == ids[rows, None, None]).any(dim=2)
    return mask


def _expanded_sets(nearest: torch.Tensor, k_half: int) -> tuple[torch.Tensor, torch.Tensor]:
    """R*(p, k1) of every p (eq. 4) as (row, column) pairs sorted by row, then column."""
    n, k = nearest.shape
    half = nearest[:, :k_half]
    in_r = _reciprocal(nearest)  # in_r[p, a]: nearest[p, a] is in R(p, k1)
    in_half = _reciprocal(half)  # in_half[q, b]: half[q, b] is in R(q, k1 / 2)
    half_size = in_half.sum(dim=1)
    rows_out, cols_out = [], []
    for rows in _row_chunks(n, k * k_half * k):
        cand = nearest[rows]  # [C, K]: candidates q
        cand_in = in_r[rows]
        flat = cand.reshape(-1)
        members = _take(half, flat).view(*cand.shape, -1)  # [C, K, Kh]: N(q, k1 / 2)
        members_in = _take(in_half, flat).view(members.shape)
        # |R(p, k1) & R(q, k1 / 2)|, by comparing each member with every element of R(p, k1).
        shared = (members[..., None] == cand[:, None, None, :]) & cand_in[:, None, None, :]
        overlap = (shared.any(dim=3) & members_in).sum(dim=2)
        accept = cand_in & (3 * overlap > 2 * _take(half_size, flat).view(cand.shape))
        sentinel = torch.full_like(members, n)
        picked = torch.where(accept[..., None] & members_in, members, sentinel)
        union = torch.cat([torch.where(cand_in, cand, n), picked.flatten(1)], dim=1)
        union = union.sort(dim=1).values
        previous = torch.cat([torch.full_like(union[:, :1], -1), union[:, :-1]], dim=1)
        local, position = ((union < n) & (union != previous)).nonzero(as_tuple=True)
        rows_out.append(local + rows.start)
        cols_out.append(union[local, position])
    return torch.cat(rows_out), torch.cat(cols_out)


def _pair_distances(
    x: torch.Tensor,
    sq: torch.Tensor,
    rows: torch.Tensor,
    cols: torch.Tensor,
    nearest: torch.Tensor,
    near_d: torch.Tensor,
) -> torch.Tensor:
    """d(rows[e], cols[e]): read from the neighbour lists where ``cols[e]`` is among the
    nearest of ``rows[e]`` (most pairs), from the features otherwise."""
    width = nearest.shape[1]
    d = torch.empty(rows.numel(), dtype=x.dtype, device=x.device)
    step = max(1, _BUDGET // width)
    for start in range(0, rows.numel(), step):
        r, c = rows[start : start + step], cols[start : start + step]
        match = _take(nearest, r) == c[:, None]
        slot = match.to(torch.uint8).argmax(dim=1)
        d[start : start + step] = _take(near_d.view(-1), r * width + slot)
        missing = (~match.any(dim=1)).nonzero().squeeze(1)
        sub = max(1, _BUDGET // x.shape[1])
        for first in range(0, missing.numel(), sub):
            some = missing[first : first + sub]
            mr, mc = _take(r, some), _take(c, some)
            dot = torch.bmm(_take(x, mr).unsqueeze(1), _take(x, mc).unsqueeze(2)).view(-1)
            d.index_copy_(0, some + start, dot.mul_(-2.0).add_(_take(sq, mr)).add_(_take(sq, mc)))
    return d


def _weights(d: torch.Tensor, scale: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """exp(-d / scale) on the pairs (eq. 7), each row divided by its sum."""
    weight = torch.exp(-(d / _take(scale, rows)))
    total = torch.zeros(scale.numel(), dtype=d.dtype, device=d.device)
    total.index_add_(0, rows, weight)
    return weight / _take(total, rows)


def _spans(costs: torch.Tensor, most: int) -> Iterator[tuple[int, int]]:
    """Consecutive items in spans of at most ``most`` items and about ``_BUDGET`` total cost."""
    cumulative = torch.cumsum(costs, 0).cpu().numpy()
    start = 0
    while start < len(cumulative):
        done = cumulative[start - 1] if start else 0
        stop = int(np.searchsorted(cumulative, done + _BUDGET, side="right"))
        stop = min(max(stop, start + 1), start + most)
        yield start, stop
        start = stop


def _gather_ranges(first: torch.Tensor, counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For ranges ``first[i] : first[i] + counts[i]``: their positions and range numbers."""
    owner = torch.repeat_interleave(torch.arange(counts.numel(), device=counts.device), counts)
    offsets = torch.cumsum(counts, 0) - counts
    within = torch.arange(owner.numel(), device=counts.device) - _take(offsets, owner)
    return _take(first, owner) + within, owner


def _row_pointers(rows: torch.Tensor, n: int) -> torch.Tensor:
    return torch.cat([rows.new_zeros(1), torch.cumsum(torch.bincount(rows, minlength=n), 0)])


def _expand(
    rows: torch.Tensor, cols: torch.Tensor, vals: torch.Tensor, nearest: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Local query expansion (eq. 10): row p becomes the mean of the rows ``nearest[p]``."""
    n, k = nearest.shape
    pointer = _row_pointers(rows, n)
    counts = _take(pointer[1:] - pointer[:-1], nearest.reshape(-1)).view(n, k)  # [N, k2]
    out_rows, out_cols, out_vals = [], [], []
    for start, stop in _spans(counts.sum(dim=1), n):
        sources = nearest[start:stop].reshape(-1)
        position, owner = _gather_ranges(_take(pointer, sources), counts[start:stop].reshape(-1))
        key = (owner // k + start) * n + _take(cols, position)
        unique, inverse = torch.unique(key, sorted=True, return_inverse=True)
        total = torch.zeros(unique.numel(), dtype=vals.dtype, device=vals.device)
        total.index_add_(0, inverse, _take(vals, position))
        out_rows.append(unique // n)
        out_cols.append(unique % n)
        out_vals.append(total / k)
    return torch.cat(out_rows), torch.cat(out_cols), torch.cat(out_vals)


def _final(
    query_gallery: torch.Tensor,
    scale: torch.Tensor,
    sparse: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    lambda_value: float,
    chunk: int,
) -> np.ndarray:
    """(1 - lambda) d_J + lambda d for queries x gallery (eq. 13), a span of queries at a time,
    written over the raw distances ``query_gallery``.

    m = sum_j min(V(p, j), V(g, j)) only has terms where both are nonzero, so each nonzero
    V(p, j) of a query meets the gallery rows listed under column j (an inverted index).
    """
    rows, cols, vals = sparse
    num_q, num_g = query_gallery.shape
    n = num_q + num_g
    in_gallery = rows >= num_q
    by_col = torch.sort(cols[in_gallery], stable=True)  # (column, row) order
    index_rows = _take(rows[in_gallery] - num_q, by_col.indices)
    index_vals = _take(vals[in_gallery], by_col.indices)
    col_pointer = _row_pointers(by_col.values, n)
    pointer = _row_pointers(rows, n)
    q_entries = int(pointer[num_q])
    q_cols = cols[:q_entries]
    pair_counts = _take(col_pointer[1:] - col_pointer[:-1], q_cols)
    costs = torch.zeros(num_q, dtype=torch.int64, device=rows.device)
    costs.index_add_(0, rows[:q_entries], pair_counts)
    for start, stop in _spans(costs, chunk):
        entries = slice(int(pointer[start]), int(pointer[stop]))
        counts = pair_counts[entries]
        owner = torch.repeat_interleave(torch.arange(counts.numel(), device=rows.device), counts)
        # Pair e of entry i reads the inverted index at col_pointer[col_i] + (e - first pair of i).
        shift = _take(col_pointer, q_cols[entries]) - (torch.cumsum(counts, 0) - counts)
        position = torch.arange(owner.numel(), device=rows.device).add_(_take(shift, owner))
        target = _take((rows[entries] - start) * num_g, owner).add_(_take(index_rows, position))
        smaller = torch.minimum(_take(vals[entries], owner), _take(index_vals, position))
        m = torch.zeros((stop - start, num_g), dtype=vals.dtype, device=vals.device)
        m.view(-1).index_add_(0, target, smaller)
        del owner, position, target, smaller
        jaccard = m.div_(torch.sub(2.0, m)).neg_().add_(1.0)  # 1 - m / (2 - m)
        block = query_gallery[start:stop]
        block.div_(scale[start:stop, None]).mul_(lambda_value).add_(
            jaccard.mul_(1.0 - lambda_value)
        )
    return query_gallery.cpu().numpy()


def rerank_distance(
    query_features: Any,
    gallery_features: Any,
    *,
    k1: int = DEFAULT_K1,
    k2: int = DEFAULT_K2,
    lambda_value: float = DEFAULT_LAMBDA,
    device: str | torch.device | None = None,
    chunk: int = DEFAULT_CHUNK,
) -> np.ndarray:
    """k-reciprocal re-ranked distances [Q, G] (float32) of query and gallery features [N, D].

    Pass the result to ``rank_metrics`` in place of ``squared_euclidean(query, gallery)``.
    ``device`` defaults to the query features' (CPU for numpy input). ``chunk`` (the side of the
    distance blocks and the most queries per Jaccard step) trades memory for speed; results
    differ only by the float rounding of the blocked matmuls. Bad arguments raise ValueError.
    """
    k1 = positive_int(k1, "k1")
    k2 = positive_int(k2, "k2")
    chunk = positive_int(chunk, "chunk")
    try:
        lam = float(lambda_value)
    except (TypeError, ValueError):
        raise ValueError(f"lambda_value must be a number in [0, 1], got {lambda_value!r}") from None
    if not 0.0 <= lam <= 1.0:  # also rejects NaN
        raise ValueError(f"lambda_value must lie in [0, 1], got {lambda_value!r}")
    q = _features(query_features, "query_features")
    g = _features(gallery_features, "gallery_features")
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"query and gallery feature sizes differ: {q.shape[1]} vs {g.shape[1]}")
    target = torch.device(device) if device is not None else q.device
    x = torch.cat([q.to(target, torch.float32), g.to(target, torch.float32)])
    with torch.no_grad():
        sq = (x * x).sum(dim=1)  # NaN or inf wherever a feature is (or its square overflows)
        if not bool(torch.isfinite(sq).all()):
            raise ValueError("the features contain NaN or infinite values, or overflow float32")
        n, num_q = x.shape[0], q.shape[0]
        k_main = min(k1 + 1, n)
        k_half = min(round(k1 / 2) + 1, n)
        k_exp = min(k2, n)
        width = max(k_main, k_exp)
        nearest, near_d, row_max, query_gallery = _neighbours(x, sq, width, num_q, chunk)
        scale = torch.where(row_max > 0, row_max, torch.ones_like(row_max))
        rows, cols = _expanded_sets(nearest[:, :k_main], k_half)
        pair_d = _pair_distances(x, sq, rows, cols, nearest, near_d)
        vals = _weights(pair_d, scale, rows)
        if k_exp > 1:
            rows, cols, vals = _expand(rows, cols, vals, nearest[:, :k_exp])
        return _final(query_gallery, scale, (rows, cols, vals), lam, chunk)
