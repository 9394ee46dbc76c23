"""A gain-cell sub-array and a K/V tile pair, written cell by cell from the device layer.

These classes model the hardware structurally (SI units throughout: V, s, A, C) and serve as
an explicit, readable counterpart of the vectorized engine in :mod:`gaincell.array.attention`;
:class:`TiledHead` assembles W / array_cols tile pairs into a ring-buffer head. They are slow
and meant for small arrays (teaching, SPICE-sized tiles, cross-checks). They support the
polynomial, linear and table cell models, leakage (exponential or a retention table) and the
write pedestal, without noise or mismatch.
"""

from __future__ import annotations

import numpy as np

from gaincell._checks import as_finite
from gaincell.device.leakage import decay_factor
from gaincell.device.pedestal import write_pedestal
from gaincell.device.quantize import counter, dac, pwm
from gaincell.device.readout import hardsigmoid
from gaincell.device.retention_table import RetentionInterp, seconds_per_leak
from gaincell.device.transfer import CellTransfer
from gaincell.params import AttentionConfig, DeviceParams

__all__ = ["SubArray", "TilePair", "TiledHead"]


class SubArray:
    """``rows`` word lines x ``cols`` bit lines of gain cells.

    Each cell holds a storage voltage (V) written at a token step; while its word line pulses
    (at ``v_read``) it adds ``I(V_store(age)) x pulse width`` to its bit line, where the stored
    voltage relaxes toward ``v_rest`` by ``exp(-age * leak_per_step)``, or follows the
    device's retention table at ``age x leak_per_step x tau(table's t_ref)`` seconds.
    """

    def __init__(self, rows: int, cols: int, device: DeviceParams, leak_per_step: float):
        self.rows, self.cols = int(rows), int(cols)
        self.device = device
        self.leak = float(leak_per_step)
        self.transfer = CellTransfer(device)
        self.v_store = np.full((self.rows, self.cols), device.v_rest)
        self.t_write = np.full((self.rows, self.cols), -1, dtype=np.int64)
        table = device.retention_table
        self._table = None if table is None else RetentionInterp(table)
        self._s_per_leak = None if table is None else seconds_per_leak(device)

    def write(self, voltages, t: int, row: int | None = None, col: int | None = None) -> None:
        """Write one column (``col``) or one row (``row``) at token step ``t`` (voltages, V)."""
        if (row is None) == (col is None):
            raise ValueError("write needs exactly one of row= or col=")
        v = as_finite("voltages", voltages, ndim=1)
        n, idx, name = ((self.rows, col, "col") if col is not None
                        else (self.cols, row, "row"))
        limit = self.cols if col is not None else self.rows
        if isinstance(idx, bool) or not isinstance(idx, (int, np.integer)) or not 0 <= idx < limit:
            raise ValueError(f"{name} = {idx!r} is invalid: allowed 0 .. {limit - 1}")
        if v.size != n:
            raise ValueError(f"voltages has {v.size} entries: allowed {n} (one per cell)")
        if col is not None:
            self.v_store[:, col] = v
            self.t_write[:, col] = t
        else:
            self.v_store[row, :] = v
            self.t_write[row, :] = t

    def stored_at(self, t: int) -> np.ndarray:
        """Stored voltages (V) at token step ``t`` (after leakage)."""
        d = self.device
        age = np.maximum(t - self.t_write, 0)
        if self._table is not None:
            return self._table(self.v_store, age * self.leak * self._s_per_leak)
        return d.v_rest + (self.v_store - d.v_rest) * decay_factor(age, self.leak)

    def read(self, pulse_widths, t: int) -> np.ndarray:
        """Bit-line charges (C) when row r pulses for ``pulse_widths[r]`` seconds at step t.

        Cells never written hold no charge.
        """
        i = self.transfer.read_current(self.stored_at(t))        # (rows, cols) A
        i = np.where(self.t_write >= 0, i, 0.0)
        return as_finite("pulse_widths", pulse_widths, ndim=1) @ i


class TilePair:
    """A K sub-array (head_dim rows x cols tokens), the first-stage charge-to-pulse converters,
    a V sub-array (cols token rows x head_dim columns) and its signed counters."""

    def __init__(self, cfg: AttentionConfig):
        self.cfg = cfg
        d = cfg.device
        self.k = SubArray(cfg.head_dim, cfg.array_cols, d, cfg.leak_per_step)
        self.v = SubArray(cfg.array_cols, cfg.head_dim, d, cfg.leak_per_step)

    def write_token(self, col: int, k, v, t: int) -> None:
        """Store key ``k`` and value ``v`` (V, before the DAC) of token ``t`` in column ``col``:
        the DAC level plus the write pedestal, within [0, vdd]."""
        d = self.cfg.device

        def written(x):
            lv = dac(x, d)
            return np.clip(lv + write_pedestal(lv, d), 0.0, d.vdd) if d.has_pedestal else lv

        self.k.write(written(k), t, col=col)
        self.v.write(written(v), t, row=col)

    def read(self, q_pulses, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Query pulses (s) -> (phi per column as a fraction of T_max, counter outputs (D,))."""
        d = self.cfg.device
        phi = hardsigmoid(self.k.read(q_pulses, t), d.stage1_q_sat)
        phi = np.where(self.k.t_write[0] >= 0, phi, 0.0)
        a = self.v.read(phi * d.t_max, t)
        return phi, counter(a / d.stage2_q_sat, d)


class TiledHead:
    """One attention head built from W / array_cols :class:`TilePair` objects as a ring buffer."""

    def __init__(self, cfg: AttentionConfig):
        self.cfg = cfg
        self.tiles = [TilePair(cfg) for _ in range(cfg.n_subarrays)]
        self.t = 0

    def step(self, q, k, v) -> np.ndarray:
        """Write token ``t`` into column ``t mod W`` and read it with query ``q`` (fraction of
        T_max); returns the digital sum of the sub-array counters (D,)."""
        cfg = self.cfg
        for name, x in (("q", q), ("k", k), ("v", v)):
            if np.shape(x) != (cfg.head_dim,):
                raise ValueError(f"{name} has shape {np.shape(x)}: allowed ({cfg.head_dim},)")
        slot = self.t % cfg.window
        self.tiles[slot // cfg.array_cols].write_token(slot % cfg.array_cols, k, v, self.t)
        pulses = pwm(q, cfg.device) * cfg.device.t_max
        y = sum(tile.read(pulses, self.t)[1] for tile in self.tiles)
        self.t += 1
        return y
