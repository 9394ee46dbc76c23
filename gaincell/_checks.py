"""Input checks, the one family every layer uses: clear ValueErrors, never a silent NaN.

Every error reads ``NAME = VALUE is invalid: allowed ALLOWED`` (``NAME`` as the caller gives it:
``DeviceParams.tau``, ``design.toml: [system] n_layers``, ``levels``). The rules are the same
everywhere: a real number is a real Python or NumPy scalar, never a bool, a string or an array
(a 0-d array in a parameter would make it unhashable), and finite; an integer is a Python or
NumPy integer, never a bool.
"""

from __future__ import annotations

import numbers
from typing import Any, NoReturn

import numpy as np

__all__ = ["as_finite", "as_real", "check_choice", "check_levels", "check_nonneg",
           "check_number", "check_positive", "check_range", "fail", "is_int", "real_or_none"]

#: Largest quantizer level count (16-bit converters).
MAX_LEVELS = 2**16


def fail(name: str, value: Any, allowed: str) -> NoReturn:
    """Raise the family's ``ValueError``: ``name = value is invalid: allowed ...``."""
    raise ValueError(f"{name} = {value!r} is invalid: allowed {allowed}")


def is_int(value: Any) -> bool:
    """An integer, Python or NumPy (``np.int64``), but not a bool (``True``; ``np.bool_`` is
    not an ``Integral`` either)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def real_or_none(value: Any) -> float | None:
    """``value`` as a float when it is a real number (not a bool, not a string), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    return None


def as_real(name: str, value: Any, allowed: str = "a finite real number") -> float:
    """``value`` as a finite float; the family's error (with ``allowed``) otherwise."""
    v = real_or_none(value)
    if v is None or not np.isfinite(v):
        fail(name, value, allowed)
    return v


def check_number(name: str, value: Any, lo: float | None = None, hi: float | None = None,
                 unit: str = "", *, lo_open: bool = False, hi_open: bool = False,
                 integer: bool = False, allowed: str | None = None) -> Any:
    """A finite real number (an integer when ``integer``) in the interval from ``lo`` to
    ``hi`` (None: unbounded; ``lo_open``/``hi_open`` exclude the bound); returns it as a
    float (an int). ``allowed`` replaces the generated description in the message."""
    if allowed is None:
        kind = "an integer" if integer else "a real number"
        if lo is None and hi is None:
            allowed = f"{kind} {unit}".rstrip() if integer else f"a finite real number {unit}"
        else:
            left = "(-inf" if lo is None else ("(" if lo_open else "[") + str(lo)
            right = "inf)" if hi is None else str(hi) + (")" if hi_open else "]")
            allowed = f"{kind} in {left}, {right} {unit}"
        allowed = allowed.rstrip()
    if integer and not is_int(value):
        fail(name, value, allowed)
    v = as_real(name, value, allowed)
    if (lo is not None and (v < lo or (lo_open and v == lo))) or \
            (hi is not None and (v > hi or (hi_open and v == hi))):
        fail(name, value, allowed)
    return int(value) if integer else v


def check_positive(name: str, value: Any, unit: str = "") -> float:
    """A finite number > 0."""
    return check_number(name, value, 0.0, None, unit, lo_open=True,
                        allowed=f"> 0 {unit}".rstrip())


def check_nonneg(name: str, value: Any, unit: str = "") -> float:
    """A finite number >= 0."""
    return check_number(name, value, 0.0, None, unit, allowed=f">= 0 {unit}".rstrip())


def check_levels(name: str, levels: Any) -> int | None:
    """Quantizer level count: an integer in [2, 65536], or None for no quantization."""
    if levels is None:
        return None
    return check_number(name, levels, 2, MAX_LEVELS, integer=True,
                        allowed=f"an integer in [2, {MAX_LEVELS}] or None (no quantization)")


def check_range(lo_name: str, lo: Any, hi_name: str, hi: Any) -> tuple[float, float]:
    """A finite interval lo < hi."""
    allowed = f"finite numbers with {lo_name} < {hi_name}"
    lo_f, hi_f = as_real(lo_name, lo, allowed), as_real(hi_name, hi, allowed)
    if not lo_f < hi_f:
        raise ValueError(f"{lo_name} = {lo!r}, {hi_name} = {hi!r} are invalid: allowed "
                         f"finite values with {lo_name} < {hi_name}")
    return lo_f, hi_f


def check_choice(name: str, value: Any, choices) -> Any:
    """One of ``choices`` (strings or other constants)."""
    if not any(type(value) is type(c) and value == c for c in choices):
        fail(name, value, ", ".join(repr(c) for c in choices))
    return value


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
