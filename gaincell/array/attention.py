"""Sliding-window gain-cell attention: one layer of heads, batched (prefill) and streaming.

Hardware dataflow per head (DESIGN.md, "reference semantics"):

1. token j's key and value are written by the DAC into ring-buffer column ``j mod W``;
2. the query drives the K array's word lines with pulse widths; each column's bit line
   integrates ``S = sum_r q_r I(w_r)`` (cells leak: ``w = w0 exp(-age dt/tau)``);
3. each column's charge-to-pulse converter emits ``phi = clip(S / S_sat1, 0, 1)``;
4. the pulses drive the V array's rows; each 64-row sub-array's bit lines integrate
   ``A_g = sum_j phi_j I(w_v)`` and a signed counter reads ``quantize(A_g / S_fs2)``;
5. the head output is the digital sum over the W / 64 sub-arrays.

Two engines compute this. The *fast* engine (polynomial or linear cell, relaxation toward
V0, no noise or mismatch: the paper's model and its quantization/leakage variants) uses Numba
kernels and BLAS and stores DAC codes in one byte per cell. The *general* engine adds
per-cell gain and retention mismatch, write and read noise, comparator offsets, relaxation
toward any ``v_rest`` and the table cell model, in vectorized NumPy. Both give identical
results where both apply (tested).
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from gaincell._checks import as_finite
from gaincell.array import _kernels as K
from gaincell.array.activity import Activity
from gaincell.device.leakage import sample_tau
from gaincell.device.noise import (
    add_read_noise,
    add_write_noise,
    comparator_offsets,
    gain_mismatch,
)
from gaincell.device.quantize import dac, pwm, quantize, quantizer_step
from gaincell.device.transfer import CellTransfer, interp_lut
from gaincell.params import AttentionConfig

__all__ = ["GainCellAttention", "AttentionTrace"]

_UA = 1e-6
_Q_BLOCK = 64  # queries per block in the batched engine (measured best of 64/128/256)


@dataclass
class AttentionTrace:
    """Intermediates of a simulation (``forward(..., trace=True)`` or ``step(..., trace=True)``).

    Arrays are indexed by ring-buffer slot (column) ``s = j mod W`` of key token j; slots
    that hold no token carry zero. For ``step`` the token axis T is absent.

    Attributes
    ----------
    charge1 : numpy.ndarray, (B, H, T, W)
        First-stage bit-line charge of every K column, C.
    phi : numpy.ndarray, (B, H, T, W)
        First-stage output pulse widths, fraction of T_max, in [0, 1].
    subarray_out : numpy.ndarray, (B, H, T, G, D)
        Each V sub-array's signed counter output (units of its full scale) before the
        digital sum over the G = W / array_cols sub-arrays.
    activity : Activity
        Counts and physical sums for data-dependent energy.
    """

    charge1: np.ndarray
    phi: np.ndarray
    subarray_out: np.ndarray
    activity: Activity


@dataclass
class _State:
    """Ring buffer of one layer: stored values per slot and the token each slot holds."""

    k: np.ndarray          # (B, H, W, D) uint8 codes or float64 voltages
    v: np.ndarray
    slot_token: np.ndarray  # (W,) int64, -1 = empty
    t: int                  # index of the next token



class GainCellAttention:
    """One layer of gain-cell sliding-window attention heads.

    Parameters
    ----------
    cfg : AttentionConfig
        Geometry, leakage and device (see :meth:`AttentionConfig.leroux2025`).
    seed : int, tuple of int, numpy.random.SeedSequence or numpy.random.Generator
        Seeds the static mismatch draws and the per-token noise streams; the same seed gives
        the same numbers, and ``forward`` gives the same numbers as ``step``.
    engine : {"auto", "fast", "general"}
        ``auto`` picks the fast engine whenever it applies; ``general`` forces the vectorized
        NumPy engine (any device option), e.g. to cross-check the fast one.

    Inputs are in hardware units: ``q`` is the pulse width as a fraction of T_max (the PWM
    clips to its range and quantizes), ``k`` and ``v`` are the voltages to store, V (the DAC
    clips and quantizes). Outputs are the digital sums of the sub-array counters (units of one
    counter's full scale), float64.
    """

    def __init__(self, cfg: AttentionConfig, seed: int = 0, engine: str = "auto"):
        if not isinstance(cfg, AttentionConfig):
            raise ValueError(f"cfg must be an AttentionConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        self.seed = seed
        self._seed_entropy = _seed_entropy(seed)
        d = cfg.device
        self._transfer = CellTransfer(d)
        fast_ok = (self._transfer.is_polynomial and d.v_rest == d.v_weight_zero
                   and not d.has_noise)
        if engine not in ("auto", "fast", "general"):
            raise ValueError(f"engine = {engine!r} is invalid: allowed 'auto', 'fast', 'general'")
        if engine == "fast" and not fast_ok:
            raise ValueError("engine = 'fast' is invalid for this device: allowed only with a "
                             "poly/linear cell, v_rest == v_weight_zero and no noise or mismatch")
        self.engine = ("fast" if fast_ok else "general") if engine == "auto" else engine
        self._a = (self._transfer.read_poly_ua() if self._transfer.is_polynomial else None)
        self._lut = None if self._transfer.is_polynomial else self._transfer.read_lut()
        self._sat1 = d.stage1_sat_ua_tmax
        self._sat2 = d.stage2_sat_ua_tmax
        self._out_step = quantizer_step(d.out_lo, d.out_hi, d.out_levels)
        self._kv_step = quantizer_step(d.kv_lo, d.kv_hi, d.kv_levels)
        self._codes = (self.engine == "fast" and d.kv_levels is not None
                       and d.kv_levels <= 256)
        # stored value -> signed weight: w = store * _scale - _offset (codes: level
        # kv_lo + code * step; voltages: themselves)
        self._offset = d.v_weight_zero - d.kv_lo if self._codes else d.v_weight_zero
        self._dpow = _decay_powers(cfg.window, cfg.leak_per_step)
        # Batched first stage in exact integer arithmetic (float32 BLAS) when the PWM and the
        # DAC are quantized and every code sum sum_r m_r c_r^3 stays below 2^24.
        self._q_step = quantizer_step(d.q_lo, d.q_hi, d.q_levels)
        self._int_stage1 = bool(
            self._codes and d.q_levels is not None and d.q_lo == 0.0
            and cfg.head_dim * (d.q_levels - 1) * (d.kv_levels - 1) ** 3 < 2**24)
        if self._int_stage1:
            s_, v0 = self._kv_step, self._offset
            self._coef = np.array([[math.comb(i, kk) * s_**kk * (-v0) ** (i - kk) if kk <= i
                                    else 0.0 for kk in range(4)] for i in (1, 2, 3)])
        self._static = self._draw_static() if self.engine == "general" else None
        self._state: _State | None = None

    # -- public API ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Empty the ring buffer (streaming state); static mismatch is kept."""
        self._state = None

    @property
    def tokens_seen(self) -> int:
        """Tokens streamed since the last :meth:`reset`."""
        return 0 if self._state is None else self._state.t

    @property
    def state_nbytes(self) -> int:
        """Bytes held by the streaming state (ring buffer, slot map; static mismatch arrays
        of the general engine included)."""
        n = 0 if self._state is None else (self._state.k.nbytes + self._state.v.nbytes
                                           + self._state.slot_token.nbytes)
        if self._static is not None:
            n += sum(x.nbytes for x in self._static.values() if isinstance(x, np.ndarray))
        return n

    def step(self, q_t, k_t, v_t, trace: bool = False):
        """Stream one token: write ``k_t``, ``v_t`` into the ring buffer, read with ``q_t``.

        Parameters
        ----------
        q_t, k_t, v_t : array_like, (B, H, D)
            Query pulse widths (fraction of T_max) and key/value voltages (V).
        trace : bool
            Also return an :class:`AttentionTrace` (without the token axis).

        Returns
        -------
        y_t : numpy.ndarray (B, H, D) float64, or ``(y_t, trace)``.

        On invalid input a ``ValueError`` is raised and the state is left unchanged.
        """
        q, k, v = self._check_inputs(q_t, k_t, v_t, ndim=3)
        B = q.shape[0]
        st = self._state
        if st is not None and st.k.shape[0] != B:
            raise ValueError(f"batch size {B} differs from the streaming state's "
                             f"{st.k.shape[0]}: allowed {st.k.shape[0]} (or call reset())")
        new = self._empty_state(B) if st is None else st  # inputs are valid: mutate in place
        y, tr = self._step(new, q, k, v, trace)
        self._state = new
        return (y, tr) if trace else y

    def forward(self, q, k, v, trace: bool = False):
        """Process whole sequences from an empty ring buffer (prefill).

        Parameters
        ----------
        q, k, v : array_like, (B, H, T, D)
            Query pulse widths (fraction of T_max) and key/value voltages (V). T may exceed
            the window: the ring buffer then overwrites its oldest tokens.
        trace : bool
            Also return an :class:`AttentionTrace`.

        Returns
        -------
        y : numpy.ndarray (B, H, T, D) float64, or ``(y, trace)``. Equal to ``T`` calls of
        :meth:`step` after :meth:`reset`; the streaming state is not touched.
        """
        q, k, v = self._check_inputs(q, k, v, ndim=4)
        if self.engine == "fast":
            return self._forward_fast(q, k, v, trace)
        return self._forward_by_steps(q, k, v, trace)

    # -- input handling -----------------------------------------------------------------------
    def _check_inputs(self, q, k, v, ndim: int):
        cfg = self.cfg
        axes = "(B, H, D)" if ndim == 3 else "(B, H, T, D)"
        arrs = []
        for name, x in (("q", q), ("k", k), ("v", v)):
            a = as_finite(name, x)
            if a.ndim != ndim:
                raise ValueError(f"{name} has shape {a.shape}: allowed a {ndim}-D array {axes}")
            if a.shape[1] != cfg.n_heads or a.shape[-1] != cfg.head_dim:
                raise ValueError(f"{name} has shape {a.shape}: allowed {axes} with H = "
                                 f"n_heads = {cfg.n_heads} and D = head_dim = {cfg.head_dim}")
            if a.shape[0] < 1 or (ndim == 4 and a.shape[2] < 1):
                raise ValueError(f"{name} has shape {a.shape}: allowed non-empty batch and "
                                 f"token axes")
            arrs.append(a)
        if not (arrs[0].shape == arrs[1].shape == arrs[2].shape):
            raise ValueError(f"q, k, v shapes differ: {arrs[0].shape}, {arrs[1].shape}, "
                             f"{arrs[2].shape}: allowed identical shapes {axes}")
        return arrs

    def _pwm(self, q):
        return pwm(q, self.cfg.device)

    def _store(self, x, rng=None):
        """DAC (and write noise): uint8 codes or float64 stored voltages."""
        d = self.cfg.device
        if self._codes:
            return np.rint((np.clip(x, d.kv_lo, d.kv_hi) - d.kv_lo) / self._kv_step
                           ).astype(np.uint8)
        vq = dac(x, d)
        if d.write_noise_sigma > 0:
            vq = add_write_noise(vq, d.write_noise_sigma, rng, vdd=d.vdd)
        return vq

    @property
    def _scale(self) -> float:
        return self._kv_step if self._codes else 1.0

    def _empty_state(self, B: int) -> _State:
        cfg = self.cfg
        dt = np.uint8 if self._codes else np.float64
        shape = (B, cfg.n_heads, cfg.window, cfg.head_dim)
        return _State(np.zeros(shape, dt), np.zeros(shape, dt),
                      np.full(cfg.window, -1, np.int64), 0)

    def _rng(self, *key: int) -> np.random.Generator:
        """Independent stream ``key`` of this seed: (0,) static draws, (1, t) token t."""
        return np.random.default_rng(np.random.SeedSequence(self._seed_entropy, spawn_key=key))

    def _token_rng(self, t: int) -> np.random.Generator:
        return self._rng(1, t)

    def _draw_static(self) -> dict:
        cfg, d = self.cfg, self.cfg.device
        rng = self._rng(0)
        H, W, D, G = cfg.n_heads, cfg.window, cfg.head_dim, cfg.n_subarrays
        s: dict = {}
        for name in ("gain_k", "gain_v"):
            s[name] = (gain_mismatch((H, W, D), d.sigma_gain_mismatch, rng)
                       if d.sigma_gain_mismatch > 0 else None)
        for name in ("leak_k", "leak_v"):
            # per-cell dt / tau_cell = leak_per_step * tau / tau_cell (log-normal tau_cell)
            s[name] = (cfg.leak_per_step * d.tau
                       / sample_tau((H, W, D), d.tau, d.sigma_tau_mismatch, rng)
                       if d.sigma_tau_mismatch > 0 else None)
        to_ua = 1.0 / (_UA * d.t_max)
        s["off1"] = (comparator_offsets((H, W), d.sigma_comparator_offset, rng) * to_ua
                     if d.sigma_comparator_offset > 0 else None)
        s["off2"] = (comparator_offsets((H, G, D), d.sigma_comparator_offset, rng) * to_ua
                     if d.sigma_comparator_offset > 0 else None)
        return s

    # -- streaming ----------------------------------------------------------------------------
    def _step(self, st: _State, q, k, v, trace: bool):
        cfg = self.cfg
        t = st.t
        slot = t % cfg.window
        rng = self._token_rng(t) if self.engine == "general" else None
        st.k[:, :, slot] = self._store(k, rng)
        st.v[:, :, slot] = self._store(v, rng)
        st.slot_token[slot] = t
        st.t = t + 1
        qq = self._pwm(q)
        if self.engine == "fast":
            y, S, phi, sub = self._step_fast(st, qq)
        else:
            y, S, phi, sub = self._step_general(st, qq, rng)
        if not trace:
            return y, None
        act = self._step_activity(st, qq, phi, sub)
        return y, AttentionTrace(S * _UA * cfg.device.t_max, phi, sub, act)

    def _ages(self, st: _State):
        valid = st.slot_token >= 0
        ages = np.where(valid, st.t - 1 - st.slot_token, 0)
        return valid, ages

    def _step_fast(self, st: _State, qq):
        cfg, d = self.cfg, self.cfg.device
        B, H, W, D = st.k.shape
        y = np.empty((B, H, D))
        S = np.empty((B, H, W))
        phi = np.empty((B, H, W))
        sub = np.empty((B, H, cfg.n_subarrays, D))
        K.step_poly(np.ascontiguousarray(qq), st.k, st.v, self._scale, self._offset,
                    st.slot_token, st.t - 1, self._dpow, self._a, self._sat1, self._sat2,
                    cfg.array_cols, d.out_lo, d.out_hi, self._out_step, y, S, phi, sub)
        return y, S, phi, sub

    def _cell_current_ua(self, v_stored, ages, leak, gain):
        """Current (uA) of cells holding ``v_stored`` (V) after ``ages`` steps."""
        d = self.cfg.device
        dec = np.exp(-ages[None, None, :, None] * leak)
        w = d.v_rest - d.v_weight_zero + (v_stored - d.v_rest) * dec
        if self._a is not None:
            a = self._a
            i = a[0] + w * (a[1] + w * (a[2] + w * a[3]))
        else:
            lut = self._lut
            i = interp_lut(lut.w0, lut.dw, lut.i_ua, w)
        return i if gain is None else i * gain

    def _step_general(self, st: _State, qq, rng):
        cfg, d, s = self.cfg, self.cfg.device, self._static
        B, H, W, D = st.k.shape
        G, cols = cfg.n_subarrays, cfg.array_cols
        valid, ages = self._ages(st)
        leak_k = cfg.leak_per_step if s["leak_k"] is None else s["leak_k"]
        leak_v = cfg.leak_per_step if s["leak_v"] is None else s["leak_v"]
        ik = self._cell_current_ua(st.k, ages, leak_k, s["gain_k"])
        S = np.einsum("bhd,bhwd->bhw", qq, ik)
        to_ua = 1.0 / (_UA * d.t_max)
        if d.sigma_read_noise > 0:
            S = add_read_noise(S, d.sigma_read_noise * to_ua, rng)
        S = np.where(valid, S, 0.0)
        off1 = 0.0 if s["off1"] is None else s["off1"]
        phi = np.where(valid, np.clip((S - off1) / self._sat1, 0.0, 1.0), 0.0)
        iv = self._cell_current_ua(st.v, ages, leak_v, s["gain_v"])
        A = np.einsum("bhgc,bhgcd->bhgd", phi.reshape(B, H, G, cols),
                      iv.reshape(B, H, G, cols, D))
        if d.sigma_read_noise > 0:
            A = add_read_noise(A, d.sigma_read_noise * to_ua, rng)
        off2 = 0.0 if s["off2"] is None else s["off2"]
        sub = quantize((A - off2) / self._sat2, d.out_lo, d.out_hi, d.out_levels)
        return sub.sum(axis=2), S, phi, sub

    def _abs_currents_fast(self, st: _State):
        valid, ages = self._ages(st)
        dec = np.exp(-ages * self.cfg.leak_per_step)[None, None, :, None]
        a = self._a
        out = []
        for x in (st.k, st.v):
            w = (x * self._scale - self._offset) * dec
            out.append(np.abs(a[0] + w * (a[1] + w * (a[2] + w * a[3]))))
        return out

    def _step_activity(self, st: _State, qq, phi, sub) -> Activity:
        s = self._static
        valid, ages = self._ages(st)
        if self.engine == "fast":
            ik, iv = self._abs_currents_fast(st)
        else:
            lk = self.cfg.leak_per_step if s["leak_k"] is None else s["leak_k"]
            lv = self.cfg.leak_per_step if s["leak_v"] is None else s["leak_v"]
            ik = np.abs(self._cell_current_ua(st.k, ages, lk, s["gain_k"]))
            iv = np.abs(self._cell_current_ua(st.v, ages, lv, s["gain_v"]))
        ik = ik * valid[None, None, :, None]
        k_abs = float(np.einsum("bhd,bhwd->", qq, ik))
        v_abs = float(np.einsum("bhw,bhwd->", phi, iv))
        B, H, _, D = st.k.shape
        slot = (st.t - 1) % self.cfg.window
        written = self._stored_voltage_sum(st.k[:, :, slot], st.v[:, :, slot])
        return self._activity(1, B, qq, phi, int(valid.sum()), sub, k_abs, v_abs, written)

    def _stored_voltage_sum(self, *stores) -> float:
        """Sum of the stored voltages (V) of DAC codes or voltages."""
        lo = self.cfg.device.kv_lo if self._codes else 0.0
        return float(sum((x.astype(np.float64) * self._scale + lo).sum() for x in stores))

    def _activity(self, T, B, qq, phi, cols_valid, sub, k_abs, v_abs, written) -> Activity:
        """``cols_valid``: stored columns seen by each query, broadcastable to qq[..., 0]."""
        cfg, d = self.cfg, self.cfg.device
        H, D = cfg.n_heads, cfg.head_dim
        to_c = _UA * d.t_max
        qpos = qq > 0
        n_cols_valid = int(np.broadcast_to(cols_valid, qq.shape[:-1]).sum())
        # K cells read: each positive row pulse reaches every stored column of the head.
        k_cells_read = int((qpos.sum(axis=-1) * cols_valid).sum())
        counts = np.rint(np.abs(sub) / self._out_step) if self._out_step > 0 else np.abs(sub)
        lim = max(abs(d.out_lo), abs(d.out_hi))
        return Activity(
            tokens=T, batch=B, n_heads=H, queries=T * B * H,
            cells_written=2 * T * B * H * D, write_voltage_sum=written,
            q_pulses=int(qpos.sum()), q_pulse_width_sum=float(qq.sum()),
            k_cells_read=k_cells_read,
            k_charge_abs=k_abs * to_c,
            stage1_conversions=n_cols_valid,
            phi_pulses=int((phi > 0).sum()), phi_pulse_width_sum=float(phi.sum()),
            phi_saturated=int((phi >= 1.0).sum()),
            v_cells_read=int((phi > 0).sum()) * D, v_charge_abs=v_abs * to_c,
            stage2_conversions=int(sub.size), counter_counts_abs=float(counts.sum()),
            counter_saturated=int((np.abs(sub) >= lim).sum()),
        )

    # -- batched ------------------------------------------------------------------------------
    def _forward_by_steps(self, q, k, v, trace: bool):
        B, H, T, D = q.shape
        st = self._empty_state(B)
        y = np.empty((B, H, T, D))
        trs = []
        for t in range(T):
            y[:, :, t], tr = self._step(st, q[:, :, t], k[:, :, t], v[:, :, t], trace)
            if trace:
                trs.append(tr)
        if not trace:
            return y
        act = trs[0].activity
        for tr in trs[1:]:
            act = act + tr.activity
        act.tokens = T
        out = AttentionTrace(np.stack([t.charge1 for t in trs], axis=2),
                             np.stack([t.phi for t in trs], axis=2),
                             np.stack([t.subarray_out for t in trs], axis=2), act)
        return y, out

    def _forward_fast(self, q, k, v, trace: bool):
        cfg, d = self.cfg, self.cfg.device
        B, H, T, D = q.shape
        W, cols, G = cfg.window, cfg.array_cols, cfg.n_subarrays
        a, sat1, sat2 = self._a, self._sat1, self._sat2
        qq = np.ascontiguousarray(self._pwm(q))
        sumq = qq.sum(axis=-1)
        kst, vst = self._store(k), self._store(v)
        nblk = -(-T // cols)
        Tp = nblk * cols
        wv = np.zeros((B, H, Tp, D))
        wv[:, :, :T] = vst * self._scale - self._offset
        if self._int_stage1:
            qcode = np.rint(qq / self._q_step).astype(np.float32)    # PWM codes
            qcode0 = qcode.sum(axis=-1, dtype=np.float64)
            c = np.zeros((B, H, Tp, D), np.float32)
            c[:, :, :T] = kst
            WK = np.stack([c, c * c, c * c * c], axis=2)             # exact in float32
        else:
            wk = np.zeros((B, H, Tp, D))
            wk[:, :, :T] = kst * self._scale - self._offset
            WK = np.stack([wk, wk * wk, wk * wk * wk], axis=2)       # (B,H,3,Tp,D)
        WV = np.stack([wv, wv * wv, wv * wv * wv], axis=2)
        WVb = np.ascontiguousarray(                                   # (B,H,nblk,3*cols,D)
            WV.reshape(B, H, 3, nblk, cols, D).transpose(0, 1, 3, 2, 4, 5)
            .reshape(B, H, nblk, 3 * cols, D))
        y = np.empty((B, H, T, D))
        if trace:
            tr_S = np.zeros((B, H, T, W))
            tr_phi = np.zeros((B, H, T, W))
            tr_sub = np.empty((B, H, T, G, D))

        def head(bh: int) -> None:
            b, h = divmod(bh, H)
            for t0 in range(0, T, _Q_BLOCK):
                t1 = min(T, t0 + _Q_BLOCK)
                tq = t1 - t0
                k0 = max(0, t0 - W + 1) // cols * cols   # key blocks inside the window
                k1 = -(-t1 // cols) * cols
                nk = k1 - k0
                nb = nk // cols
                if self._int_stage1:
                    Gk = np.matmul(qcode[b, h, t0:t1][None], WK[b, h, :, k0:k1].transpose(0, 2, 1))
                    P = np.empty(Gk.shape)
                    K.powers_from_codes(Gk, qcode0[b, h, t0:t1], self._q_step, self._coef, P)
                else:
                    P = np.matmul(qq[b, h, t0:t1][None], WK[b, h, :, k0:k1].transpose(0, 2, 1))
                S = np.empty((tq, nk))
                phi = np.empty((tq, nk))
                E = np.empty((nb, tq, 3 * cols))
                K.stage1_block(P, sumq[b, h, t0:t1], t0, k0, W, self._dpow, a, sat1, S, phi, E)
                C = np.matmul(E, WVb[b, h, k0 // cols:k1 // cols])     # (nb, tq, D)
                C += (a[0] * phi.reshape(tq, nb, cols).sum(axis=2)).T[:, :, None]
                A = np.zeros((tq, G, D))
                for blk in range(nb):
                    A[:, (k0 // cols + blk) % G] += C[blk]
                sub = np.empty((tq, G, D))
                K.readout_groups(A, sat2, d.out_lo, d.out_hi, self._out_step, sub,
                                 y[b, h, t0:t1])
                if trace:
                    K.scatter_slots(S, k0, W, tr_S[b, h, t0:t1])
                    K.scatter_slots(phi, k0, W, tr_phi[b, h, t0:t1])
                    tr_sub[b, h, t0:t1] = sub

        # Heads are independent: run them on a thread pool (BLAS and the kernels release
        # the GIL) with single-threaded BLAS inside (nested BLAS threads oversubscribe the
        # cores); results do not depend on the number of threads.
        n_threads = min(_n_threads(), B * H)
        with threadpool_limits(limits=1, user_api="blas"):
            if n_threads > 1:
                with ThreadPoolExecutor(n_threads) as pool:
                    list(pool.map(head, range(B * H)))
            else:
                for bh in range(B * H):
                    head(bh)
        if not trace:
            return y
        cols_valid = np.minimum(np.arange(1, T + 1), W)  # stored columns seen by query t
        k_abs = np.empty((B, H))
        v_abs = np.empty((B, H))
        K.charge_abs(qq, tr_phi, np.ascontiguousarray(kst), np.ascontiguousarray(vst),
                     self._scale, self._offset, cfg.leak_per_step, a, k_abs, v_abs)
        written = self._stored_voltage_sum(kst, vst)
        act = self._activity(T, B, qq, tr_phi, cols_valid, tr_sub, float(k_abs.sum()),
                             float(v_abs.sum()), written)
        return y, AttentionTrace(tr_S * _UA * d.t_max, tr_phi, tr_sub, act)


def _n_threads() -> int:
    """Worker threads of the batched engine: ``GAINCELL_THREADS`` or the usable cores."""
    env = os.environ.get("GAINCELL_THREADS")
    if env:
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"GAINCELL_THREADS = {env!r} is invalid: allowed an integer >= 1")
        return n
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def _decay_powers(window: int, leak: float) -> np.ndarray:
    """(window, 4) table of d^i, d = exp(-age * leak), for ages 0 .. window - 1."""
    d = np.exp(-np.arange(window) * leak)
    return np.ascontiguousarray(np.stack([np.ones_like(d), d, d**2, d**3], axis=1))


def _seed_entropy(seed) -> list[int]:
    """Seed -> entropy (non-negative ints) of the simulator's SeedSequence; a Generator gives
    up 128 bits once (so the simulator's streams are fixed from then on)."""
    if isinstance(seed, np.random.Generator):
        return [int(x) for x in seed.integers(0, 2**63, size=2)]
    if isinstance(seed, np.random.SeedSequence):
        ent = seed.entropy
        return ([int(ent)] if np.isscalar(ent) else [int(x) for x in ent]) + \
            [int(x) for x in seed.spawn_key]
    items = list(seed) if isinstance(seed, (tuple, list)) else [seed]
    for x in items:
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0:
            raise ValueError(f"seed = {seed!r} is invalid: allowed an integer >= 0, a tuple of "
                             f"them or a numpy SeedSequence (results must be reproducible)")
    return [int(x) for x in items]

