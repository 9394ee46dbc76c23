"""Retention: the storage node relaxes exponentially toward a rest voltage.

``V(t) = V_rest + (V(0) - V_rest) exp(-t / tau)``. With ``V_rest = V0`` (the preset: VDD/2) the
signed weight simply decays, ``w(age) = w(0) d`` with ``d = exp(-age * dt / tau)`` for ``age``
token steps of period ``dt``; the paper's model uses ``dt / tau = 1.6e-4`` per token.
Per-cell retention spread is log-normal: ``ln tau_cell ~ N(ln tau, sigma^2)``.
"""

from __future__ import annotations

import numpy as np

from gaincell._checks import as_finite, check_nonneg, check_positive
from gaincell.device.noise import as_rng
from gaincell.params import leak_per_step_for

__all__ = ["leak_per_step", "decay_factor", "relax", "sample_tau"]


def leak_per_step(token_period: float, tau: float) -> float:
    """``dt / tau`` for a token period ``dt`` (s) and retention time constant ``tau`` (s).

    The decimal quotient of :func:`gaincell.params.leak_per_step_for` (800 ns / 5 ms gives
    1.6e-4 exactly); that function also takes a device and applies its temperature.
    """
    return leak_per_step_for(token_period, tau)


def decay_factor(age_steps, leak: float) -> np.ndarray:
    """Retained fraction ``exp(-age * leak)`` of the stored deviation after ``age`` steps.

    ``age_steps`` >= 0 (token steps, may be fractional), ``leak`` = dt / tau >= 0 (scalar or
    per-cell array broadcasting with ``age_steps``).
    """
    age = as_finite("age_steps", age_steps)
    lk = as_finite("leak", leak)
    if age.size and age.min() < 0:
        raise ValueError(f"age_steps has negative entries (min {age.min()!r}): allowed >= 0")
    if lk.size and lk.min() < 0:
        raise ValueError(f"leak has negative entries (min {lk.min()!r}): allowed >= 0")
    return np.exp(-age * lk)


def relax(v0, t, tau, v_rest: float) -> np.ndarray:
    """Stored voltage (V) after floating for ``t`` seconds from ``v0`` (V) with ``tau`` (s)."""
    v0 = as_finite("v0", v0)
    t = as_finite("t", t)
    tau = as_finite("tau", tau)
    if t.size and t.min() < 0:
        raise ValueError(f"t has negative entries (min {t.min()!r} s): allowed >= 0 s")
    if tau.size and tau.min() <= 0:
        raise ValueError(f"tau has non-positive entries (min {tau.min()!r} s): allowed > 0 s")
    v_rest = float(as_finite("v_rest", v_rest))
    return v_rest + (v0 - v_rest) * np.exp(-t / tau)


def sample_tau(shape, tau: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Per-cell time constants (s): log-normal around ``tau`` with ``sigma`` of ln(tau).

    ``sigma = 0`` returns ``tau`` everywhere without drawing from ``rng``.
    """
    tau = check_positive("tau", tau, "s")
    sigma = check_nonneg("sigma", sigma)
    if sigma == 0:
        return np.full(shape, tau)
    return tau * np.exp(sigma * as_rng(rng).standard_normal(shape))
