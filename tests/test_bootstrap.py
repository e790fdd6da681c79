"""Paired bootstrap interval of a difference of means: against scipy, and by simulation."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from mgat.metrics import bootstrap as bootstrap_module
from mgat.metrics.bootstrap import DifferenceCI, paired_difference_ci


def mean_difference(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x - y, axis=axis)


def paired_hits(
    rng: np.random.Generator, n: int, p_a: float = 0.7, p_b: float = 0.6
) -> tuple[np.ndarray, np.ndarray]:
    """Correlated top-1 indicators of two models on the same queries (shared query difficulty)."""
    u = rng.random(n)
    return (u < p_a).astype(float), (u < p_b).astype(float) * (rng.random(n) < 0.95)


def scipy_interval(
    a: np.ndarray, b: np.ndarray, resamples: int, seed: int, **kwargs: object
) -> tuple[float, float]:
    result = stats.bootstrap(
        (a, b),
        mean_difference,
        paired=True,
        method="percentile",
        vectorized=True,
        n_resamples=resamples,
        confidence_level=0.95,
        rng=np.random.default_rng(seed),
        **kwargs,
    )
    return result.confidence_interval.low, result.confidence_interval.high


def test_one_run_is_scipy_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random(120), rng.random(120)
    ci = paired_difference_ci([a], [b], resamples=2000, seed=3)
    low, high = scipy_interval(a, b, 2000, 3)
    assert (ci.low, ci.high) == (low, high)
    assert ci.estimate == float(np.mean(a - b))
    assert (ci.runs, ci.queries, ci.resamples, ci.confidence) == (1, 120, 2000, 0.95)
    assert ci.method == bootstrap_module.ONE_RUN_METHOD
    assert isinstance(ci, DifferenceCI)


def test_one_run_in_batches_is_scipy_with_that_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above MAX_DRAWS resampled values scipy resamples in batches; still scipy's result."""
    monkeypatch.setattr(bootstrap_module, "MAX_DRAWS", 1000)
    rng = np.random.default_rng(1)
    a, b = paired_hits(rng, 90)
    ci = paired_difference_ci([a], [b], resamples=500, seed=4)
    assert (ci.low, ci.high) == scipy_interval(a, b, 500, 4, batch=1000 // 90)


def test_two_level_with_one_run_agrees_with_scipy() -> None:
    """The same bootstrap distribution, drawn differently: within Monte-Carlo tolerance."""
    rng = np.random.default_rng(2)
    a, b = rng.random(200), rng.random(200)
    low, high = scipy_interval(a, b, 20_000, 0)
    mine = bootstrap_module._two_level_interval([a - b], 0.95, 20_000, np.random.default_rng(1))
    tolerance = 0.1 * (high - low)
    assert mine[0] == pytest.approx(low, abs=tolerance)
    assert mine[1] == pytest.approx(high, abs=tolerance)


def test_several_runs_statistic_and_determinism() -> None:
    rng = np.random.default_rng(3)
    a = [rng.random(n) for n in (50, 80, 65)]
    b = [x - 0.05 + 0.2 * rng.standard_normal(len(x)) for x in a]
    ci = paired_difference_ci(a, b, resamples=1000, seed=7)
    expected = np.mean([np.mean(x - y) for x, y in zip(a, b, strict=True)])
    assert ci.estimate == pytest.approx(expected, abs=1e-15)
    assert ci.low < ci.estimate < ci.high
    assert (ci.runs, ci.queries) == (3, 195)
    assert ci.method == bootstrap_module.RUNS_METHOD
    assert paired_difference_ci(a, b, resamples=1000, seed=7) == ci
    assert paired_difference_ci(a, b, resamples=1000, seed=8) != ci
    # Runs given as lists and as a 2-D array of equal-length runs are the same data.
    equal = [x[:50] for x in a], [y[:50] for y in b]
    as_lists = paired_difference_ci(*[[r.tolist() for r in side] for side in equal], seed=1)
    assert paired_difference_ci(np.stack(equal[0]), np.stack(equal[1]), seed=1) == as_lists


def test_more_run_spread_widens_the_interval() -> None:
    """The run level matters: the same queries with run offsets give a wider interval."""
    rng = np.random.default_rng(4)
    a = [rng.random(60) for _ in range(4)]
    b = [x - 0.1 + 0.1 * rng.standard_normal(60) for x in a]
    shifted = [y + offset for y, offset in zip(b, (-0.2, 0.1, 0.2, -0.1), strict=True)]
    narrow = paired_difference_ci(a, b, resamples=2000)
    wide = paired_difference_ci(a, shifted, resamples=2000)
    assert wide.high - wide.low > 2 * (narrow.high - narrow.low)


@pytest.mark.parametrize("runs", [1, 3])
def test_identical_models_give_zero(runs: int) -> None:
    rng = np.random.default_rng(5)
    a = [rng.random(40 + k) for k in range(runs)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ci = paired_difference_ci(a, [x.copy() for x in a])
    assert (ci.estimate, ci.low, ci.high) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("runs", [1, 3])
def test_shifted_copy_gives_the_shift(runs: int) -> None:
    """``b = a - 0.1``: every difference is 0.1 up to the rounding of the subtraction, so the
    interval is the single point [estimate, estimate]."""
    rng = np.random.default_rng(6)
    a = [rng.random(30 + 5 * k) for k in range(runs)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ci = paired_difference_ci(a, [x - 0.1 for x in a])
    assert ci.low == ci.estimate == ci.high
    assert ci.estimate == pytest.approx(0.1, abs=1e-15)
    assert not np.isnan([ci.estimate, ci.low, ci.high]).any()
    hits = [np.array([0.0, 1.0, 1.0, 0.0])]
    exact = paired_difference_ci(hits, [h - 0.25 for h in hits])  # exact in binary
    assert (exact.estimate, exact.low, exact.high) == (0.25, 0.25, 0.25)


def test_coverage_one_run() -> None:
    """95% intervals over paired top-1 indicators cover the known difference about 95% of
    the time (200 simulated data sets, binomial spread about 0.015)."""
    rng = np.random.default_rng(7)
    covered = 0
    for i in range(200):
        a, b = paired_hits(rng, 150)
        ci = paired_difference_ci([a], [b], resamples=400, seed=i)
        covered += ci.low <= 0.7 - 0.6 * 0.95 <= ci.high
    assert 0.85 <= covered / 200 <= 0.99


def test_coverage_several_runs() -> None:
    """Six runs with their own offsets (sd 0.08) around a difference of 0.1, query noise sd 0.5:
    the two-level interval covers the population difference about 95% of the time. (It counts
    the query-level spread about twice, so it grows conservative as run offsets shrink.)"""
    rng = np.random.default_rng(8)
    covered = 0
    for i in range(200):
        offsets = 0.08 * rng.standard_normal(6)
        a = [rng.standard_normal(40) for _ in range(6)]
        b = [x - 0.1 - u + 0.5 * rng.standard_normal(40) for x, u in zip(a, offsets, strict=True)]
        ci = paired_difference_ci(a, b, resamples=300, seed=i)
        covered += ci.low <= 0.1 <= ci.high
    assert 0.85 <= covered / 200 <= 0.99


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "message"),
    [
        ([], [], {}, "no runs"),
        ([[1.0]], [[1.0], [2.0]], {}, "a has 1 runs but b has 2"),
        ([[1.0], []], [[1.0], []], {}, r"a\[1\] has no queries"),
        ([[1.0, 2.0]], [[1.0]], {}, "run 0: a has 2 queries but b has 1"),
        ([[1.0, np.nan]], [[1.0, 2.0]], {}, r"a\[0\] contains non-finite"),
        ([[1.0, 2.0]], [[1.0, np.inf]], {}, r"b\[0\] contains non-finite"),
        ([[[1.0]]], [[[1.0]]], {}, "must be 1-D"),
        ([1.0, 2.0], [1.0, 2.0], {}, "pass \\[values\\] for a single run"),
        ([[1.0, 2.0]], [[0.0, 2.0]], {"confidence": 1.0}, "confidence must lie in"),
        ([[1.0, 2.0]], [[0.0, 2.0]], {"confidence": 0.0}, "confidence must lie in"),
        ([[1.0, 2.0]], [[0.0, 2.0]], {"confidence": float("nan")}, "confidence must lie in"),
        ([[1.0, 2.0]], [[0.0, 2.0]], {"resamples": 0}, "resamples must be at least 1"),
        ([[1.0, 2.0]], [[0.0, 2.0]], {"resamples": 2.5}, "resamples must be an integer"),
    ],
)
def test_bad_input_is_a_value_error(a: list, b: list, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        paired_difference_ci(a, b, **kwargs)


def test_imports_numpy_and_scipy_only() -> None:
    """The tables use this module without torch."""
    tree = ast.parse(Path(bootstrap_module.__file__).read_text())
    roots = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    roots |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert roots <= {"__future__", "collections", "dataclasses", "operator", "numpy", "scipy"}
