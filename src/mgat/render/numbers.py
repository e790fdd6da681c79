"""How the tables and the sweeps print a number: one mean ± std, one signed difference, one
difference with its interval, so the same value reads the same wherever it appears.

Differences carry the typographic minus sign :data:`MINUS` (U+2212), as a printed table does;
a value that is not there (``None``, NaN) prints as :data:`MISSING`.
"""

from __future__ import annotations

import math

__all__ = ["MINUS", "MISSING", "format_interval", "format_mean_std", "is_missing", "signed"]

MINUS = "\u2212"  # the typographic minus sign, for differences
MISSING = "-"  # a value not reported, as the paper prints it


def is_missing(value: object) -> bool:
    """Whether ``value`` is no number to print: ``None``, NaN or infinite."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def format_mean_std(
    mean: float | None,
    std: float | None = None,
    *,
    digits: int,
    scale: float = 1.0,
    missing: str = MISSING,
) -> str:
    """``76.0 ± 1.2``: a mean and its spread over runs, scaled and rounded alike.

    ``std`` ``None`` (or not a number) prints the mean alone: the caller decides when a spread
    is worth printing. A mean that is not a number prints as ``missing``.
    """
    if mean is None or is_missing(mean):
        return missing
    text = f"{mean * scale:.{digits}f}"
    if std is not None and not is_missing(std):
        text += f" ± {std * scale:.{digits}f}"
    return text


def signed(value: float | None, digits: int = 1) -> str:
    """A difference with its sign, the minus as U+2212; :data:`MISSING` where there is none."""
    if value is None or is_missing(value):
        return MISSING
    return f"{value:+.{digits}f}".replace("-", MINUS)


def format_interval(
    estimate: float | None, low: float | None, high: float | None, digits: int = 1
) -> str:
    """``+1.2 [-0.5, +2.9]`` (minus signs U+2212): a difference and its interval;
    :data:`MISSING` where there is no difference."""
    if estimate is None or is_missing(estimate):
        return MISSING
    return f"{signed(estimate, digits)} [{signed(low, digits)}, {signed(high, digits)}]"
