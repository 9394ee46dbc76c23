"""Ideal (float, unquantized, leak-free) sliding-window attention, for error studies.

- :func:`softmax_attention`: the software model, ``softmax(q k^T / sqrt(D)) v`` over the
  window (any float inputs);
- :func:`hardsigmoid_attention`: the hardware's dataflow with ideal devices, in hardware units
  (q: pulse width in [0, 1] x T_max; k, v: stored voltages, V): a linear cell of gain ``g``
  (default: the device's linear gain, 19.3 uA/V in the preset), no leakage, no quantization, no
  per-sub-array clipping: ``phi = clip(g q.(k - V0) / S_sat1, 0, 1)``,
  ``y = sum_j phi_j g (v_j - V0) / S_fs2``, in the same units as
  :meth:`gaincell.GainCellAttention.forward` (units of one counter's full scale).

Both work in blocks of queries against the keys inside their window, so that memory grows
linearly with the number of tokens T (a block holds ``(..., 64, 64 + window)`` scores), never
with T^2.
"""

from __future__ import annotations

import numbers

import numpy as np

from gaincell._checks import as_finite, check_positive
from gaincell.params import AttentionConfig

__all__ = ["window_mask", "softmax_attention", "hardsigmoid_attention"]


_Q_BLOCK = 64  # queries per block


def window_mask(T: int, window: int) -> np.ndarray:
    """(T, T) bool: key j visible to query t when ``t - window < j <= t`` (dense: for small
    T; the attention functions below never build it)."""
    window = int(window)
    t = np.arange(T)
    age = t[:, None] - t[None, :]
    return (age >= 0) & (age < window)


def _qkv(q, k, v):
    for n, x in (("q", q), ("k", k), ("v", v)):
        if np.iscomplexobj(x):
            raise ValueError(f"{n} is complex: allowed a real array (..., T, D)")
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
    out = np.empty(q.shape)
    for t0, t1, j0, inside in _blocks(q.shape[-2], int(window)):
        s = (q[..., t0:t1, :] @ np.swapaxes(k[..., j0:t1, :], -1, -2)) * scale
        s = np.where(inside, s, -np.inf)
        s = s - s.max(axis=-1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=-1, keepdims=True)
        out[..., t0:t1, :] = p @ v[..., j0:t1, :]
    return out


def _blocks(T: int, window: int):
    """Query blocks [t0, t1) with their first key j0 and the (t1 - t0, t1 - j0) mask of the
    keys inside each query's window."""
    for t0 in range(0, T, _Q_BLOCK):
        t1 = min(T, t0 + _Q_BLOCK)
        j0 = max(0, t0 - window + 1)
        age = np.arange(t0, t1)[:, None] - np.arange(j0, t1)[None, :]
        yield t0, t1, j0, (age >= 0) & (age < window)


def hardsigmoid_attention(q, k, v, cfg: AttentionConfig, gain_ua_per_v: float | None = None
                          ) -> np.ndarray:
    """The ideal-device counterpart of the hardware (see the module docstring)."""
    q, k, v = _qkv(q, k, v)
    if not isinstance(cfg, AttentionConfig):
        raise ValueError(f"cfg must be an AttentionConfig, got {type(cfg).__name__}")
    d = cfg.device
    g = d.linear_gain_ua_per_v if gain_ua_per_v is None else check_positive(
        "gain_ua_per_v", gain_ua_per_v, "uA/V")
    out = np.empty(q.shape)
    for t0, t1, j0, inside in _blocks(q.shape[-2], cfg.window):
        s = g * (q[..., t0:t1, :] @ np.swapaxes(k[..., j0:t1, :] - d.v_weight_zero, -1, -2))
        phi = np.where(inside, np.clip(s / d.stage1_sat_ua_tmax, 0.0, 1.0), 0.0)
        out[..., t0:t1, :] = (phi @ (g * (v[..., j0:t1, :] - d.v_weight_zero))
                              ) / d.stage2_sat_ua_tmax
    return out
