"""Helpers shared by the torch-twin tests: inputs that reach past every converter range, and
the comparison of the twin with the simulator up to counter rounding ties."""

from __future__ import annotations

import numpy as np


def twin_inputs(rng, B, H, T, D):
    """(q, k, v) of shape (B, H, T, D): q as pulse widths (fraction of T_max) and k, v as
    voltages (V), a little outside the PWM / DAC ranges so that clipping is exercised."""
    return (rng.uniform(-0.1, 1.1, (B, H, T, D)), rng.uniform(-0.05, 0.95, (B, H, T, D)),
            rng.uniform(0.0, 0.9, (B, H, T, D)))


def assert_equal_but_ties(y, r, cfg, max_tie_fraction):
    """Equal to 1e-9, except rare counter rounding ties (at most ``max_tie_fraction`` of the
    outputs, each exactly one output step apart)."""
    diff = np.abs(y - r)
    bad = diff > 1e-9
    if cfg.device.out_levels is None:
        assert not bad.any(), diff.max()
        return
    step = (cfg.device.out_hi - cfg.device.out_lo) / (cfg.device.out_levels - 1)
    assert bad.mean() < max_tie_fraction
    np.testing.assert_allclose(diff[bad], step, atol=1e-9)
