"""Ideal (float, unquantized, leak-free) sliding-window attention, for error studies.

- :func:`softmax_attention`: the software model, ``softmax(q k^T / sqrt(D)) v`` over the
  window (any float inputs);
- :func:`hardsigmoid_attention`: the hardware's dataflow with ideal devices, in hardware units
  (q: pulse width in [0, 1] x T_max; k, v: stored voltages, V): a linear cell of gain ``g``
  (default: the device's linear gain, 19.3 uA/V in the preset), no leakage, no quantization, no
  per-sub-array clipping: ``phi = clip(g q.(k - V0) / S_sat1, 0, 1)``,
  ``y = sum_j phi_j g (v_j - V0) / S_fs2``, in the same units as
  :meth:`gaincell.GainCellAttention.forward` (units of one counter's full scale).
"""

from __future__ import annotations

import numbers

import numpy as np

from gaincell._checks import as_finite, check_positive
from gaincell.params import AttentionConfig

__all__ = ["window_mask", "softmax_attention", "hardsigmoid_attention"]


def window_mask(T: int, window: int) -> np.ndarray:
    """(T, T) bool: key j visible to query t when ``t - window < j <= t``."""
    window = int(window)
    t = np.arange(T)
    age = t[:, None] - t[None, :]
    return (age >= 0) & (age < window)


def _qkv(q, k, v):
    q, k, v = (as_finite(n, x) for n, x in (("q", q), ("k", k), ("v", v)))
    if q.ndim < 2 or not (q.shape == k.shape == v.shape):
        raise ValueError(f"q, k, v must share a shape (..., T, D), got {q.shape}, {k.shape}, "
                         f"{v.shape}")
    return q, k, v


def softmax_attention(q, k, v, window: int, scale: float | None = None) -> np.ndarray:
    """Softmax attention over a sliding window; ``scale`` defaults to 1/sqrt(D)."""
    q, k, v = _qkv(q, k, v)
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 1:
        raise ValueError(f"window = {window!r} is invalid: allowed an integer >= 1")
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else check_positive("scale", scale)
    s = (q @ np.swapaxes(k, -1, -2)) * scale
    m = window_mask(q.shape[-2], window)
    s = np.where(m, s, -np.inf)
    s = s - s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=-1, keepdims=True)
    return p @ v


def hardsigmoid_attention(q, k, v, cfg: AttentionConfig, gain_ua_per_v: float | None = None
                          ) -> np.ndarray:
    """The ideal-device counterpart of the hardware (see the module docstring)."""
    q, k, v = _qkv(q, k, v)
    if not isinstance(cfg, AttentionConfig):
        raise ValueError(f"cfg must be an AttentionConfig, got {type(cfg).__name__}")
    d = cfg.device
    g = d.linear_gain_ua_per_v if gain_ua_per_v is None else check_positive(
        "gain_ua_per_v", gain_ua_per_v, "uA/V")
    s = g * (q @ np.swapaxes(k - d.v_weight_zero, -1, -2))
    m = window_mask(q.shape[-2], cfg.window)
    phi = np.where(m, np.clip(s / d.stage1_sat_ua_tmax, 0.0, 1.0), 0.0)
    return (phi @ (g * (v - d.v_weight_zero))) / d.stage2_sat_ua_tmax
