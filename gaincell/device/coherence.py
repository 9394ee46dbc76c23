"""Coherence checks of a design: do the converters fit the cell's current range?

A design whose converter saturation charges do not match its cell simulates without error
and gives useless numbers: a cell four times weaker than the paper's moves the output counter
by one or two steps; a much stronger one saturates every first-stage pulse. These checks
estimate, for *typical inputs* (query pulse widths uniform over the PWM range, keys and values
uniform over the DAC range; no leakage, no quantization), how the two stages are used:

- the fraction of the first-stage reads that fire (``S = sum_r q_r I(w_r) T_max > 0``, over
  ``head_dim`` rows) at or above the saturation charge ``stage1_q_sat``; more than half is a
  warning (with signed weights about half of all reads do not fire whatever the cell);
- the number of output-counter levels spanned by the 1st to 99th percentile of a
  sub-array's second-stage charge ``A = sum_j phi_j I(w_v,j) T_max`` (over ``array_cols``
  columns) in units of ``stage2_q_sat``; fewer than a quarter of ``out_levels`` is a warning.

The estimate is a seeded Monte Carlo of a few thousand reads (milliseconds); real model
inputs differ from uniform ones, so a warning is a prompt to look, not a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gaincell.device.transfer import CellTransfer
from gaincell.params import AttentionConfig

__all__ = ["DesignUsage", "design_usage", "design_warnings"]

#: Warn when more than this fraction of typical first-stage reads saturate.
STAGE1_SATURATED_MAX = 0.5
#: Warn when typical second-stage charges span fewer than this fraction of the counter levels.
COUNTER_LEVELS_MIN_FRACTION = 0.25


@dataclass(frozen=True)
class DesignUsage:
    """How typical inputs use the two stages of a design (see the module docstring).

    Attributes
    ----------
    stage1_saturated : float
        Fraction of the first-stage reads that fire (S > 0) at or above ``stage1_q_sat``, in
        [0, 1].
    stage1_median_phi : float
        Median first-stage pulse width, fraction of T_max.
    counter_levels_used : float or None
        Counter levels spanned by the 1st-99th percentile of a sub-array's second-stage
        charge (None for an analog counter).
    counter_levels : int or None
        ``out_levels`` of the design.
    """

    stage1_saturated: float
    stage1_median_phi: float
    counter_levels_used: float | None
    counter_levels: int | None


def design_usage(cfg: AttentionConfig, n_reads: int = 4096, seed: int = 0) -> DesignUsage:
    """Estimate how typical inputs use the converters of ``cfg`` (seeded Monte Carlo)."""
    if not isinstance(cfg, AttentionConfig):
        raise ValueError(f"cfg must be an AttentionConfig, got {type(cfg).__name__}")
    d = cfg.device
    rng = np.random.default_rng(seed)
    tr = CellTransfer(d)
    q = rng.uniform(d.q_lo, d.q_hi, (n_reads, cfg.head_dim))
    i_k = tr.read_current(rng.uniform(d.kv_lo, d.kv_hi, (n_reads, cfg.head_dim)))
    s1 = (q * i_k).sum(axis=1) * d.t_max                      # C
    phi = np.clip(s1 / d.stage1_q_sat, 0.0, 1.0)
    n2 = max(256, n_reads // 8)
    cols = rng.integers(0, n_reads, (n2, cfg.array_cols))
    i_v = tr.read_current(rng.uniform(d.kv_lo, d.kv_hi, (n2, cfg.array_cols)))
    a = (phi[cols] * i_v).sum(axis=1) * d.t_max / d.stage2_q_sat   # units of full scale
    used = None
    if d.out_levels is not None:
        step = (d.out_hi - d.out_lo) / (d.out_levels - 1)
        lo, hi = np.clip(np.percentile(a, [1, 99]), d.out_lo, d.out_hi)
        used = float((hi - lo) / step + 1.0)
    fired = s1 > 0
    sat = float(np.mean(s1[fired] >= d.stage1_q_sat)) if fired.any() else 0.0
    return DesignUsage(sat, float(np.median(phi)), used, d.out_levels)


def design_warnings(cfg: AttentionConfig, seed: int = 0) -> list[str]:
    """Plain-language warnings when the converters do not fit the cell (empty if they do)."""
    u = design_usage(cfg, seed=seed)
    d = cfg.device
    out = []
    if u.stage1_saturated > STAGE1_SATURATED_MAX:
        out.append(f"the first stage saturates for {100 * u.stage1_saturated:.0f} % of the "
                   f"typical reads that fire (stage1_q_sat = {d.stage1_q_sat:.3g} C is small "
                   f"for this cell's current range): most attention scores clip to 1")
    if u.counter_levels_used is not None and \
            u.counter_levels_used < COUNTER_LEVELS_MIN_FRACTION * d.out_levels:
        out.append(f"typical outputs span {u.counter_levels_used:.1f} of the {d.out_levels} "
                   f"counter levels (stage2_q_sat = {d.stage2_q_sat:.3g} C is large for this "
                   f"cell's current range): the output is quantized to a few steps")
    return out
