"""Numba kernel of the fast engine's batched full path: one sub-array of one head at a time,
over the whole sequence (:func:`forward_tiles`).

Structs and units as in :mod:`gaincell.array._kernels_full`; its NumPy twin is the reference
engine (``gaincell/array/_reference.py``), held equal by ``tests/test_array_engines.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from gaincell.array._kernels import _FM, _quant, serial_twin
from gaincell.array._kernels_full import _ret_v, gain_of, vth_of
from gaincell.array._philox import normal_span

__all__ = ["forward_tiles", "forward_tiles_serial"]


# Every quantity of sub-array g (its cols K columns, its cols V columns and its D counters)
# depends only on that sub-array's cells, the queries and the noise, so a head's forward runs
# sub-array by sub-array: its state (cols x D cells per array) stays in the L2 cache for the
# whole sequence. The polynomial cell (without threshold offsets or a retention table, the
# common case and the Monte Carlo one) holds each cell's decayed deviation
# ``z = (v - v_rest) exp(-age leak_cell)`` and advances it by z *= lam_cell once per token
# (lam_cell = exp(-leak_cell), by the cell's ln-tau level, or the design's exp(-leak) without
# retention spread), the slot just written restarting at z = v - v_rest (:func:`_tile_tau`);
# the other cases read z = u d_age from the shared table (:func:`_tile`). The read noise is drawn
# here from the counter-based streams (the same numbers as
# :func:`gaincell.array._draws.token_noise`). The head output is the digital sum over the
# sub-arrays in ascending order, as in :func:`gaincell.array._kernels_full._read_head`.

@njit(cache=True, fastmath=_FM, inline="always", error_model="numpy")
def _cur(w, is_lut, a0, a1, a2, a3, lut, n, w0, dw):  # pragma: no cover - compiled
    """The cell current (uA) at signed weight w (V): the cubic a, or the table (linear
    interpolation, held at its ends)."""
    if not is_lut:
        return a0 + w * (a1 + w * (a2 + w * a3))
    u = (w - w0) / dw
    if u <= 0.0:
        return lut[0]
    if u >= n - 1:
        return lut[n - 1]
    k = int(u)
    f = u - k
    return lut[k] + f * (lut[k + 1] - lut[k])


@njit(cache=True, fastmath=_FM, inline="always")
def _readout(P, chip, h, g, A, n2, o2, yt):  # pragma: no cover - compiled
    """The counters of sub-array g at one token: its charges A (D,) (uA x T_max), plus the
    read noise n2[o2 + r] and minus the comparator offsets (when on), quantized and added
    to the head's output yt (D,); returns how many saturated."""
    nsat = 0.0
    for r in range(A.size):
        a = A[r]
        if P.has_read:
            a += n2[o2 + r]
        if P.has_off:
            a -= chip.off2[h, g, r]
        o = _quant(a / P.sat2, P.out_lo, P.out_hi, P.out_step)
        yt[r] += o
        if abs(o) >= P.lim:
            nsat += 1.0
    return nsat


@njit(cache=True, fastmath=_FM, error_model="numpy")
def _tile(P, cell, chip, dtab, key, sr, bh, h, g, qq, ks, vs, y, stats):
    # pragma: no cover - compiled
    """Sub-array g of one head over all T tokens: qq, ks, vs (T, D) pulses and stored values;
    adds the sub-array's counter outputs to y (T, D); adds saturations to stats (4,). The
    table cell, threshold offsets and the retention table (the polynomial cell otherwise goes
    through :func:`_tile_tau`).

    The state is held row-major, (D, cols): the loops run over the sub-array's columns
    innermost, with no branch per column; the columns that hold a token are a prefix (the
    buffer fills in order). With retention spread the advance z *= lam is fused with the read;
    the column written at this token then gets its fresh value and its charge again."""
    T, D = qq.shape
    W, cols = P.W, P.cols
    s0 = g * cols
    table = P.has_table
    # the state z: the deviation from v_rest (exponential model) or the written voltage
    scale, lo_u = P.scale, (P.lo if table else P.lo - P.v_rest)
    c0 = P.c0
    tau = P.has_tau and not table
    is_lut = P.is_lut
    a0, a1, a2, a3 = cell.a[0], cell.a[1], cell.a[2], cell.a[3]
    lut = cell.lut
    nl = lut.size
    w0, dw = cell.w0, cell.dw
    zk = np.zeros((D, cols))
    zv = np.zeros((D, cols))
    lk = np.ones((D, cols))
    lv = np.ones((D, cols))
    gk = np.ones((D, cols))
    gv = np.ones((D, cols))
    ck = np.full((D, cols), c0)     # w = ck + z: c0 plus the cell's threshold offset
    cv = np.full((D, cols), c0)
    for ci in range(cols):
        s = s0 + ci
        if tau:
            for r in range(D):
                lk[r, ci] = chip.lam_tab[chip.leak_k[h, s, r]]
                lv[r, ci] = chip.lam_tab[chip.leak_v[h, s, r]]
        if P.has_gain:
            for r in range(D):
                gk[r, ci] = gain_of(chip.gain_k[h, s, r], chip.sg)
                gv[r, ci] = gain_of(chip.gain_v[h, s, r], chip.sg)
        if P.has_vth:
            for r in range(D):
                ck[r, ci] = c0 + vth_of(chip.vth_k[h, s, r], chip.sv)
                cv[r, ci] = c0 + vth_of(chip.vth_v[h, s, r], chip.sv)
    if table:   # w = V_node - v_weight_zero + dvth; table time = age x leak x s per leak
        for r in range(D):
            for ci in range(cols):
                ck[r, ci] -= c0 + cell.v_wz
                cv[r, ci] -= c0 + cell.v_wz
                lk[r, ci] = (chip.leak_tab[chip.leak_k[h, s0 + ci, r]] if P.has_tau
                             else P.leak) * cell.rt_spl
                lv[r, ci] = (chip.leak_tab[chip.leak_v[h, s0 + ci, r]] if P.has_tau
                             else P.leak) * cell.rt_spl
    agec = np.zeros(cols)
    S = np.zeros(cols)
    phi = np.zeros(cols)
    pm = np.zeros(cols)
    dec = np.ones(cols)
    A = np.zeros(D)
    n1 = np.zeros(cols + 16)        # whole Philox blocks: deviate i at n1[o1 + i]
    n2 = np.zeros(D + 16)
    o1 = 0
    o2 = 0
    nsat1 = 0.0
    nsat2 = 0.0
    bhu = np.uint64(bh)
    for t in range(T):
        tm = t % W
        nv = cols if t >= W else min(cols, max(0, t - s0 + 1))   # columns holding a token
        cn = tm - s0 if s0 <= tm < s0 + cols else -1             # the column written now
        q = qq[t]
        if P.has_read:   # only the deviates read: none for the columns not yet written
            if nv > 0:
                o1 = normal_span(key, np.uint64(t), bhu, np.uint64(2), sr, s0, nv, n1)
            o2 = normal_span(key, np.uint64(t), bhu, np.uint64(3), sr, g * D, D, n2)
        for ci in range(nv):
            S[ci] = 0.0
        # first stage
        if table:
            if cn >= 0:
                for r in range(D):
                    zk[r, cn] = ks[t, r] * scale + lo_u
            for ci in range(nv):
                agec[ci] = np.float64((tm - s0 - ci) % W)
            for r in range(D):
                qr = q[r]
                for ci in range(nv):
                    wv = _ret_v(cell, zk[r, ci], agec[ci] * lk[r, ci]) + ck[r, ci]
                    S[ci] += qr * (gk[r, ci] * _cur(wv, is_lut, a0, a1, a2, a3, lut, nl, w0,
                                                    dw))
        elif tau:
            for r in range(D):
                qr = q[r]
                for ci in range(nv):
                    x = zk[r, ci] * lk[r, ci]
                    zk[r, ci] = x
                    S[ci] += qr * (gk[r, ci] * _cur(ck[r, ci] + x, is_lut, a0, a1, a2, a3, lut,
                                                    nl, w0, dw))
            if cn >= 0:
                acc = 0.0
                for r in range(D):
                    x = ks[t, r] * scale + lo_u
                    zk[r, cn] = x
                    acc += q[r] * (gk[r, cn] * _cur(ck[r, cn] + x, is_lut, a0, a1, a2, a3, lut, nl,
                                                    w0, dw))
                S[cn] = acc
        else:
            if cn >= 0:
                for r in range(D):
                    zk[r, cn] = ks[t, r] * scale + lo_u
            for ci in range(nv):
                dec[ci] = dtab[(tm - s0 - ci) % W]
            for r in range(D):
                qr = q[r]
                for ci in range(nv):
                    S[ci] += qr * (gk[r, ci] * _cur(ck[r, ci] + zk[r, ci] * dec[ci], is_lut, a0, a1,
                                                    a2, a3, lut, nl, w0, dw))
        for ci in range(nv):
            acc = S[ci]
            if P.has_read:
                acc += n1[o1 + ci]
            if P.has_off:
                acc -= chip.off1[h, s0 + ci]
            p = min(max(acc / P.sat1, 0.0), 1.0)
            phi[ci] = p
            if p >= 1.0:
                nsat1 += 1.0
        # second stage
        if table:
            if cn >= 0:
                for r in range(D):
                    zv[r, cn] = vs[t, r] * scale + lo_u
            for r in range(D):
                acc = 0.0
                for ci in range(nv):
                    wv = _ret_v(cell, zv[r, ci], agec[ci] * lv[r, ci]) + cv[r, ci]
                    acc += phi[ci] * (gv[r, ci] * _cur(wv, is_lut, a0, a1, a2, a3, lut, nl,
                                                       w0, dw))
                A[r] = acc
        elif tau:
            for ci in range(nv):
                pm[ci] = phi[ci]
            if cn >= 0:
                pm[cn] = 0.0
            for r in range(D):
                acc = 0.0
                for ci in range(nv):
                    x = zv[r, ci] * lv[r, ci]
                    zv[r, ci] = x
                    acc += pm[ci] * (gv[r, ci] * _cur(cv[r, ci] + x, is_lut, a0, a1, a2, a3,
                                                      lut, nl, w0, dw))
                A[r] = acc
            if cn >= 0:
                p = phi[cn]
                for r in range(D):
                    x = vs[t, r] * scale + lo_u
                    zv[r, cn] = x
                    A[r] += p * (gv[r, cn] * _cur(cv[r, cn] + x, is_lut, a0, a1, a2, a3, lut, nl,
                                                  w0, dw))
        else:
            if cn >= 0:
                for r in range(D):
                    zv[r, cn] = vs[t, r] * scale + lo_u
            for r in range(D):
                acc = 0.0
                for ci in range(nv):
                    acc += phi[ci] * (gv[r, ci] * _cur(cv[r, ci] + zv[r, ci] * dec[ci], is_lut, a0,
                                                       a1, a2, a3, lut, nl, w0, dw))
                A[r] = acc
        nsat2 += _readout(P, chip, h, g, A, n2, o2, y[t])
    stats[2] += nsat1
    stats[3] += nsat2


@njit(cache=True, fastmath=_FM, inline="always")
def _cubic(e, ci, r, x):  # pragma: no cover - compiled
    """Cell (ci, r)'s current (uA) at deviation x (V): its cubic e[:, ci, r] (the device
    cubic times the cell's gain, uA / V^i) by Horner."""
    return e[0, ci, r] + x * (e[1, ci, r] + x * (e[2, ci, r] + x * e[3, ci, r]))


#: Columns per block of :func:`_tile_tau`: its per-cell state (decayed deviation, one-step
#: decay and the four gain-scaled coefficients, of both arrays: 12 x 8 bytes x CB x D =
#: 384 kB at D = 64) stays in the L2 cache (512 kB per core on the AMD
#: machine that measured CB = 32 the same, 2 MB on a later Xeon).
#: (Blocks of 4-8 columns, whose state would fit in L1, measured slower: the loops are
#: arithmetic-bound, and the per-block, per-token work grows.)
CB = 64


@njit(cache=True, fastmath=_FM, error_model="numpy")
def _tile_tau(P, chip, bc, key, sr, bh, h, g, qq, ks, vs, y, A, stats):
    # pragma: no cover - compiled
    """:func:`_tile` for the polynomial cell without threshold offsets or a retention table,
    with or without retention spread (the Monte Carlo case; without the spread every cell decays
    by the design's exp(-leak) per token), in blocks of :data:`CB` columns: each block runs over
    all T tokens with its state (CB x D cells per array) in the cache, its second-stage charges
    added to the sub-array's partial sums A (T, D) (scratch); the counters convert once every
    block is in. bc (4,): the cubic re-expanded around w = c0 (uA / V^i), multiplied by each
    cell's gain once per block (e, (4, CB, D)). Per cell and token: z *= lam, then the cell's
    cubic e(z) by Horner, the charge added (one multiply, four multiply-adds); a column whose
    pulse is 0 only decays. The loops run over a column's D cells innermost (state (CB, D)): the
    first stage is a dot product per column, the second adds a column's charges to the D partial
    sums. Wherever every column of the block holds a token and none is written, four tokens go
    at once (each cell's state loaded and stored once for the four; the same multiplications in
    the same order)."""
    T, D = qq.shape
    W, cols = P.W, P.cols
    s0 = g * cols
    scale, lo_u = P.scale, P.lo - P.v_rest
    has_gain, has_read, has_off = P.has_gain, P.has_read, P.has_off
    sat1 = P.sat1
    sg = chip.sg
    lam_tab = chip.lam_tab
    has_tau = P.has_tau
    lam0 = np.exp(-P.leak)
    zk = np.zeros((CB, D))
    zv = np.zeros((CB, D))
    lk = np.ones((CB, D))
    lv = np.ones((CB, D))
    ek = np.empty((4, CB, D))       # the cubic times each cell's gain (uA / V^i)
    ev = np.empty((4, CB, D))
    phi = np.zeros(CB)
    n1 = np.zeros(CB + 16)          # whole Philox blocks: deviate i at n1[o1 + i]
    n2 = np.zeros(D + 16)
    n4 = np.zeros((4, CB + 16))     # the same for four tokens at once
    o4 = np.zeros(4, np.int64)
    ph4 = np.zeros((4, CB))
    bhu = np.uint64(bh)
    nsat1 = 0.0
    nsat2 = 0.0
    for t in range(T):
        for r in range(D):
            A[t, r] = 0.0
    for c0b in range(0, cols, CB):
        nb = min(CB, cols - c0b)
        sb = s0 + c0b                  # the block's first slot
        for ci in range(nb):
            for r in range(D):
                if has_tau:
                    lk[ci, r] = lam_tab[chip.leak_k[h, sb + ci, r]]
                    lv[ci, r] = lam_tab[chip.leak_v[h, sb + ci, r]]
                else:                  # every cell the design's one-step decay
                    lk[ci, r] = lam0
                    lv[ci, r] = lam0
                zk[ci, r] = 0.0
                zv[ci, r] = 0.0
            for r in range(D):    # each cell's gain folded into its cubic
                g_k = gain_of(chip.gain_k[h, sb + ci, r], sg) if has_gain else 1.0
                g_v = gain_of(chip.gain_v[h, sb + ci, r], sg) if has_gain else 1.0
                for i in range(4):
                    ek[i, ci, r] = g_k * bc[i]
                    ev[i, ci, r] = g_v * bc[i]
        e0k, e1k, e2k, e3k = ek[0], ek[1], ek[2], ek[3]
        e0v, e1v, e2v, e3v = ev[0], ev[1], ev[2], ev[3]
        t = sb                          # slot sb is first written at token sb
        while t < T:
            # four tokens at once where every column of the block holds a token and none is
            # written: each cell's state is loaded and stored once for the four
            if t + 4 <= T and t >= sb + nb and not (
                    sb <= t % W < sb + nb or sb <= (t + 1) % W < sb + nb
                    or sb <= (t + 2) % W < sb + nb or sb <= (t + 3) % W < sb + nb):
                if has_read:
                    for u in range(4):
                        o4[u] = normal_span(key, np.uint64(t + u), bhu, np.uint64(2), sr, sb,
                                            nb, n4[u])
                q0, q1, q2, q3 = qq[t], qq[t + 1], qq[t + 2], qq[t + 3]
                for ci in range(nb):
                    c0 = 0.0
                    c1 = 0.0
                    c2 = 0.0
                    c3 = 0.0
                    for r in range(D):
                        lr = lk[ci, r]
                        f0, f1, f2, f3 = e0k[ci, r], e1k[ci, r], e2k[ci, r], e3k[ci, r]
                        x0 = zk[ci, r] * lr
                        x1 = x0 * lr
                        x2 = x1 * lr
                        x3 = x2 * lr
                        zk[ci, r] = x3
                        c0 += q0[r] * (f0 + x0 * (f1 + x0 * (f2 + x0 * f3)))
                        c1 += q1[r] * (f0 + x1 * (f1 + x1 * (f2 + x1 * f3)))
                        c2 += q2[r] * (f0 + x2 * (f1 + x2 * (f2 + x2 * f3)))
                        c3 += q3[r] * (f0 + x3 * (f1 + x3 * (f2 + x3 * f3)))
                    ph4[0, ci] = c0
                    ph4[1, ci] = c1
                    ph4[2, ci] = c2
                    ph4[3, ci] = c3
                for u in range(4):
                    for ci in range(nb):
                        acc = ph4[u, ci]
                        if has_read:
                            acc += n4[u, o4[u] + ci]
                        if has_off:
                            acc -= chip.off1[h, sb + ci]
                        p = min(max(acc / sat1, 0.0), 1.0)
                        ph4[u, ci] = p
                        if p >= 1.0:
                            nsat1 += 1.0
                A0, A1, A2, A3 = A[t], A[t + 1], A[t + 2], A[t + 3]
                for ci in range(nb):
                    p0, p1, p2, p3 = ph4[0, ci], ph4[1, ci], ph4[2, ci], ph4[3, ci]
                    if p0 == 0.0 and p1 == 0.0 and p2 == 0.0 and p3 == 0.0:
                        for r in range(D):     # no charge: the decay only
                            lr = lv[ci, r]
                            zv[ci, r] = ((zv[ci, r] * lr) * lr * lr) * lr
                        continue
                    for r in range(D):
                        lr = lv[ci, r]
                        f0, f1, f2, f3 = e0v[ci, r], e1v[ci, r], e2v[ci, r], e3v[ci, r]
                        x0 = zv[ci, r] * lr
                        x1 = x0 * lr
                        x2 = x1 * lr
                        x3 = x2 * lr
                        zv[ci, r] = x3
                        A0[r] += p0 * (f0 + x0 * (f1 + x0 * (f2 + x0 * f3)))
                        A1[r] += p1 * (f0 + x1 * (f1 + x1 * (f2 + x1 * f3)))
                        A2[r] += p2 * (f0 + x2 * (f1 + x2 * (f2 + x2 * f3)))
                        A3[r] += p3 * (f0 + x3 * (f1 + x3 * (f2 + x3 * f3)))
                t += 4
                continue
            tm = t % W
            nv = nb if t >= W else min(nb, t - sb + 1)   # columns holding a token
            cn = tm - sb if sb <= tm < sb + nb else -1    # the column written now
            q = qq[t]
            if has_read:
                o1 = normal_span(key, np.uint64(t), bhu, np.uint64(2), sr, sb, nv, n1)
            for ci in range(nv):
                acc = 0.0
                if ci == cn:
                    for r in range(D):
                        x = ks[t, r] * scale + lo_u
                        zk[ci, r] = x
                        acc += q[r] * _cubic(ek, ci, r, x)
                else:
                    for r in range(D):
                        x = zk[ci, r] * lk[ci, r]
                        zk[ci, r] = x
                        acc += q[r] * _cubic(ek, ci, r, x)
                if has_read:
                    acc += n1[o1 + ci]
                if has_off:
                    acc -= chip.off1[h, sb + ci]
                p = min(max(acc / sat1, 0.0), 1.0)
                phi[ci] = p
                if p >= 1.0:
                    nsat1 += 1.0
            for ci in range(nv):
                p = phi[ci]
                if ci == cn:
                    for r in range(D):
                        x = vs[t, r] * scale + lo_u
                        zv[ci, r] = x
                        A[t, r] += p * _cubic(ev, ci, r, x)
                elif p == 0.0:                 # no charge: the decay only
                    for r in range(D):
                        zv[ci, r] *= lv[ci, r]
                else:
                    for r in range(D):
                        x = zv[ci, r] * lv[ci, r]
                        zv[ci, r] = x
                        A[t, r] += p * _cubic(ev, ci, r, x)
            t += 1
    o2 = 0
    for t in range(T):
        if has_read:
            o2 = normal_span(key, np.uint64(t), bhu, np.uint64(3), sr, g * D, D, n2)
        nsat2 += _readout(P, chip, h, g, A[t], n2, o2, y[t])
    stats[2] += nsat1
    stats[3] += nsat2


@njit(cache=True, parallel=True)
def forward_tiles(P, cell, chip, dtab, etab, key, sr, qq, ks, vs, y, stats):
    # pragma: no cover - compiled
    """Batched forward of the full path from an empty buffer: qq (B,H,T,D) pulses, ks, vs
    (B,H,T,D) stored values (write noise in), ``key`` the token-noise key and ``sr`` the
    read-noise sigma (uA x T_max); writes y (B,H,T,D) and adds the saturated first-stage
    pulses and counters to stats[..., 2:4] (B,H,4). Heads in parallel, sub-arrays in order."""
    B, H, T, D = qq.shape
    G = P.W // P.cols
    fused = not (P.is_lut or P.has_vth or P.has_table)
    for bh in prange(B * H):
        b = bh // H
        h = bh - b * H
        yb = y[b, h]
        for t in range(T):
            for r in range(D):
                yb[t, r] = 0.0
        if fused:
            A = np.empty((T, D))
            for g in range(G):
                _tile_tau(P, chip, etab[0], key, sr, bh, h, g, qq[b, h], ks[b, h], vs[b, h], yb,
                          A, stats[b, h])
        else:
            for g in range(G):
                _tile(P, cell, chip, dtab, key, sr, bh, h, g, qq[b, h], ks[b, h], vs[b, h],
                      yb, stats[b, h])


#: Serial twin of :func:`forward_tiles` (one thread: Monte Carlo runs chips side by side).
forward_tiles_serial = serial_twin(forward_tiles, cache=True, nogil=True)
