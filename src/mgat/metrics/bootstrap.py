"""Paired bootstrap confidence interval of the difference between two models' mean metric.

The tables compare models evaluated on the same queries (e.g. MGAT against a control). Pairing
by query removes the spread that query difficulty adds to both models alike, so the interval is
that of the difference itself, not of two overlapping per-model intervals. With several runs
(splits or seeded repeats) the reported figure is the run-averaged metric, and the interval must
also carry the run-to-run spread: runs are resampled first, then queries within each drawn run.

numpy and scipy only, so the tables can be built without torch.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

ONE_RUN_METHOD = "paired percentile bootstrap over queries"
RUNS_METHOD = "paired two-level percentile bootstrap over runs, then queries within each run"
# Resampled values held at once (per array): bounds memory to about 32 MB at any size.
MAX_DRAWS = 1 << 22
# Differences that agree to a few roundings of ``a - b`` are treated as identical.
_ROUNDING_ULPS = 4


@dataclass(frozen=True)
class DifferenceCI:
    """The observed difference of run-averaged means and its bootstrap interval."""

    estimate: float
    low: float
    high: float
    confidence: float
    runs: int
    queries: int
    resamples: int
    method: str


def _runs(values: Sequence[ArrayLike], name: str) -> list[np.ndarray]:
    """Each run as a 1-D float64 array; a bad run is reported by its position."""
    out = []
    for k, run in enumerate(values):
        arr = np.asarray(run, dtype=np.float64)
        if arr.ndim != 1:
            raise ValueError(
                f"{name}[{k}] must be 1-D (one value per query), got shape {arr.shape}; "
                "pass [values] for a single run"
            )
        if arr.size == 0:
            raise ValueError(f"{name}[{k}] has no queries")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name}[{k}] contains non-finite values")
        out.append(arr)
    return out


def _mean_difference_stat(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mean over queries of the paired differences (scipy's vectorised statistic)."""
    return np.mean(x - y, axis=axis)


def _one_run_interval(
    a: np.ndarray, b: np.ndarray, confidence: float, resamples: int, rng: np.random.Generator
) -> tuple[float, float]:
    """scipy's paired percentile bootstrap over the queries of one run."""
    from scipy import stats  # a second of import: only the aggregation needs it

    n = len(a)
    batch = None if resamples * n <= MAX_DRAWS else max(1, MAX_DRAWS // n)
    result = stats.bootstrap(
        (a, b),
        _mean_difference_stat,
        n_resamples=resamples,
        batch=batch,
        vectorized=True,
        paired=True,
        confidence_level=confidence,
        method="percentile",
        rng=rng,
    )
    ci = result.confidence_interval
    return float(ci.low), float(ci.high)


def _two_level_interval(
    diffs: Sequence[np.ndarray], confidence: float, resamples: int, rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile interval of the run-averaged mean difference, resampling runs and then,
    independently for each drawn run, its queries (both with replacement).

    Vectorised over resamples: one loop over runs, and over blocks of at most ``MAX_DRAWS``
    drawn queries for memory.
    """
    num_runs = len(diffs)
    picks = rng.integers(0, num_runs, size=(resamples, num_runs)).ravel()
    totals = np.zeros(resamples)
    for run, d in enumerate(diffs):
        slots = np.flatnonzero(picks == run)  # (resample, slot) pairs that drew this run
        n = len(d)
        block = max(1, MAX_DRAWS // n)
        means = np.empty(len(slots))
        for start in range(0, len(slots), block):
            count = min(block, len(slots) - start)
            means[start : start + count] = d[rng.integers(0, n, size=(count, n))].mean(axis=1)
        totals += np.bincount(slots // num_runs, weights=means, minlength=resamples)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(totals / num_runs, [alpha, 1 - alpha])
    return float(low), float(high)


def paired_difference_ci(
    a: Sequence[ArrayLike],
    b: Sequence[ArrayLike],
    *,
    confidence: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> DifferenceCI:
    """Difference of two models' run-averaged mean metric, ``a`` minus ``b``, with a paired
    percentile bootstrap interval.

    ``a[k]`` and ``b[k]`` hold the per-query values (top-1 hit 0/1, AP, ...) of the two models
    on run k, paired by index. The estimate is the mean over runs of each run's mean of
    ``a[k] - b[k]``: the difference of the figures the tables report. One run: queries are
    resampled with ``scipy.stats.bootstrap`` (``paired=True``, ``method="percentile"``,
    ``vectorized=True``, ``rng=numpy.random.default_rng(seed)``; ``batch`` only above
    ``MAX_DRAWS`` resampled values). Several runs: a two-level bootstrap, runs then queries.
    Deterministic for a seed. Differences identical up to rounding (e.g. identical models, or
    ``b = a - c``) give the point interval ``[estimate, estimate]``, without resampling.

    Raises ValueError for no runs, unequal run counts, an empty run, a length mismatch within
    a pair, non-finite values, ``confidence`` outside (0, 1) or ``resamples < 1``.
    """
    runs_a, runs_b = _runs(a, "a"), _runs(b, "b")
    if not runs_a:
        raise ValueError("no runs to compare")
    if len(runs_a) != len(runs_b):
        raise ValueError(f"a has {len(runs_a)} runs but b has {len(runs_b)}")
    for k, (x, y) in enumerate(zip(runs_a, runs_b, strict=True)):
        if len(x) != len(y):
            raise ValueError(f"run {k}: a has {len(x)} queries but b has {len(y)}; pair them")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    try:
        resamples = operator.index(resamples)
    except TypeError:
        raise ValueError(f"resamples must be an integer, got {resamples!r}") from None
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")

    diffs = [x - y for x, y in zip(runs_a, runs_b, strict=True)]
    estimate = float(np.mean([np.mean(d) for d in diffs]))
    one_run = len(diffs) == 1
    point = DifferenceCI(
        estimate=estimate,
        low=estimate,
        high=estimate,
        confidence=float(confidence),
        runs=len(diffs),
        queries=sum(len(d) for d in diffs),
        resamples=resamples,
        method=ONE_RUN_METHOD if one_run else RUNS_METHOD,
    )
    every = np.concatenate(diffs)
    scale = max(np.abs(np.concatenate(runs_a)).max(), np.abs(np.concatenate(runs_b)).max())
    if np.ptp(every) <= _ROUNDING_ULPS * np.finfo(np.float64).eps * scale:
        # Every resample has the same statistic (up to rounding): no spread to estimate.
        return point
    rng = np.random.default_rng(seed)
    if one_run:
        low, high = _one_run_interval(runs_a[0], runs_b[0], confidence, resamples, rng)
    else:
        low, high = _two_level_interval(diffs, confidence, resamples, rng)
    return replace(point, low=low, high=high)
