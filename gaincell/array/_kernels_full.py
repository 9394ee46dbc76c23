"""Numba kernels of the fast engine for every device option (the non-preset path).

One kernel, :func:`run_tokens`, writes a block of consecutive tokens into the ring buffer and
reads each of them, head by head (heads in parallel, tokens in order), with any cell model
(polynomial or table), any rest voltage, per-cell gain and retention mismatch, read noise on
both stages and comparator offsets on both stages. Write noise is already in the stored
values, and read noise arrives as arrays (:mod:`gaincell.array._draws`), so a head's numbers
do not depend on the thread count, and ``forward`` (blocks of tokens) equals ``step``
(blocks of one) bit for bit.

Units as in :mod:`gaincell.array._design`. Its NumPy twin is the reference engine
(``gaincell/array/_reference.py``); ``tests/test_array_engines.py`` holds them equal.

The small structs:

``Plan`` (scalars): window ``W``, ``cols`` per sub-array, ``scale``/``lo`` decoding a stored
value x to the voltage ``x * scale + lo`` (V), ``v_rest`` (V), ``c0 = v_rest - v_weight_zero``
(V), ``sat1``/``sat2`` (uA x T_max), the counter's ``out_lo``/``out_hi``/``out_step`` and
saturation limit ``lim`` (full scale), and the flags ``is_lut``, ``has_gain``, ``has_tau``,
``has_off``, ``has_read``.

``Cell``: ``a`` (4,) cubic coefficients, uA / V^i, or the lookup table ``lut`` (uA) on the
grid ``w0 + k dw`` (V).

``Chip`` (arrays; a (1, 1, 1) dummy where absent): ``gain_k``, ``gain_v``, ``leak_k``,
``leak_v`` (H, W, D) float32, ``off1`` (H, W), ``off2`` (H, G, D).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, prange

__all__ = ["Plan", "Cell", "Chip", "run_tokens"]

Plan = namedtuple("Plan", ["W", "cols", "scale", "lo", "v_rest", "c0", "sat1", "sat2",
                           "out_lo", "out_hi", "out_step", "lim", "is_lut", "has_gain",
                           "has_tau", "has_off", "has_read"])
Cell = namedtuple("Cell", ["a", "lut", "w0", "dw"])
Chip = namedtuple("Chip", ["gain_k", "gain_v", "leak_k", "leak_v", "off1", "off2"])

_FM = {"reassoc", "contract", "nsz", "arcp"}  # no nnan/ninf: inputs are validated finite


@njit(cache=True, inline="always")
def _current(P, cell, w):  # pragma: no cover - compiled
    """I(w) in uA: the cubic, or linear interpolation on the table (clamped at its ends)."""
    if P.is_lut:
        lut = cell.lut
        n = lut.size
        u = (w - cell.w0) / cell.dw
        if u <= 0.0:
            return lut[0]
        if u >= n - 1:
            return lut[n - 1]
        k = int(u)
        f = u - k
        return lut[k] + f * (lut[k + 1] - lut[k])
    a = cell.a
    return a[0] + w * (a[1] + w * (a[2] + w * a[3]))


@njit(cache=True, inline="always")
def _cell(P, cell, x, dec):  # pragma: no cover - compiled
    """Current of a cell storing x (a code or a voltage) whose deviation from v_rest has
    decayed by ``dec``."""
    return _current(P, cell, P.c0 + ((x * P.scale + P.lo) - P.v_rest) * dec)


@njit(cache=True, inline="always")
def _quant(x, lo, hi, step):  # pragma: no cover - compiled
    x = min(max(x, lo), hi)
    if step > 0.0:
        x = np.rint(x / step) * step
    return x


@njit(cache=True, fastmath=_FM)
def _read_head(P, cell, chip, h, dtab, t, q, kb, vb, n1, n2, y, S, phi, sub, acc, stats):
    # pragma: no cover - compiled
    """Read token t (already written) of one head: q (D,), kb/vb (W, D) ring buffer, n1 (W,)
    and n2 (G, D) read noise; writes y (D,), S/phi (W,), sub (G, D); adds to stats (4,):
    k_abs, v_abs, saturated first-stage pulses, saturated counters."""
    W, D = kb.shape
    cols = P.cols
    G = W // cols
    kabs = 0.0
    for s in range(W):
        age = (t - s) % W
        if t - age < 0:           # slot never written
            S[s] = 0.0
            phi[s] = 0.0
            continue
        dec = dtab[age]
        acc1 = 0.0
        for r in range(D):
            dd = np.exp(-age * chip.leak_k[h, s, r]) if P.has_tau else dec
            i = _cell(P, cell, kb[s, r], dd)
            if P.has_gain:
                i *= chip.gain_k[h, s, r]
            acc1 += q[r] * i
            kabs += q[r] * abs(i)
        if P.has_read:
            acc1 += n1[s]
        S[s] = acc1
        if P.has_off:
            acc1 -= chip.off1[h, s]
        p = min(max(acc1 / P.sat1, 0.0), 1.0)
        phi[s] = p
        if p >= 1.0:
            stats[2] += 1.0
    vabs = 0.0
    for r in range(D):
        y[r] = 0.0
    for g in range(G):
        for r in range(D):
            acc[r] = 0.0
        for c in range(g * cols, (g + 1) * cols):
            p = phi[c]
            if p == 0.0:
                continue
            age = (t - c) % W
            dec = dtab[age]
            for r in range(D):
                dd = np.exp(-age * chip.leak_v[h, c, r]) if P.has_tau else dec
                i = _cell(P, cell, vb[c, r], dd)
                if P.has_gain:
                    i *= chip.gain_v[h, c, r]
                acc[r] += p * i
                vabs += p * abs(i)
        for r in range(D):
            a = acc[r]
            if P.has_read:
                a += n2[g, r]
            if P.has_off:
                a -= chip.off2[h, g, r]
            o = _quant(a / P.sat2, P.out_lo, P.out_hi, P.out_step)
            sub[g, r] = o
            y[r] += o
            if abs(o) >= P.lim:
                stats[3] += 1.0
    stats[0] += kabs
    stats[1] += vabs


@njit(cache=True, parallel=True)
def run_tokens(P, cell, chip, dtab, t0, qq, ks, vs, kbuf, vbuf, n1, n2, keep, y, S_out,
               phi_out, sub_out, stats):  # pragma: no cover - compiled
    """Write and read tokens ``t0 .. t0 + n - 1`` of every (batch, head), heads in parallel.

    qq (B,H,n,D) pulses; ks, vs (B,H,n,D) stored values; kbuf, vbuf (B,H,W,D) the ring
    buffer (updated); n1 (n,B,H,W), n2 (n,B,H,G,D) read noise (read only when
    ``P.has_read``). Writes y (B,H,n,D) and, at token index i if ``keep`` else 0, the charges
    S_out and pulses phi_out (B,H,n|1,W) and the sub-array outputs sub_out (B,H,n|1,G,D);
    adds to stats (B,H,4).
    """
    B, H, n, D = qq.shape
    W = kbuf.shape[2]
    for bh in prange(B * H):
        b = bh // H
        h = bh - b * H
        acc = np.empty(D)
        for i in range(n):
            t = t0 + i
            slot = t % W
            for r in range(D):
                kbuf[b, h, slot, r] = ks[b, h, i, r]
                vbuf[b, h, slot, r] = vs[b, h, i, r]
            o = i if keep else 0
            if P.has_read:
                _read_head(P, cell, chip, h, dtab, t, qq[b, h, i], kbuf[b, h], vbuf[b, h],
                           n1[i, b, h], n2[i, b, h], y[b, h, i], S_out[b, h, o],
                           phi_out[b, h, o], sub_out[b, h, o], acc, stats[b, h])
            else:
                _read_head(P, cell, chip, h, dtab, t, qq[b, h, i], kbuf[b, h], vbuf[b, h],
                           n1[0, 0, 0], n2[0, 0, 0], y[b, h, i], S_out[b, h, o],
                           phi_out[b, h, o], sub_out[b, h, o], acc, stats[b, h])
