"""Non-exponential retention: a table of stored voltage against time, interpolated.

A SPICE retention bench (or a measurement) gives the storage-node voltage ``v[m, n]`` (V) at
times ``t_s[n]`` (s, ``t_s[0] = 0``) after writing the level ``v0[m]`` (V): leakage through the
write device's sub-threshold channel and its junctions is not one exponential (the gf180 cell
barely moves for seconds, then slides toward ~0.1 V), so a single ``tau`` and ``v_rest``
misrepresent it. :class:`gaincell.params.RetentionTable` holds the data; this module is the one
interpolation every engine (and the torch twin) uses:

- the change from the write, ``drop[m, n] = v[m, n] - v[m, 0]``, is interpolated linearly in
  the written voltage ``V_w`` between the table's ``v0`` (held at the first / last ``v0``
  beyond them) and linearly in ``x = log(1 + t / t_s[1])`` in time (held at the last time
  beyond the table), and added to ``V_w``: ``V(t) = V_w + drop(V_w, t)``. Using the change,
  not the voltage, keeps what the write stored (pedestal, write noise) and gives
  ``V(0) = V_w`` exactly; for a table with ``v[m, 0] = v0[m]`` it is ``V(t; V_w)`` itself.
- time: ``age`` token steps after the write a cell has floated ``age x token_period``; at
  another temperature than the table's the leakage runs ``tau(t_ref) / tau(T)`` faster
  (Arrhenius, :func:`gaincell.params.tau_at`), and a cell of the retention spread
  ``sigma_tau_mismatch`` ``tau / tau_cell`` faster. With ``leak_cell = token_period /
  tau_cell(T)`` (:class:`gaincell.array._draws.ChipDraws`), the table time is
  ``t = age x leak_cell x tau(t_ref of the table)`` (:func:`seconds_per_leak`).

A table of a single exponential, ``v = v_rest + (v0 - v_rest) exp(-t / tau)`` over the stored
range, reproduces the exponential model at the table's times exactly (the change is linear in
V_w) and between them to the interpolation error of the time grid.
"""

from __future__ import annotations

import numpy as np

from gaincell._checks import as_finite
from gaincell.params import DeviceParams, RetentionTable, tau_at

__all__ = ["RetentionInterp", "retention_voltage", "seconds_per_leak"]


def seconds_per_leak(device: DeviceParams) -> float:
    """Table seconds per unit of leak (``leak = dt / tau_cell``): ``tau`` at the temperature
    the device's retention table was measured at, s (Arrhenius from ``tau`` at ``t_ref``)."""
    rt = device.retention_table
    if rt is None:
        raise ValueError("device.retention_table is None: allowed a RetentionTable")
    return tau_at(device.replace(temperature=rt.t_ref))


class RetentionInterp:
    """The interpolation of one :class:`RetentionTable` (arrays precomputed, float64)."""

    def __init__(self, table: RetentionTable):
        if not isinstance(table, RetentionTable):
            raise ValueError(f"table must be a RetentionTable, got {type(table).__name__}")
        self.table = table
        t = np.asarray(table.t_s, dtype=np.float64)
        #: (N,) log(1 + t / t_s[1]) of the table's times
        self.x = np.log1p(t / t[1])
        self.t1 = float(t[1])
        #: (M,) written voltages, V
        self.v0 = np.asarray(table.v0, dtype=np.float64)
        v = np.asarray(table.v, dtype=np.float64)
        #: (M, N) change since the write, V
        self.drop = v - v[:, :1]

    def _time_index(self, t: np.ndarray):
        x = np.log1p(t / self.t1)
        xt = self.x
        j = np.clip(np.searchsorted(xt, x, side="right") - 1, 0, xt.size - 2)
        fx = np.clip((x - xt[j]) / (xt[j + 1] - xt[j]), 0.0, 1.0)
        return j, fx

    def __call__(self, v_written, t) -> np.ndarray:
        """Stored voltage (V) at times ``t`` (s, >= 0) after writing ``v_written`` (V); the
        two broadcast together."""
        vw = np.asarray(v_written, dtype=np.float64)
        t = np.asarray(t, dtype=np.float64)
        j, fx = self._time_index(t)
        D = self.drop
        if self.v0.size == 1:
            d = (1.0 - fx) * D[0, j] + fx * D[0, j + 1]
            return vw + d
        v0 = self.v0
        i = np.clip(np.searchsorted(v0, vw, side="right") - 1, 0, v0.size - 2)
        fv = np.clip((vw - v0[i]) / (v0[i + 1] - v0[i]), 0.0, 1.0)
        lo = (1.0 - fx) * D[i, j] + fx * D[i, j + 1]
        hi = (1.0 - fx) * D[i + 1, j] + fx * D[i + 1, j + 1]
        return vw + ((1.0 - fv) * lo + fv * hi)


def retention_voltage(table: RetentionTable, v_written, t) -> np.ndarray:
    """Stored voltage (V) at times ``t`` (s, >= 0, finite) after writing ``v_written`` (V)
    (module docstring); a checked one-off form of :class:`RetentionInterp`."""
    vw = as_finite("v_written", v_written)
    tt = as_finite("t", t)
    if tt.size and tt.min() < 0:
        raise ValueError(f"t has negative entries (min {tt.min()!r} s): allowed >= 0 s")
    return RetentionInterp(table)(vw, tt)
