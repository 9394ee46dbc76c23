"""Quantizers of the periphery: query PWM, K/V write DAC, signed output counter.

Semantics (docs/design.md, and the paper's code): clip ``x`` to ``[lo, hi]``, then round to the
nearest point ``anchor + k * step`` of the grid with ``step = (hi - lo) / (levels - 1)``, ties
to even (``numpy.round``). The paper anchors every grid at zero; for the preset's signed
counter on [-1, 1] with 32 levels this reaches +-16 * 2/31 = +-32/31 (33 values), exactly as
the paper's model does. The PWM and the DAC anchor their grid at their lowest level ``lo`` (a
converter cannot emit a level outside its range); with ``lo = 0`` (the preset) this is the same
grid, bit for bit. ``levels=None`` means an ideal (unquantized, only clipped) converter.

:func:`grid` validates a converter's parameters once (cached per value) into a :class:`Grid`;
:func:`quantize_on` applies one to an array already checked, with the arithmetic of
:func:`quantize` (which, like :func:`pwm` and :func:`dac`, checks its input and then uses it).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from numba import njit

from gaincell._checks import as_finite, check_levels, check_range

__all__ = ["quantize", "quantize_codes", "quantizer_step", "pwm", "dac", "counter", "Grid",
           "grid", "quantize_on", "pwm_grid", "dac_grid"]


class Grid(NamedTuple):
    """A validated quantizer: clip to ``[lo, hi]``, round to ``anchor + k step`` (``step`` 0:
    clip only); the unit is the converter's (fraction of T_max, V, full scale)."""

    lo: float
    hi: float
    step: float
    anchor: float


def quantizer_step(lo: float, hi: float, levels: int | None) -> float:
    """Grid step ``(hi - lo) / (levels - 1)`` in the unit of ``lo``/``hi``; 0 when ideal."""
    lo, hi = check_range("lo", lo, "hi", hi)
    levels = check_levels("levels", levels)
    return 0.0 if levels is None else (hi - lo) / (levels - 1)


@njit(cache=True)
def _quantize_kernel(x, lo, hi, step, anchor, out):  # pragma: no cover - compiled
    flat_x = x.ravel()
    flat_o = out.ravel()
    for n in range(flat_x.size):
        v = min(max(flat_x[n], lo), hi)
        if step > 0.0:
            v = np.rint((v - anchor) / step) * step + anchor
        flat_o[n] = v


def grid(lo: float, hi: float, levels: int | None, anchor: float = 0.0) -> Grid:
    """The :class:`Grid` of a converter, its parameters validated once (``ValueError`` naming
    ``lo``, ``hi``, ``levels`` or ``anchor`` as :func:`quantize` does); cached per value."""
    try:
        return _grid(lo, hi, levels, anchor)
    except TypeError:   # unhashable (e.g. an array): validate without the cache (it raises)
        return _grid.__wrapped__(lo, hi, levels, anchor)


@functools.lru_cache(maxsize=256, typed=True)   # typed: True is refused, 1 is not
def _grid(lo, hi, levels, anchor) -> Grid:
    step = quantizer_step(lo, hi, levels)
    return Grid(float(lo), float(hi), step, float(as_finite("anchor", anchor)))


def quantize_on(a: np.ndarray, g: Grid) -> np.ndarray:
    """:func:`quantize` of an array already checked (finite float64; any layout) on a
    validated grid: the same arithmetic, without the checks (for per-token inner loops)."""
    a = np.ascontiguousarray(a)
    out = np.empty_like(a)
    _quantize_kernel(a, g.lo, g.hi, g.step, g.anchor, out)
    return out


def quantize(x, lo: float, hi: float, levels: int | None, anchor: float = 0.0) -> np.ndarray:
    """Clip ``x`` to ``[lo, hi]`` and round to the nearest ``anchor + k step`` (ties to even).

    Parameters
    ----------
    x : array_like
        Values in the converter's unit (fraction of T_max for the PWM, volts for the DAC,
        full scale for the counter). NaN or inf raise ``ValueError``.
    lo, hi : float
        Converter range, ``lo < hi``.
    levels : int or None
        Number of levels (>= 2); None clips only.
    anchor : float
        A grid point (0, the paper's convention, or ``lo``), in the unit of ``x``.

    Returns
    -------
    numpy.ndarray (float64), same shape as ``x``.
    """
    a = as_finite("x", x)
    return quantize_on(a, grid(lo, hi, levels, anchor))


def quantize_codes(x, lo: float, hi: float, levels: int) -> np.ndarray:
    """Integer DAC/PWM codes ``round((clip(x, lo, hi) - lo) / step)`` (int64), 0 .. levels - 1;
    the level is ``lo + code * step``."""
    levels = check_levels("levels", levels)
    if levels is None:
        raise ValueError("levels = None is invalid for codes: allowed an integer >= 2")
    a = as_finite("x", x)
    step = quantizer_step(lo, hi, levels)
    return np.round((np.clip(a, lo, hi) - lo) / step).astype(np.int64)


def pwm_grid(device) -> Grid:
    """The PWM generator's :class:`Grid` (fraction of ``device.t_max``)."""
    return grid(device.q_lo, device.q_hi, device.q_levels, device.q_lo)


def dac_grid(device) -> Grid:
    """The K/V DAC's :class:`Grid` (V)."""
    return grid(device.kv_lo, device.kv_hi, device.kv_levels, device.kv_lo)


def pwm(q, device) -> np.ndarray:
    """Query pulse widths (fraction of ``device.t_max``) after the PWM generator."""
    return quantize_on(as_finite("x", q), pwm_grid(device))


def dac(v, device) -> np.ndarray:
    """Stored voltages (V) written by the K/V DAC (before write noise and leakage)."""
    return quantize_on(as_finite("x", v), dac_grid(device))


def counter(x, device) -> np.ndarray:
    """Signed sub-array output (units of full scale) after the second-stage counter
    (zero-anchored grid, as the paper's model)."""
    return quantize(x, device.out_lo, device.out_hi, device.out_levels)
