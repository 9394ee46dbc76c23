"""Input checks shared by the public functions: clear ValueErrors, never a silent NaN."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_finite", "check_levels", "check_range", "check_positive", "check_nonneg"]


def as_finite(name: str, x, ndim: int | None = None, dtype=np.float64) -> np.ndarray:
    """``x`` as a float array; ValueError naming ``name`` if it is not numeric, has the wrong
    rank, or holds NaN/inf."""
    try:
        a = np.asarray(x, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real numeric array, got {type(x).__name__}") from None
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {a.shape}")
    if a.size and not np.isfinite(a).all():
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s): allowed finite values")
    return a


def check_levels(name: str, levels) -> int | None:
    """Quantizer level count: an integer >= 2, or None for no quantization."""
    if levels is None:
        return None
    if isinstance(levels, bool) or not isinstance(levels, numbers.Integral) or levels < 2:
        raise ValueError(f"{name} = {levels!r} is invalid: allowed an integer >= 2 or None")
    return int(levels)


def _to_float(name: str, value, allowed: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"{name} = {value!r} is invalid: allowed {allowed}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} = {value!r} is invalid: allowed {allowed}") from None


def check_range(lo_name: str, lo, hi_name: str, hi) -> tuple[float, float]:
    """A finite interval lo < hi."""
    allowed = f"finite numbers with {lo_name} < {hi_name}"
    lo_f, hi_f = _to_float(lo_name, lo, allowed), _to_float(hi_name, hi, allowed)
    if not (np.isfinite(lo_f) and np.isfinite(hi_f) and lo_f < hi_f):
        raise ValueError(f"{lo_name} = {lo!r}, {hi_name} = {hi!r} are invalid: allowed "
                         f"finite values with {lo_name} < {hi_name}")
    return lo_f, hi_f


def check_positive(name: str, value, unit: str = "") -> float:
    """A finite number > 0."""
    v = _to_float(name, value, f"a finite number > 0 {unit}".rstrip())
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} = {value!r} is invalid: allowed > 0 {unit}".rstrip())
    return v


def check_nonneg(name: str, value, unit: str = "") -> float:
    """A finite number >= 0."""
    v = _to_float(name, value, f"a finite number >= 0 {unit}".rstrip())
    if not (np.isfinite(v) and v >= 0):
        raise ValueError(f"{name} = {value!r} is invalid: allowed >= 0 {unit}".rstrip())
    return v
