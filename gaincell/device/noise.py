"""Noise and mismatch, all drawn from a caller's ``numpy.random.Generator`` (seeded).

- read noise: additive Gaussian on every bit-line charge, C, drawn anew at each read;
- write noise: additive Gaussian on the stored voltage at write time, V, then held within
  the rails [0, VDD] (the storage node cannot leave them);
- comparator offset: static Gaussian input-referred offset per charge-to-pulse converter, C;
- gain mismatch: static per-cell multiplicative spread of the read current, ``1 + N(0, s)``.
A sigma of 0 returns the input (or zeros/ones) without consuming random numbers.
"""

from __future__ import annotations

import numbers

import numpy as np

from gaincell._checks import as_finite, check_nonneg

__all__ = ["as_rng", "add_read_noise", "add_write_noise", "comparator_offsets",
           "gain_mismatch"]


def as_rng(seed) -> np.random.Generator:
    """A Generator from ``None``, an int seed, a SeedSequence or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(seed, numbers.Integral) and seed < 0:
            raise ValueError(f"seed = {seed!r} is invalid: allowed an integer >= 0")
        return np.random.default_rng(seed)
    raise ValueError(f"seed = {seed!r} is invalid: allowed None, an integer >= 0, a "
                     f"SeedSequence or a numpy Generator")


def add_read_noise(charge, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """``charge + N(0, sigma^2)`` (sigma in the unit of charge, C in SI)."""
    q = as_finite("charge", charge)
    if check_nonneg("sigma", sigma) == 0:
        return q.copy()
    return q + sigma * rng.standard_normal(q.shape)


def add_write_noise(v, sigma: float, rng: np.random.Generator, vdd: float = 0.9) -> np.ndarray:
    """Stored voltage after write noise: ``clip(v + N(0, sigma^2), 0, vdd)`` (V)."""
    v = as_finite("v", v)
    if check_nonneg("sigma", sigma, "V") == 0:
        return v.copy()
    return np.clip(v + sigma * rng.standard_normal(v.shape), 0.0, vdd)


def comparator_offsets(shape, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Static input-referred offsets of ``shape`` comparators (unit of ``sigma``, C in SI)."""
    if check_nonneg("sigma", sigma, "C") == 0:
        return np.zeros(shape)
    return sigma * rng.standard_normal(shape)


def gain_mismatch(shape, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Per-cell current multipliers ``1 + N(0, sigma^2)``, floored at 0 (a cell cannot
    invert its sign)."""
    if check_nonneg("sigma", sigma) == 0:
        return np.ones(shape)
    return np.maximum(1.0 + sigma * rng.standard_normal(shape), 0.0)
