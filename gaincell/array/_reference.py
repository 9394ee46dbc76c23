"""The reference engine: every device option in plain vectorized NumPy, one token at a time.

Slow and written to be read: it follows the dataflow of ``attention.py``'s docstring step by
step, with the chip's static draws and the per-token noise of :mod:`gaincell.array._draws`.
The fast engine is tested against it to 1e-12 (``tests/test_array_engines.py``).
"""

from __future__ import annotations

import numpy as np

from gaincell.array._design import Design, Read
from gaincell.array._draws import TokenNoise, token_noise
from gaincell.array._state import RingBuffer, slot_ages
from gaincell.device.quantize import quantize
from gaincell.device.transfer import interp_lut

__all__ = ["ReferenceEngine"]


class ReferenceEngine:
    """Vectorized NumPy engine (any device option)."""

    name = "reference"

    def __init__(self, design: Design):
        self.g = design

    def _current(self, v_stored, ages, leak, gain, vth=None):
        """Current (uA) of cells written to ``v_stored`` (V) after ``ages`` steps (per slot):
        the node relaxes (exponentially toward ``v_rest``, or along the retention table),
        the read device's threshold offset ``vth`` (V) adds, and the cell conducts
        ``I(w)``, ``w = V_node + vth - v_weight_zero``, times its gain."""
        g, d = self.g, self.g.cfg.device
        a = ages[None, None, :, None]
        if g.retention is None:
            dec = np.exp(-a * leak)
            w = d.v_rest - d.v_weight_zero + (v_stored - d.v_rest) * dec
        else:   # table time: age x leak_cell x tau(table's t_ref), s
            v_node = g.retention(v_stored, a * (np.asarray(leak, np.float64)
                                                * g.table_s_per_leak))
            w = v_node - d.v_weight_zero
        if vth is not None:
            w = w + vth
        if self.g.a is not None:
            a = self.g.a
            i = a[0] + w * (a[1] + w * (a[2] + w * a[3]))
        else:
            lut = self.g.lut
            i = interp_lut(lut.w0, lut.dw, lut.i_ua, w)
        return i if gain is None else i * gain

    def step(self, st: RingBuffer, qq, k, v, noise: TokenNoise, trace: bool) -> Read:
        g, cfg, d, chip = self.g, self.g.cfg, self.g.cfg.device, self.g.chip
        W, G, cols = cfg.window, cfg.n_subarrays, cfg.array_cols
        wr = g.writer
        # 1. write token t into slot t mod W
        ks = wr.store(k, None if noise.write_k is None else noise.write_k[0])
        vs = wr.store(v, None if noise.write_v is None else noise.write_v[0])
        slot = st.t % W
        st.k[:, :, slot] = ks
        st.v[:, :, slot] = vs
        st.t += 1
        valid, ages = slot_ages(st.t - 1, W)
        leak_k = cfg.leak_per_step if chip.leak_k is None else chip.leak_k
        leak_v = cfg.leak_per_step if chip.leak_v is None else chip.leak_v
        # 2. first dot product, read noise, 3. charge-to-pulse with comparator offsets
        ik = self._current(wr.voltage(st.k), ages, leak_k, chip.gain_k, chip.vth_k)
        S = np.einsum("bhd,bhwd->bhw", qq, ik)
        if noise.read1 is not None:
            S = S + noise.read1[0]
        S = np.where(valid, S, 0.0)
        off1 = 0.0 if chip.off1 is None else chip.off1
        phi = np.where(valid, np.clip((S - off1) / g.sat1, 0.0, 1.0), 0.0)
        # 4. second dot product per sub-array, read noise, signed counters; 5. digital sum
        iv = self._current(wr.voltage(st.v), ages, leak_v, chip.gain_v, chip.vth_v)
        B, H, _, D = st.k.shape
        A = np.einsum("bhgc,bhgcd->bhgd", phi.reshape(B, H, G, cols),
                      iv.reshape(B, H, G, cols, D))
        if noise.read2 is not None:
            A = A + noise.read2[0]
        off2 = 0.0 if chip.off2 is None else chip.off2
        sub = quantize((A - off2) / g.sat2, d.out_lo, d.out_hi, d.out_levels)
        y = sub.sum(axis=2)
        if not trace:
            return Read(y)
        k_abs = float(np.einsum("bhd,bhwd->", qq, np.abs(ik) * valid[None, None, :, None]))
        v_abs = float(np.einsum("bhw,bhwd->", phi, np.abs(iv)))
        return Read(y, S, phi, sub, k_abs, v_abs, wr.voltage_sum(ks, vs))

    def forward(self, qq, k, v, trace: bool) -> Read:
        g = self.g
        B, H, T, D = qq.shape
        st = g.writer.empty(B)
        y = np.empty((B, H, T, D))
        reads = []
        for t in range(T):
            noise = token_noise(g.cfg, g.entropy, t, 1, B)
            r = self.step(st, qq[:, :, t], k[:, :, t], v[:, :, t], noise, trace)
            y[:, :, t] = r.y
            if trace:
                reads.append(r)
        if not trace:
            return Read(y)
        return Read(y, np.stack([r.S for r in reads], axis=2),
                    np.stack([r.phi for r in reads], axis=2),
                    np.stack([r.sub for r in reads], axis=2),
                    sum(r.k_abs for r in reads), sum(r.v_abs for r in reads),
                    sum(r.written for r in reads))
