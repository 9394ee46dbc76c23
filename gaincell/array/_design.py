"""What both attention engines share: a design's derived constants and the engine protocol.

Internal units: currents in microamps, pulse widths in units of T_max, charges in
uA x T_max (the paper's units: the preset's first stage saturates at 80, the second at 40).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from gaincell.array._draws import ChipDraws, TokenNoise, draw_chip
from gaincell.array._state import RingBuffer, Writer
from gaincell.array.activity import Activity
from gaincell.device.quantize import quantizer_step
from gaincell.device.retention_table import RetentionInterp, seconds_per_leak
from gaincell.device.transfer import CellTransfer
from gaincell.params import UA as _UA
from gaincell.params import AttentionConfig

__all__ = ["Design", "Read", "Engine", "activity_of"]


class Design:
    """Derived constants of one simulated chip (its config, its seed's static draws)."""

    def __init__(self, cfg: AttentionConfig, entropy: list[int]):
        d = cfg.device
        self.cfg = cfg
        self.entropy = entropy
        self.writer = Writer(cfg)
        tr = CellTransfer(d)
        #: (4,) cubic I(w) at v_read, uA / V^i, or None for the table cell
        self.a = tr.read_poly_ua() if tr.is_polynomial else None
        #: dense table of I(w) (uA) for the table cell, else None
        self.lut = None if tr.is_polynomial else tr.read_lut()
        self.sat1 = d.stage1_sat_ua_tmax
        self.sat2 = d.stage2_sat_ua_tmax
        self.out_step = quantizer_step(d.out_lo, d.out_hi, d.out_levels)
        self.q_step = quantizer_step(d.q_lo, d.q_hi, d.q_levels)
        self.to_ua = 1.0 / (_UA * d.t_max)
        #: (W,) retained fraction exp(-age * leak_per_step) of the stored deviation by age
        self.dtab = np.exp(-np.arange(cfg.window) * cfg.leak_per_step)
        #: the paper's model and its quantization/leakage variants (the preset family)
        self.is_preset = bool(tr.is_polynomial and d.v_rest == d.v_weight_zero
                              and not d.has_noise and not d.has_pedestal
                              and d.retention_table is None)
        self.chip: ChipDraws = draw_chip(cfg, entropy) if d.has_noise else ChipDraws()
        #: the retention table's interpolation and its seconds per unit of leak, or None
        self.retention = None if d.retention_table is None else RetentionInterp(
            d.retention_table)
        self.table_s_per_leak = (None if d.retention_table is None
                                 else seconds_per_leak(d))
        #: effects of this design that the fast engine does not model (none today: a new
        #: effect listed here runs on the reference engine with ``engine="auto"`` and is
        #: refused by ``"fast"`` until the kernels model it)
        self.fast_unsupported: tuple[str, ...] = ()
        self._check_range()

    def _check_range(self) -> None:
        """Refuse a cell whose currents would overflow float64 in the bit-line sums."""
        cfg, d = self.cfg, self.cfg.device
        if self.a is not None:
            i_max = sum(abs(float(c)) * d.vdd**i for i, c in enumerate(self.a))
            what = (f"poly_c_ua (read coefficients {self.a.tolist()} uA/V^i)"
                    if d.cell_model == "poly" else f"linear_gain_ua_per_v = "
                    f"{d.linear_gain_ua_per_v}")
        else:
            i_max = float(np.abs(self.lut.i_ua).max())
            what = "iv_table (currents)"
        gain = 1.0 + 40.0 * d.sigma_gain_mismatch
        bound = i_max * gain * (cfg.head_dim + cfg.window) * 64.0
        if not (math.isfinite(bound) and bound < 1e290):
            raise ValueError(f"{what} is invalid: currents up to {i_max:.3g} uA overflow the "
                             f"bit-line sums; allowed currents below about "
                             f"{1e290 / (gain * (cfg.head_dim + cfg.window) * 64):.3g} uA "
                             f"over the stored range [0, vdd]")


@dataclass
class Read:
    """What an engine returns: outputs ``y`` and, for traces, the charges ``S`` (uA x T_max)
    and pulses ``phi`` per slot, the sub-array outputs ``sub``, and the absolute charge sums
    ``k_abs``, ``v_abs`` (uA x T_max) moved through the cells."""

    y: np.ndarray
    S: np.ndarray | None = None
    phi: np.ndarray | None = None
    sub: np.ndarray | None = None
    k_abs: float = 0.0
    v_abs: float = 0.0
    written: float = 0.0


class Engine(Protocol):
    """An attention engine: one token into a ring buffer, or whole sequences."""

    name: str

    def step(self, st: RingBuffer, qq: np.ndarray, k: np.ndarray, v: np.ndarray,
             noise: TokenNoise, trace: bool) -> Read:
        """Write token ``st.t`` (k, v voltages (B, H, D)) and read it with pulses qq."""

    def forward(self, qq: np.ndarray, k: np.ndarray, v: np.ndarray, trace: bool) -> Read:
        """Sequences (B, H, T, D) from an empty buffer; equal to T steps."""


def activity_of(design: Design, T: int, B: int, qq, phi, cols_valid, sub, k_abs: float,
                v_abs: float, written: float) -> Activity:
    """Activity counts of a read (``cols_valid``: stored columns seen by each query,
    broadcastable to qq[..., 0])."""
    cfg, d = design.cfg, design.cfg.device
    H, D = cfg.n_heads, cfg.head_dim
    to_c = _UA * d.t_max
    qpos = qq > 0
    n_cols_valid = int(np.broadcast_to(cols_valid, qq.shape[:-1]).sum())
    k_cells_read = int((qpos.sum(axis=-1) * cols_valid).sum())
    step = design.out_step
    counts = np.rint(np.abs(sub) / step) if step > 0 else np.abs(sub)
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
