"""An independent NumPy transcription of the paper's attention model (DRAMAttention).

Written from docs/design.md's reference semantics, in the paper's own units (microamps, T_max),
deliberately naive: full T x T matrices, the decay mask in full precision, explicit loops
over sub-arrays. It shares no code with gaincell.
"""

import numpy as np

C_UA = np.array([
    [0.17393044, 0.15653739, 0.14088365, 0.12679529],
    [5.51975209, 4.96777688, 4.4709992, 0.0],
    [-1.44776001, -1.30298401, 0.0, 0.0],
    [46.05483778, 0.0, 0.0, 0.0],
])


def quantize(x, lo, hi, levels):
    x = np.clip(x, lo, hi)
    if levels is None:
        return x
    step = (hi - lo) / (levels - 1)
    return np.round(x / step) * step


def paper_attention(q, k, v, window=1024, q_levels=16, kv_levels=8, out_levels=32,
                    leak=1.6e-4, array_len=64, a=None, sat1=80.0, sat2=40.0):
    """q, k, v: (B, H, T, D) -> (B, H, T, D), the paper's model with a ring buffer."""
    if a is None:
        a = np.array([sum(C_UA[i, j] * 0.9**j for j in range(4 - i)) for i in range(4)])
    q = quantize(q, 0.0, 1.0, q_levels)
    wk = quantize(k, 0.0, 0.9, kv_levels) - 0.45
    wv = quantize(v, 0.0, 0.9, kv_levels) - 0.45
    B, H, T, D = q.shape
    t = np.arange(T)[:, None]
    j = np.arange(T)[None, :]
    age = t - j
    inside = (age >= 0) & (age < window)
    decay = np.where(inside, np.exp(-np.where(inside, age, 0) * leak), 0.0)
    S = sum(a[i] * decay**i * (q @ np.swapaxes(wk**i, -1, -2)) for i in range(4))
    S = np.where(inside, S, 0.0)
    phi = np.clip(S / sat1, 0.0, 1.0)
    groups = (np.arange(T) % window) // array_len
    out = np.zeros((B, H, T, D))
    for g in range(window // array_len):
        sel = groups == g
        A = sum(a[i] * (phi[..., sel] * decay[:, sel] ** i) @ (wv[..., sel, :] ** i)
                for i in range(4))
        out += quantize(A / sat2, -1.0, 1.0, out_levels)
    return out
