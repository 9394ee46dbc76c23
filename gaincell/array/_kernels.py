"""Numba kernels of the attention engine (the polynomial-cell fast path).

Internal units: currents in microamps, pulse widths in units of T_max, charges in
uA x T_max (the paper's units: the first stage saturates at 80, the second at 40).
Stored values arrive as ``store`` arrays (uint8 DAC codes or float64 voltages) that decode to
the signed weight ``w = store * scale - offset`` (V): for codes ``scale`` is the DAC step and
``offset`` is V0; for voltages ``scale = 1``. With the DAC's ``code * step`` equal to the
quantized voltage bit for bit, the decoded w equals the paper's ``K_q - 0.45`` exactly.

Each kernel has a plain NumPy twin in ``tests/test_array_kernels.py``.
"""

from __future__ import annotations

import types
from collections import namedtuple

import numpy as np
from numba import njit, prange

#: Scalars of a streaming read: stored value -> weight ``w = x * scale - offset`` (V), the
#: saturation charges ``sat1``/``sat2`` (uA x T_max), ``cols`` per sub-array and the counter's
#: ``out_lo``/``out_hi``/``out_step`` (full scale).
Read = namedtuple("Read", ["scale", "offset", "sat1", "sat2", "cols", "out_lo", "out_hi",
                           "out_step"])

_FM = {"reassoc", "contract", "nsz", "arcp"}  # no nnan/ninf: inputs are validated finite


@njit(cache=True, inline="always")
def _quant(x, lo, hi, step):  # pragma: no cover - compiled
    x = min(max(x, lo), hi)
    if step > 0.0:
        x = np.rint(x / step) * step
    return x


@njit(cache=True, fastmath=_FM)
def _step_head(q, ks, vs, scale, offset, sat1, sat2, cols, out_lo, out_hi, out_step,
               e0, e1, e2, e3, a0, y, s_out, phi_out, sub_out):  # pragma: no cover
    """One head: q (D,), ks/vs (W,D) stored, the :data:`Read` scalars unpacked (a struct
    passed into this inner loop costs 1.6x in Numba); writes y (D,), s_out/phi_out (W,),
    sub (G,D).

    ``e_i[s] = a_i d_s^i`` folds the cubic's coefficient with slot s's decay; all four are 0
    for an empty slot, whose column then carries no charge.
    """
    W, D = ks.shape
    sq = 0.0
    for r in range(D):
        sq += q[r]
    for s in range(W):
        kr = ks[s]
        acc1 = 0.0
        acc2 = 0.0
        acc3 = 0.0
        for r in range(D):
            w = kr[r] * scale - offset
            qw = q[r] * w
            qw2 = qw * w
            acc1 += qw
            acc2 += qw2
            acc3 += qw2 * w
        s_out[s] = e0[s] * sq + e1[s] * acc1 + e2[s] * acc2 + e3[s] * acc3
    _stage2(vs, scale, offset, sat1, sat2, cols, out_lo, out_hi, out_step, e1, e2, e3, a0, y,
            s_out, phi_out, sub_out)


@njit(cache=True, fastmath=_FM, inline="always")
def _stage2(vs, scale, offset, sat1, sat2, cols, out_lo, out_hi, out_step, e1, e2, e3, a0, y,
            s_out, phi_out, sub_out):  # pragma: no cover - compiled
    """The pulses phi = clip(S / sat1, 0, 1) of a head's charges s_out (W,) and its second
    stage: per sub-array the V array's charges, the signed counters (sub_out (G,D)) and
    their digital sum y (D,) (the rest as :func:`_step_head`)."""
    W, D = vs.shape
    G = W // cols
    for s in range(W):
        phi_out[s] = min(max(s_out[s] / sat1, 0.0), 1.0)
    for r in range(D):
        y[r] = 0.0
    acc = np.empty(D)
    for g in range(G):
        for r in range(D):
            acc[r] = 0.0
        for s in range(g * cols, (g + 1) * cols):
            p = phi_out[s]
            if p == 0.0:
                continue
            b0 = p * a0
            b1 = p * e1[s]
            b2 = p * e2[s]
            b3 = p * e3[s]
            vr = vs[s]
            for r in range(D):
                w = vr[r] * scale - offset
                acc[r] += b0 + w * (b1 + w * (b2 + w * b3))
        for r in range(D):
            o = _quant(acc[r] / sat2, out_lo, out_hi, out_step)
            sub_out[g, r] = o
            y[r] += o


@njit(cache=True, fastmath=_FM)
def _step_head_codes(q, m, qstep, coef, ks, vs, scale, offset, sat1, sat2, cols, out_lo,
                     out_hi, out_step, e0, e1, e2, e3, a0, y, s_out, phi_out, sub_out):
    # pragma: no cover - compiled
    """:func:`_step_head` with the first stage in exact integer arithmetic: q (D,) the
    pulses, m (D,) float32 their PWM codes (q = m qstep), ks (W,D) uint8 DAC codes c.

    G_k = sum_r m_r c_r^k (k = 1..3) is a sum of integers below 2^24 (the caller checks
    ``D (q_levels - 1) (kv_levels - 1)^3 < 2^24``), exact in float32 in any order; then
    q . w^i = qstep sum_k coef[i-1, k] G_k (``coef`` and the arithmetic of
    :func:`powers_from_codes`, the batched engine's). The second stage is :func:`_step_head`'s.
    """
    W, D = ks.shape
    sq = 0.0
    g0 = 0.0
    for r in range(D):
        sq += q[r]
        g0 += np.float64(m[r])
    gk = np.empty((3, W), np.float32)
    for s in range(W):
        kr = ks[s]
        g1 = np.float32(0.0)
        g2 = np.float32(0.0)
        g3 = np.float32(0.0)
        for r in range(D):
            c = np.float32(kr[r])
            mc = m[r] * c
            mc2 = mc * c
            g1 += mc
            g2 += mc2
            g3 += mc2 * c
        gk[0, s] = g1
        gk[1, s] = g2
        gk[2, s] = g3
    # per-slot constants (a second loop over the slots, so that it vectorizes too)
    c10, c20, c30 = coef[0, 0] * g0, coef[1, 0] * g0, coef[2, 0] * g0
    c11, c21, c31 = coef[0, 1], coef[1, 1], coef[2, 1]
    c12, c22, c32 = coef[0, 2], coef[1, 2], coef[2, 2]
    c13, c23, c33 = coef[0, 3], coef[1, 3], coef[2, 3]
    for s in range(W):
        f1 = np.float64(gk[0, s])
        f2 = np.float64(gk[1, s])
        f3 = np.float64(gk[2, s])
        p1 = qstep * (c10 + c11 * f1 + c12 * f2 + c13 * f3)
        p2 = qstep * (c20 + c21 * f1 + c22 * f2 + c23 * f3)
        p3 = qstep * (c30 + c31 * f1 + c32 * f2 + c33 * f3)
        s_out[s] = e0[s] * sq + e1[s] * p1 + e2[s] * p2 + e3[s] * p3
    _stage2(vs, scale, offset, sat1, sat2, cols, out_lo, out_hi, out_step, e1, e2, e3, a0, y,
            s_out, phi_out, sub_out)


@njit(cache=True, parallel=True)
def step_poly(q, kst, vst, slot_token, t_now, dtab, a, R, y, s_out, phi_out, sub_out):
    # pragma: no cover - compiled
    """One query read of every (batch, head) against the ring buffer.

    q (B,H,D) pulse widths; kst/vst (B,H,W,D) stored; slot_token (W,) token index held by
    each slot (-1 empty), t_now the current token; dtab (W,4) decay powers d^i by age; a (4,)
    cubic in uA/V^i; R the scalars (:data:`Read`). Writes y (B,H,D), S and phi per slot
    (B,H,W) and per-sub-array outputs (B,H,G,D).
    """
    B, H, W = kst.shape[0], kst.shape[1], kst.shape[2]
    e0 = np.zeros(W)
    e1 = np.zeros(W)
    e2 = np.zeros(W)
    e3 = np.zeros(W)
    for s in range(W):
        if slot_token[s] >= 0:
            age = t_now - slot_token[s]
            e0[s] = a[0]
            e1[s] = a[1] * dtab[age, 1]
            e2[s] = a[2] * dtab[age, 2]
            e3[s] = a[3] * dtab[age, 3]
    for bh in prange(B * H):
        b = bh // H
        h = bh - b * H
        _step_head(q[b, h], kst[b, h], vst[b, h], R.scale, R.offset, R.sat1, R.sat2, R.cols,
                   R.out_lo, R.out_hi, R.out_step, e0, e1, e2, e3, a[0], y[b, h],
                   s_out[b, h], phi_out[b, h], sub_out[b, h])


@njit(cache=True, nogil=True, fastmath=_FM)
def stage1_block(P, sumq, t0, k0, W, dpow, a, sat1, S, phi, E):  # pragma: no cover
    """First stage of a block of queries against a block of keys (batched forward).

    P (3,Tq,K): q . w^i for i = 1..3 (queries t0.., keys k0..); sumq (Tq,); dpow (W,4) decay
    powers by age. Writes the charges S (Tq,K) (uA x T_max), the pulses phi (Tq,K) and the
    second-stage row drives E (nb, Tq, 3 cols) laid out for one matmul per key block of
    ``cols = K / nb`` keys: E[j // cols, t, (i-1) cols + j % cols] = phi a_i d^i. Keys outside
    the window (age < 0 or >= W) hold nothing: S = phi = E = 0.
    """
    Tq = P.shape[1]
    K = P.shape[2]
    cols = K // E.shape[0]
    for t in range(Tq):
        tt = t0 + t
        for j in range(K):
            age = tt - (k0 + j)
            blk = j // cols
            jj = j - blk * cols
            if age < 0 or age >= W:
                S[t, j] = 0.0
                phi[t, j] = 0.0
                E[blk, t, jj] = 0.0
                E[blk, t, cols + jj] = 0.0
                E[blk, t, 2 * cols + jj] = 0.0
                continue
            s = a[0] * sumq[t] + a[1] * dpow[age, 1] * P[0, t, j] \
                + a[2] * dpow[age, 2] * P[1, t, j] + a[3] * dpow[age, 3] * P[2, t, j]
            p = min(max(s / sat1, 0.0), 1.0)
            S[t, j] = s
            phi[t, j] = p
            E[blk, t, jj] = p * a[1] * dpow[age, 1]
            E[blk, t, cols + jj] = p * a[2] * dpow[age, 2]
            E[blk, t, 2 * cols + jj] = p * a[3] * dpow[age, 3]


@njit(cache=True, nogil=True)
def readout_groups(A, sat2, out_lo, out_hi, out_step, sub, y):  # pragma: no cover
    """Signed counters and digital sum: A (Tq,G,D) charges -> sub (Tq,G,D), y (Tq,D)."""
    Tq, G, D = A.shape
    for t in range(Tq):
        for r in range(D):
            y[t, r] = 0.0
        for g in range(G):
            for r in range(D):
                o = _quant(A[t, g, r] / sat2, out_lo, out_hi, out_step)
                sub[t, g, r] = o
                y[t, r] += o


@njit(cache=True, fastmath=_FM)
def _abs_dot(p, st, scale, offset, d, a):  # pragma: no cover - compiled
    """sum_r p[r] |I((st[r] scale - offset) d)|; p may be a scalar broadcast (see caller)."""
    acc = 0.0
    for r in range(st.size):
        w = (st[r] * scale - offset) * d
        acc += p[r] * abs(a[0] + w * (a[1] + w * (a[2] + w * a[3])))
    return acc


@njit(cache=True, parallel=True, fastmath=_FM)
def charge_abs(q, phi, kst, vst, scale, offset, leak, a, k_out, v_out):  # pragma: no cover
    """Absolute charge moved through the cells, for activity counts (uA x T_max).

    q (B,H,T,D) query pulses; phi (B,H,T,W) first-stage pulses by ring slot; kst/vst
    (B,H,T,D) stored values of token j. Slot s at query t holds token j = t - ((t - s) mod W)
    (empty when j < 0). Writes per (b, h):
    k_out = sum_t sum_s sum_r q[t,r] |I(w^K_jr d)|,
    v_out = sum_t sum_s phi[t,s] sum_r |I(w^V_jr d)|.
    """
    B, H, T, D = q.shape
    W = phi.shape[3]
    ones = np.ones(D)
    for bh in prange(B * H):
        b = bh // H
        h = bh - b * H
        tk = 0.0
        tv = 0.0
        for t in range(T):
            qt = q[b, h, t]
            for s in range(W):
                m = (t - s) % W
                j = t - m
                if j < 0:
                    continue
                d = np.exp(-m * leak)
                tk += _abs_dot(qt, kst[b, h, j], scale, offset, d, a)
                p = phi[b, h, t, s]
                if p != 0.0:
                    tv += p * _abs_dot(ones, vst[b, h, j], scale, offset, d, a)
        k_out[b, h] = tk
        v_out[b, h] = tv


@njit(cache=True, nogil=True)
def scatter_slots(src, k0, W, dst):  # pragma: no cover - compiled
    """dst[t, (k0 + j) % W] += src[t, j]: token-indexed block -> ring-slot-indexed trace."""
    Tq, nk = src.shape
    for t in range(Tq):
        for j in range(nk):
            v = src[t, j]
            if v != 0.0:
                dst[t, (k0 + j) % W] += v


@njit(cache=True, nogil=True)
def powers_from_codes(G, m0, qstep, coef, P):  # pragma: no cover - compiled
    """q . w^i from exact integer code sums (batched engine, quantized q and K).

    With q = m qstep and w = c s - V0: q . w^i = qstep sum_k coef[i-1, k] G_k, where
    G_k = sum_r m_r c_r^k (G (3,Tq,K) holds k = 1..3, exact in float32; m0 (Tq,) holds
    G_0 = sum_r m_r) and coef[i-1, k] = binom(i, k) s^k (-V0)^(i-k). Writes P (3,Tq,K).
    """
    _, Tq, K = G.shape
    for t in range(Tq):
        g0 = m0[t]
        for j in range(K):
            g1 = np.float64(G[0, t, j])
            g2 = np.float64(G[1, t, j])
            g3 = np.float64(G[2, t, j])
            for i in range(3):
                P[i, t, j] = qstep * (coef[i, 0] * g0 + coef[i, 1] * g1 + coef[i, 2] * g2
                                      + coef[i, 3] * g3)


@njit(cache=True, parallel=True, fastmath=_FM)
def step_charge_abs(q, phi, kst, vst, scale, offset, t_now, leak, a, k_out, v_out):
    # pragma: no cover - compiled
    """Absolute charge moved through the cells in one streaming read (uA x T_max).

    q (B,H,D) pulses; phi (B,H,W) first-stage pulses; kst/vst (B,H,W,D) the ring buffer
    after token ``t_now`` was written (slot s holds token t_now - ((t_now - s) mod W), empty
    when negative). Writes per (b, h): k_out = sum_s sum_r q[r] |I(w^K_sr d_s)|,
    v_out = sum_s phi[s] sum_r |I(w^V_sr d_s)|.
    """
    B, H, W, D = kst.shape
    ones = np.ones(D)
    for bh in prange(B * H):
        b = bh // H
        h = bh - b * H
        tk = 0.0
        tv = 0.0
        for s in range(W):
            m = (t_now - s) % W
            if t_now - m < 0:
                continue
            d = np.exp(-m * leak)
            tk += _abs_dot(q[b, h], kst[b, h, s], scale, offset, d, a)
            p = phi[b, h, s]
            if p != 0.0:
                tv += p * _abs_dot(ones, vst[b, h, s], scale, offset, d, a)
        k_out[b, h] = tk
        v_out[b, h] = tv


def serial_twin(kernel, **options):
    """A serial Numba twin of the parallel ``kernel`` (the same Python function, ``prange``
    running as ``range``), compiled with ``options`` under a cache name of its own.

    Numba's on-disk cache keys a function by module, qualified name, first line, signature
    and bytecode, not by its compile options: ``njit(...)(kernel.py_func)`` shares the
    parallel kernel's cache entry, so that after the first run both load whichever was
    compiled last (a "serial" call then starts the parallel region, or the parallel one runs
    serially). The twin gets the qualified name ``<name>_serial``.
    """
    f = kernel.py_func
    g = types.FunctionType(f.__code__, f.__globals__, f.__name__, f.__defaults__,
                           f.__closure__)
    g.__qualname__ = f.__qualname__ + "_serial"
    g.__doc__ = f.__doc__
    g.__kwdefaults__ = f.__kwdefaults__
    return njit(**options)(g)


# Serial twins of the parallel kernels (the same compiled arithmetic per head): for small
# work, or one thread, where starting the parallel region costs more than it saves.
step_poly_serial = serial_twin(step_poly, cache=True, nogil=True)
step_charge_abs_serial = serial_twin(step_charge_abs, cache=True, nogil=True, fastmath=_FM)


# -- the streaming step's input scan and the fused preset step ------------------------------
# No fastmath here: the counts test finiteness, and the converters must round exactly as
# :func:`gaincell.device.quantize.quantize` (and the DAC codes of ``_state.Writer.store``) do.

@njit(cache=True, inline="always")
def _count3(x, lo, hi, counts, i):  # pragma: no cover - compiled
    """counts[i] += non-finite elements of x (B,H,D), counts[3 + i] += finite ones outside
    [lo, hi]."""
    nb = 0
    no = 0
    B, H, D = x.shape
    for b in range(B):
        for h in range(H):
            for r in range(D):
                e = x[b, h, r]
                if not np.isfinite(e):
                    nb += 1
                elif e < lo or e > hi:
                    no += 1
    counts[i] += nb
    counts[3 + i] += no


@njit(cache=True, nogil=True)
def scan_inputs(q, k, v, bounds, counts):  # pragma: no cover - compiled
    """One pass over a step's inputs q, k, v (B,H,D): counts (6,) int64 gets the non-finite
    elements of q, k, v and the finite ones outside ``[bounds[0], bounds[1]]`` (q) or
    ``[bounds[2], bounds[3]]`` (k, v): the clipped counts of
    :func:`gaincell.array.mapping.clipped_fraction` (edge tolerance included in the bounds)."""
    for i in range(6):
        counts[i] = 0
    _count3(q, bounds[0], bounds[1], counts, 0)
    _count3(k, bounds[2], bounds[3], counts, 1)
    _count3(v, bounds[2], bounds[3], counts, 2)


@njit(cache=True, parallel=True)
def step_preset(q, k, v, kbuf, vbuf, t, bounds, warn_at, pg, dg, codes, int1, coef, dtab, a, R,
                qq, y, s_out, phi_out, sub_out, counts):  # pragma: no cover - compiled
    """The whole streaming step of the preset family in one call: check, convert, write, read.

    q (B,H,D) query pulse widths (fraction of T_max), k, v (B,H,D) voltages to store (V), any
    float64 values; kbuf, vbuf (B,H,W,D) the ring buffer (uint8 DAC codes when ``codes``,
    else float64 voltages); t the index of the token written. ``bounds`` and ``counts`` as
    :func:`scan_inputs`; ``warn_at`` (3,) the clipped fraction of q, k, v above which the
    caller must warn (inf: not again); pg, dg (4,) the PWM and DAC grids (lo, hi, step,
    anchor: :class:`gaincell.device.quantize.Grid`); dtab, a, R as :func:`step_poly`;
    ``int1``: the first stage from the PWM and DAC codes (:func:`_step_head_codes`, with
    ``coef`` (3,4); the caller checks its conditions), else in float (:func:`_step_head`).

    Returns 1 (nothing written) when an input holds NaN or inf, 2 (nothing written) when a
    clipped fraction exceeds ``warn_at``; otherwise writes token t into slot ``t mod W``
    (the DAC's codes or levels: bit for bit :func:`gaincell.device.quantize.dac` and
    ``Writer.store``), the PWM's pulses qq (B,H,D) (bit for bit
    :func:`gaincell.device.quantize.pwm`), reads as :func:`step_poly` (y, s_out, phi_out,
    sub_out) and returns 3 when an output is not finite, else 0.
    """
    B, H, D = q.shape
    W = kbuf.shape[2]
    for i in range(6):
        counts[i] = 0
    _count3(q, bounds[0], bounds[1], counts, 0)
    _count3(k, bounds[2], bounds[3], counts, 1)
    _count3(v, bounds[2], bounds[3], counts, 2)
    if counts[0] + counts[1] + counts[2] > 0:
        return 1
    n = np.float64(B * H * D)
    for i in range(3):
        if np.float64(counts[3 + i]) / n > warn_at[i]:
            return 2
    slot = t % W
    e0 = np.zeros(W)
    e1 = np.zeros(W)
    e2 = np.zeros(W)
    e3 = np.zeros(W)
    for s in range(W):
        age = (t - s) % W
        if t - age >= 0:
            e0[s] = a[0]
            e1[s] = a[1] * dtab[age, 1]
            e2[s] = a[2] * dtab[age, 2]
            e3[s] = a[3] * dtab[age, 3]
    q_lo, q_hi, q_step, q_anchor = pg[0], pg[1], pg[2], pg[3]
    v_lo, v_hi, v_step, v_anchor = dg[0], dg[1], dg[2], dg[3]
    for bh in prange(B * H):
        b = bh // H
        h = bh - b * H
        m = np.empty(D, np.float32)
        for r in range(D):
            x = min(max(q[b, h, r], q_lo), q_hi)
            if q_step > 0.0:
                code = np.rint((x - q_anchor) / q_step)
                m[r] = code
                x = code * q_step + q_anchor
            qq[b, h, r] = x
            xk = min(max(k[b, h, r], v_lo), v_hi)
            xv = min(max(v[b, h, r], v_lo), v_hi)
            if codes:
                kbuf[b, h, slot, r] = np.rint((xk - v_lo) / v_step)
                vbuf[b, h, slot, r] = np.rint((xv - v_lo) / v_step)
            elif v_step > 0.0:
                kbuf[b, h, slot, r] = np.rint((xk - v_anchor) / v_step) * v_step + v_anchor
                vbuf[b, h, slot, r] = np.rint((xv - v_anchor) / v_step) * v_step + v_anchor
            else:
                kbuf[b, h, slot, r] = xk
                vbuf[b, h, slot, r] = xv
        if int1:
            _step_head_codes(qq[b, h], m, q_step, coef, kbuf[b, h], vbuf[b, h], R.scale,
                             R.offset, R.sat1, R.sat2, R.cols, R.out_lo, R.out_hi, R.out_step,
                             e0, e1, e2, e3, a[0], y[b, h], s_out[b, h], phi_out[b, h],
                             sub_out[b, h])
        else:
            _step_head(qq[b, h], kbuf[b, h], vbuf[b, h], R.scale, R.offset, R.sat1, R.sat2,
                       R.cols, R.out_lo, R.out_hi, R.out_step, e0, e1, e2, e3, a[0], y[b, h],
                       s_out[b, h], phi_out[b, h], sub_out[b, h])
    for b in range(B):
        for h in range(H):
            for r in range(D):
                if not np.isfinite(y[b, h, r]):
                    return 3
    return 0


#: Serial twin of :func:`step_preset` (small work, or one thread).
step_preset_serial = serial_twin(step_preset, cache=True, nogil=True)
