"""Numba kernels of the fast engine for every device option (the non-preset path).

One kernel, :func:`run_tokens`, writes a block of consecutive tokens into the ring buffer and
reads each of them, head by head (heads in parallel, tokens in order), with any cell model
(polynomial or table), any rest voltage, per-cell gain and retention mismatch, read noise on
both stages and comparator offsets on both stages. Write noise is already in the stored
values, and read noise arrives as arrays (:mod:`gaincell.array._draws`), so a head's numbers
do not depend on the thread count, and ``forward`` (blocks of tokens) equals ``step``
(blocks of one) bit for bit. With retention spread a cell's decay ``exp(-age leak_cell)``
comes from the design's table by age and ln-tau level (:func:`decay_table`; within a few ulps
of the direct exponential: the rounding of its argument, a relative 4e-15 at
``age leak`` = 30); the polynomial cell with retention spread reads the heads in groups, slot
by slot (:func:`_read_heads_tau`), so that each slot's row of that table is loaded once for
all of them.

Units as in :mod:`gaincell.array._design`. Its NumPy twin is the reference engine
(``gaincell/array/_reference.py``); ``tests/test_array_engines.py`` holds them equal.

The small structs:

``Plan`` (scalars): window ``W``, ``cols`` per sub-array, ``scale``/``lo`` decoding a stored
value x to the voltage ``x * scale + lo`` (V), ``v_rest`` (V), ``c0 = v_rest - v_weight_zero``
(V), ``sat1``/``sat2`` (uA x T_max), the counter's ``out_lo``/``out_hi``/``out_step`` and
saturation limit ``lim`` (full scale), and the flags ``is_lut``, ``has_gain``, ``has_tau``,
``has_off``, ``has_read``, ``has_vth``, ``has_table`` (a retention table replaces the
exponential relaxation) and the leak per step ``leak`` (dt / tau).

``Cell``: ``a`` (4,) cubic coefficients, uA / V^i, or the lookup table ``lut`` (uA) on the
grid ``w0 + k dw`` (V); the retention table's interpolation
(:class:`gaincell.device.retention_table.RetentionInterp`): ``rt_x`` (N,) log(1 + t / t1),
``rt_t1`` (s), ``rt_v0`` (M,) written voltages (V), ``rt_drop`` (M, N) change since the write
(V), ``rt_spl`` table seconds per unit of leak, and ``v_wz`` the zero-weight voltage (V).

``Chip`` (the compact draws of :class:`gaincell.array._draws.ChipDraws`; a (1, 1, 1) dummy
where absent): ``gain_k``, ``gain_v`` (H, W, D) int16 codes (gain ``max(1 + sg code Z_STEP,
0)``), ``leak_k``, ``leak_v`` (H, W, D) uint8 ln-tau levels, ``off1`` (H, W) and ``off2``
(H, G, D) float64 (uA x T_max), ``vth_k``, ``vth_v`` (H, W, D) int16 codes of the read
devices' threshold offsets (``sv code Z_STEP`` V: a cell conducts as if its node were that
much higher, ``w = c0 + (v - v_rest) dec + dvth``); the scalars ``sg`` (relative) and ``sv``
(V); and by level: ``leak_tab`` (256,) leak per step, ``lam_tab`` (256,) its one-step decay
``exp(-leak)`` and ``dec_tab`` (W, 256) the decay ``exp(-age leak)`` by age.
"""

from __future__ import annotations

import functools
from collections import namedtuple

import numpy as np
from numba import njit, prange

from gaincell.array._draws import Z_STEP
from gaincell.array._kernels import _FM, _quant, serial_twin

__all__ = ["Plan", "Cell", "Chip", "run_tokens", "run_tokens_serial", "decay_table"]

Plan = namedtuple("Plan", ["W", "cols", "scale", "lo", "v_rest", "c0", "sat1", "sat2",
                           "out_lo", "out_hi", "out_step", "lim", "is_lut", "has_gain",
                           "has_tau", "has_off", "has_read", "has_vth", "has_table", "leak"])
Cell = namedtuple("Cell", ["a", "lut", "w0", "dw", "rt_x", "rt_t1", "rt_v0", "rt_drop",
                           "rt_spl", "v_wz"])
Chip = namedtuple("Chip", ["gain_k", "gain_v", "leak_k", "leak_v", "off1", "off2", "vth_k",
                           "vth_v", "sg", "sv", "leak_tab", "lam_tab", "dec_tab"])

@functools.lru_cache(maxsize=8)
def _decay_table(leak: tuple[float, ...], W: int) -> np.ndarray:
    t = np.ascontiguousarray(np.exp(-np.arange(W)[:, None] * np.asarray(leak)[None, :]))
    t.flags.writeable = False
    return t


def decay_table(leak_tab: np.ndarray, W: int) -> np.ndarray:
    """(W, 256) decay ``exp(-age leak)`` by age (rows) and level (columns) of ``leak_tab``
    (256,) (one per design, shared by its chips: 2 MB at W = 1024)."""
    return _decay_table(tuple(float(x) for x in leak_tab), int(W))


@njit(cache=True, inline="always")
def gain_of(code, sg):  # pragma: no cover - compiled
    """The gain (relative) of a cell's int16 gain code."""
    return max(1.0 + sg * (np.float64(code) * Z_STEP), 0.0)


@njit(cache=True, inline="always")
def vth_of(code, sv):  # pragma: no cover - compiled
    """The threshold offset (V) of a cell's int16 threshold code."""
    return sv * (np.float64(code) * Z_STEP)


@njit(cache=True, inline="always")
def _gather(row, lvl, out):  # pragma: no cover - compiled
    """out[r] = row[lvl[r]]: the decays of a slot's cells (levels lvl) from a row of the
    decay table."""
    for r in range(out.size):
        out[r] = row[lvl[r]]


@njit(cache=True, fastmath=_FM, inline="always")
def _decay_row(chip, lvl, h, s, age, out):  # pragma: no cover - compiled
    """out[r] = exp(-age leak_cell) of the cells of slot s (levels lvl (H, W, D)), from the
    table by age and level."""
    _gather(chip.dec_tab[age], lvl[h, s], out)


@njit(cache=True, fastmath=_FM, inline="always", error_model="numpy")
def _ret_v(cell, vw, t):  # pragma: no cover - compiled
    """Node voltage (V) t seconds after writing vw (V), from the retention table: the twin
    of :class:`gaincell.device.retention_table.RetentionInterp` (the change since the write,
    linear in the written voltage and in log(1 + t / t1), held beyond the table)."""
    xt = cell.rt_x
    n = xt.size
    x = np.log1p(t / cell.rt_t1)
    j = 0
    while j < n - 2 and xt[j + 1] <= x:
        j += 1
    fx = min(max((x - xt[j]) / (xt[j + 1] - xt[j]), 0.0), 1.0)
    D = cell.rt_drop
    v0 = cell.rt_v0
    m = v0.size
    if m == 1:
        return vw + ((1.0 - fx) * D[0, j] + fx * D[0, j + 1])
    i = 0
    while i < m - 2 and v0[i + 1] <= vw:
        i += 1
    fv = min(max((vw - v0[i]) / (v0[i + 1] - v0[i]), 0.0), 1.0)
    lo = (1.0 - fx) * D[i, j] + fx * D[i, j + 1]
    hi = (1.0 - fx) * D[i + 1, j] + fx * D[i + 1, j + 1]
    return vw + ((1.0 - fv) * lo + fv * hi)


@njit(cache=True, fastmath=_FM, inline="always")
def _currents(P, cell, chip, st, dec, drow, gain, vth, h, s, w, cur, age, leak):
    # pragma: no cover - compiled
    """Currents cur (D,) in uA of the cells st (D,) of slot s (generic path: table cell or
    retention spread): a code or voltage decodes to v = x scale + lo; the deviation from
    v_rest has decayed by ``dec`` (or, with retention spread, by ``drow[r]`` per cell);
    w = c0 + (v - v_rest) dec, plus the cell's threshold offset (codes vth (H, W, D)); gain
    and leak level codes (H, W, D)."""
    D = st.size
    scale, lo, v_rest, c0 = P.scale, P.lo, P.v_rest, P.c0
    if P.has_table:     # table time: age x leak x seconds per leak
        spl = cell.rt_spl
        for r in range(D):
            lk = chip.leak_tab[leak[h, s, r]] if P.has_tau else P.leak
            w[r] = _ret_v(cell, st[r] * scale + lo, age * (lk * spl)) - cell.v_wz
    elif P.has_tau:
        for r in range(D):
            w[r] = c0 + ((st[r] * scale + lo) - v_rest) * drow[r]
    else:
        for r in range(D):
            w[r] = c0 + ((st[r] * scale + lo) - v_rest) * dec
    if P.has_vth:
        for r in range(D):
            w[r] += vth_of(vth[h, s, r], chip.sv)
    if P.is_lut:
        lut = cell.lut
        n = lut.size
        w0, dw = cell.w0, cell.dw
        for r in range(D):
            u = (w[r] - w0) / dw
            if u <= 0.0:
                cur[r] = lut[0]
            elif u >= n - 1:
                cur[r] = lut[n - 1]
            else:
                k = int(u)
                f = u - k
                cur[r] = lut[k] + f * (lut[k + 1] - lut[k])
    else:
        a0, a1, a2, a3 = cell.a[0], cell.a[1], cell.a[2], cell.a[3]
        for r in range(D):
            x = w[r]
            cur[r] = a0 + x * (a1 + x * (a2 + x * a3))
    if P.has_gain:
        for r in range(D):
            cur[r] *= gain_of(gain[h, s, r], chip.sg)


@njit(cache=True, fastmath=_FM)
def _read_head(P, cell, chip, h, dtab, etab, t, q, kb, vb, n1, n2, want_abs, y, S, phi, sub,
               acc, w, cur, drow, stats):  # pragma: no cover - compiled
    """Read token t (already written) of one head: q (D,), kb/vb (W, D) ring buffer, n1 (W,)
    and n2 (G, D) read noise; writes y (D,), S/phi (W,), sub (G, D); adds to stats (4,):
    k_abs and v_abs (when ``want_abs``), saturated first-stage pulses, saturated counters.
    With retention spread, each slot's per-cell decay comes from the chip's tables
    (:func:`_decay_row`). acc, w, cur, drow (D,) float64: scratch.

    Polynomial cell without retention spread (the folded path): the current of a cell of
    age a is ``sum_m etab[a, m] u^m`` with ``u = v - v_rest`` (V) and
    ``etab[a, m] = b_m d_a^m``, ``b`` the cubic re-expanded around ``w = c0``. The table cell
    and threshold offsets go through :func:`_currents`; the polynomial cell with retention
    spread is :func:`_read_heads_tau`'s."""
    W, D = kb.shape
    cols = P.cols
    G = W // cols
    sat1, sat2 = P.sat1, P.sat2
    scale, lo_u = P.scale, P.lo - P.v_rest
    folded = not (P.is_lut or P.has_tau or P.has_vth or P.has_table)
    # struct fields as locals: a field read inside a loop is re-loaded after every store
    # (the compiler cannot rule out aliasing), which keeps the loops from vectorizing
    has_gain, has_read, has_off = P.has_gain, P.has_read, P.has_off
    out_lo, out_hi, out_step, lim = P.out_lo, P.out_hi, P.out_step, P.lim
    hg = h if has_gain else 0
    gk = chip.gain_k[hg]
    gv = chip.gain_v[hg]
    sg = chip.sg
    ho = h if has_off else 0
    off1 = chip.off1[ho]
    off2 = chip.off2[ho]
    kabs = 0.0
    nsat1 = 0.0
    sq = 0.0
    for r in range(D):
        sq += q[r]
    for s in range(W):
        age = (t - s) % W
        if t - age < 0:           # slot never written
            S[s] = 0.0
            phi[s] = 0.0
            continue
        x = kb[s]
        if folded:
            e0, e1, e2, e3 = etab[age, 0], etab[age, 1], etab[age, 2], etab[age, 3]
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            if has_gain:
                for r in range(D):
                    u = x[r] * scale + lo_u
                    qg = q[r] * gain_of(gk[s, r], sg)
                    qu = qg * u
                    qu2 = qu * u
                    a0 += qg
                    a1 += qu
                    a2 += qu2
                    a3 += qu2 * u
            else:
                a0 = sq
                for r in range(D):
                    u = x[r] * scale + lo_u
                    qu = q[r] * u
                    qu2 = qu * u
                    a1 += qu
                    a2 += qu2
                    a3 += qu2 * u
            acc1 = e0 * a0 + e1 * a1 + e2 * a2 + e3 * a3
            if want_abs:
                ab = 0.0
                for r in range(D):
                    u = x[r] * scale + lo_u
                    i = e0 + u * (e1 + u * (e2 + u * e3))
                    if has_gain:
                        i *= gain_of(gk[s, r], sg)
                    ab += q[r] * abs(i)
                kabs += ab
        else:
            if P.has_tau and not P.has_table:
                _decay_row(chip, chip.leak_k, h, s, age, drow)
            _currents(P, cell, chip, x, dtab[age], drow, chip.gain_k, chip.vth_k, h, s, w, cur,
                      age, chip.leak_k)
            acc1 = 0.0
            for r in range(D):
                acc1 += q[r] * cur[r]
            if want_abs:
                ab = 0.0
                for r in range(D):
                    ab += q[r] * abs(cur[r])
                kabs += ab
        if has_read:
            acc1 += n1[s]
        S[s] = acc1
        if has_off:
            acc1 -= off1[s]
        p = min(max(acc1 / sat1, 0.0), 1.0)
        phi[s] = p
        if p >= 1.0:
            nsat1 += 1.0
    vabs = 0.0
    nsat2 = 0.0
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
            x = vb[c]
            if folded:
                f0 = p * etab[age, 0]
                f1 = p * etab[age, 1]
                f2 = p * etab[age, 2]
                f3 = p * etab[age, 3]
                if has_gain:
                    for r in range(D):
                        u = x[r] * scale + lo_u
                        acc[r] += gain_of(gv[c, r], sg) * (f0 + u * (f1 + u * (f2 + u * f3)))
                else:
                    for r in range(D):
                        u = x[r] * scale + lo_u
                        acc[r] += f0 + u * (f1 + u * (f2 + u * f3))
                if want_abs:
                    e0, e1, e2, e3 = etab[age, 0], etab[age, 1], etab[age, 2], etab[age, 3]
                    ab = 0.0
                    for r in range(D):
                        u = x[r] * scale + lo_u
                        i = e0 + u * (e1 + u * (e2 + u * e3))
                        if has_gain:
                            i *= gain_of(gv[c, r], sg)
                        ab += abs(i)
                    vabs += p * ab
            else:
                if P.has_tau and not P.has_table:
                    _decay_row(chip, chip.leak_v, h, c, age, drow)
                _currents(P, cell, chip, x, dtab[age], drow, chip.gain_v, chip.vth_v, h, c, w,
                          cur, age, chip.leak_v)
                for r in range(D):
                    acc[r] += p * cur[r]
                if want_abs:
                    ab = 0.0
                    for r in range(D):
                        ab += abs(cur[r])
                    vabs += p * ab
        for r in range(D):
            a = acc[r]
            if has_read:
                a += n2[g, r]
            if has_off:
                a -= off2[g, r]
            o = _quant(a / sat2, out_lo, out_hi, out_step)
            sub[g, r] = o
            y[r] += o
            if abs(o) >= lim:
                nsat2 += 1.0
    stats[0] += kabs
    stats[1] += vabs
    stats[2] += nsat1
    stats[3] += nsat2


@njit(cache=True, fastmath=_FM)
def _read_heads_tau(P, chip, etab, t, i, bh0, bh1, qq, kbuf, vbuf, n1, n2, y, S_out,
                    phi_out, sub_out, o, stats):  # pragma: no cover - compiled
    """Read token t (index i of the block, already written) of heads bh0 <= bh < bh1
    (batch bh // H, head bh % H) with the polynomial cell and retention spread (no table
    cell, no threshold offsets); arrays as in :func:`run_tokens`, outputs at index o of
    S_out, phi_out and sub_out. A cell's current is ``g sum_m b_m z^m``: its gain g (1
    without gain mismatch), ``b`` the cubic re-expanded around ``w = c0`` and the decayed
    deviation ``z = (v - v_rest) d_cell``, ``d_cell = exp(-age leak_cell)`` from the chip's
    table by age and level.

    Slots are the outer loop and heads the inner one: a slot's row of the decay table (256
    decays by level, 2 KB) comes from memory once per stage and step and then from L1 for
    every head, where head by head the whole table (2 MB at W = 1024, more than L2) streamed
    through the cache 2 H times per step. A slot's decays are gathered for all heads before
    any head reads them (a vector load right after the scalar stores it spans stalls on
    store forwarding). One loop serves gain on and off (a zero gain code is a gain of exactly
    1): a branch between two loops measured 1.3x slower, and so did a loop for the charges'
    magnitudes beside the read's, which :func:`_abs_heads_tau` computes in a pass of its own.
    Each head's arithmetic, in its order, is that of one head alone, so the numbers do not
    depend on how heads are grouped. Adds the saturated pulses and counters to stats[..., 2:4].
    GPT-2 layer, window full, one thread, every non-ideality: 1.5 ms per step for this read
    against 1.9 ms head by head.
    """
    H = kbuf.shape[1]
    W, D = kbuf.shape[2], kbuf.shape[3]
    nh = bh1 - bh0
    cols = P.cols
    G = W // cols
    sat1, sat2 = P.sat1, P.sat2
    scale, lo_u = P.scale, P.lo - P.v_rest
    b0, b1, b2, b3 = etab[0, 0], etab[0, 1], etab[0, 2], etab[0, 3]   # the cubic around c0
    has_gain, has_read, has_off = P.has_gain, P.has_read, P.has_off
    out_lo, out_hi, out_step, lim = P.out_lo, P.out_hi, P.out_step, P.lim
    sg = chip.sg
    dec_tab = chip.dec_tab
    # each head's (batch, head), once: a 64-bit division per slot and head cost 15 % of the
    # first stage
    bb = np.empty(nh, np.int64)
    hh = np.empty(nh, np.int64)
    for j in range(nh):
        bb[j] = (bh0 + j) // H
        hh[j] = (bh0 + j) % H
    one = np.zeros(D, np.int16)          # the gain code of gain 1
    dblk = np.empty((nh, D))             # a slot's decays, head by head
    acc = np.zeros((nh, D))              # second-stage charges of a sub-array
    tally = np.zeros((nh, 4))            # saturated pulses and counters at 2 and 3
    for s in range(W):
        age = (t - s) % W
        if t - age < 0:           # slot never written
            for j in range(nh):
                S_out[bb[j], hh[j], o, s] = 0.0
                phi_out[bb[j], hh[j], o, s] = 0.0
            continue
        rd = dec_tab[age]
        for j in range(nh):
            _gather(rd, chip.leak_k[hh[j], s], dblk[j])
        for j in range(nh):
            b = bb[j]
            h = hh[j]
            x = kbuf[b, h, s]
            q = qq[b, h, i]
            drow = dblk[j]
            gk = chip.gain_k[h, s] if has_gain else one
            acc1 = 0.0
            for r in range(D):
                z = (x[r] * scale + lo_u) * drow[r]
                acc1 += q[r] * (gain_of(gk[r], sg) * (b0 + z * (b1 + z * (b2 + z * b3))))
            if has_read:
                acc1 += n1[i, b, h, s]
            S_out[b, h, o, s] = acc1
            if has_off:
                acc1 -= chip.off1[h, s]
            p = min(max(acc1 / sat1, 0.0), 1.0)
            phi_out[b, h, o, s] = p
            if p >= 1.0:
                tally[j, 2] += 1.0
    for j in range(nh):
        for r in range(D):
            y[bb[j], hh[j], i, r] = 0.0
    for g in range(G):
        for j in range(nh):
            for r in range(D):
                acc[j, r] = 0.0
        for c in range(g * cols, (g + 1) * cols):
            rd = dec_tab[(t - c) % W]     # (a slot never written has a zero pulse)
            for j in range(nh):
                if phi_out[bb[j], hh[j], o, c] == 0.0:
                    continue
                _gather(rd, chip.leak_v[hh[j], c], dblk[j])
            for j in range(nh):
                b = bb[j]
                h = hh[j]
                p = phi_out[b, h, o, c]
                if p == 0.0:
                    continue
                x = vbuf[b, h, c]
                drow = dblk[j]
                gv = chip.gain_v[h, c] if has_gain else one
                a = acc[j]
                for r in range(D):
                    z = (x[r] * scale + lo_u) * drow[r]
                    a[r] += p * (gain_of(gv[r], sg) * (b0 + z * (b1 + z * (b2 + z * b3))))
        for j in range(nh):
            b = bb[j]
            h = hh[j]
            for r in range(D):
                a = acc[j, r]
                if has_read:
                    a += n2[i, b, h, g, r]
                if has_off:
                    a -= chip.off2[h, g, r]
                out = _quant(a / sat2, out_lo, out_hi, out_step)
                sub_out[b, h, o, g, r] = out
                y[b, h, i, r] += out
                if abs(out) >= lim:
                    tally[j, 3] += 1.0
    for j in range(nh):
        for c in range(4):
            stats[bb[j], hh[j], c] += tally[j, c]


@njit(cache=True, fastmath=_FM)
def _abs_heads_tau(P, chip, etab, t, i, bh0, bh1, qq, kbuf, vbuf, phi_out, o, stats):
    # pragma: no cover - compiled
    """The magnitudes of the charges of :func:`_read_heads_tau`'s read (its arguments, after
    it): adds ``sum_s sum_r q_r |I_sr|`` (K array) and ``sum_s phi_s sum_r |I_sr|`` (V array)
    to stats[..., 0] and stats[..., 1] (uA x T_max), head by head, slots in order."""
    H = kbuf.shape[1]
    W, D = kbuf.shape[2], kbuf.shape[3]
    scale, lo_u = P.scale, P.lo - P.v_rest
    b0, b1, b2, b3 = etab[0, 0], etab[0, 1], etab[0, 2], etab[0, 3]
    has_gain = P.has_gain
    sg = chip.sg
    one = np.zeros(D, np.int16)
    for bh in range(bh0, bh1):
        b = bh // H
        h = bh - b * H
        q = qq[b, h, i]
        phi = phi_out[b, h, o]
        kabs = 0.0
        vabs = 0.0
        for s in range(W):
            age = (t - s) % W
            if t - age < 0:
                continue
            rd = chip.dec_tab[age]
            lv = chip.leak_k[h, s]
            x = kbuf[b, h, s]
            gk = chip.gain_k[h, s] if has_gain else one
            ab = 0.0
            for r in range(D):
                z = (x[r] * scale + lo_u) * rd[lv[r]]
                ab += q[r] * abs(gain_of(gk[r], sg) * (b0 + z * (b1 + z * (b2 + z * b3))))
            kabs += ab
            p = phi[s]
            if p == 0.0:
                continue
            lv = chip.leak_v[h, s]
            x = vbuf[b, h, s]
            gv = chip.gain_v[h, s] if has_gain else one
            ab = 0.0
            for r in range(D):
                z = (x[r] * scale + lo_u) * rd[lv[r]]
                ab += abs(gain_of(gv[r], sg) * (b0 + z * (b1 + z * (b2 + z * b3))))
            vabs += p * ab
        stats[b, h, 0] += kabs
        stats[b, h, 1] += vabs


@njit(cache=True, parallel=True)
def run_tokens(P, cell, chip, dtab, etab, t0, qq, ks, vs, kbuf, vbuf, n1, n2, keep, want_abs,
               y, S_out, phi_out, sub_out, stats, groups):  # pragma: no cover - compiled
    """Write and read tokens ``t0 .. t0 + n - 1`` of every (batch, head), heads in parallel.

    qq (B,H,n,D) pulses; ks, vs (B,H,n,D) stored values; kbuf, vbuf (B,H,W,D) the ring
    buffer (updated); n1 (n,B,H,W), n2 (n,B,H,G,D) read noise (read only when
    ``P.has_read``); dtab (W,) decay by age, etab (W, 4) folded coefficients by age.
    Writes y (B,H,n,D) and, at token index i if ``keep`` else 0, the charges
    S_out and pulses phi_out (B,H,n|1,W) and the sub-array outputs sub_out (B,H,n|1,G,D);
    adds to stats (B,H,4). ``groups``: how many groups of heads the polynomial cell with
    retention spread reads side by side (:func:`_read_heads_tau`; 1 for the serial twin, the
    thread count for this kernel); the numbers do not depend on it.
    """
    B, H, n, D = qq.shape
    W = kbuf.shape[2]
    if P.has_tau and not (P.is_lut or P.has_vth or P.has_table):
        # heads in groups, slots outermost within a group (_read_heads_tau), token by token
        BH = B * H
        ng = max(1, min(groups, BH))
        for i in range(n):
            slot = (t0 + i) % W
            for bh in prange(BH):
                b = bh // H
                h = bh - b * H
                for r in range(D):
                    kbuf[b, h, slot, r] = ks[b, h, i, r]
                    vbuf[b, h, slot, r] = vs[b, h, i, r]
            for gi in prange(ng):
                bh0, bh1 = gi * BH // ng, (gi + 1) * BH // ng
                o = i if keep else 0
                _read_heads_tau(P, chip, etab, t0 + i, i, bh0, bh1, qq, kbuf, vbuf, n1, n2, y,
                                S_out, phi_out, sub_out, o, stats)
                if want_abs:
                    _abs_heads_tau(P, chip, etab, t0 + i, i, bh0, bh1, qq, kbuf, vbuf,
                                   phi_out, o, stats)
        return
    for bh in prange(B * H):
        b = bh // H
        h = bh - b * H
        acc = np.empty(D)
        w = np.empty(D)
        cur = np.empty(D)
        drow = np.empty(D)
        for i in range(n):
            t = t0 + i
            slot = t % W
            for r in range(D):
                kbuf[b, h, slot, r] = ks[b, h, i, r]
                vbuf[b, h, slot, r] = vs[b, h, i, r]
            o = i if keep else 0
            if P.has_read:
                _read_head(P, cell, chip, h, dtab, etab, t, qq[b, h, i], kbuf[b, h],
                           vbuf[b, h], n1[i, b, h], n2[i, b, h], want_abs, y[b, h, i],
                           S_out[b, h, o], phi_out[b, h, o], sub_out[b, h, o], acc, w, cur,
                           drow, stats[b, h])
            else:
                _read_head(P, cell, chip, h, dtab, etab, t, qq[b, h, i], kbuf[b, h],
                           vbuf[b, h], n1[0, 0, 0], n2[0, 0, 0], want_abs, y[b, h, i],
                           S_out[b, h, o], phi_out[b, h, o], sub_out[b, h, o], acc, w, cur,
                           drow, stats[b, h])


#: Serial twin of :func:`run_tokens` (small work, or one thread), under a cache name of its
#: own (:func:`gaincell.array._kernels.serial_twin`).
run_tokens_serial = serial_twin(run_tokens, cache=True, nogil=True)
