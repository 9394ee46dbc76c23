"""Cell transfer: read current of a gain cell vs stored voltage and read word-line voltage.

Three models, chosen by ``DeviceParams.cell_model``:

``poly``   the paper's Eq. 4, ``I = sum_{i+j<=3} C_ij w^i V_in^j`` with ``w = V_store - V0``
           (V0 = ``v_weight_zero``), C_ij in microamps (preset: the paper's fit);
``linear`` the paper's intermediate model, ``I = g w`` (g = 19.3 uA/V in the preset);
``table``  a smooth 2-D interpolation (bicubic spline; cubic in V_store alone when the sweep
           has one V_in column) of a measured or simulated sweep ``IVTable``.

During an input pulse the read word line sits at ``v_read``, so the attention kernels only
need the *read current* ``I_read(w)`` at that voltage: :meth:`CellTransfer.read_poly_ua` gives
its polynomial coefficients ``a_i`` (microamps per V^i) for the polynomial models, and
:meth:`CellTransfer.read_lut` a dense lookup table for the table model. A pulse of width
``t`` delivers the charge ``I_read * t`` to the bit line (the idle word line carries no
current). The read current includes two effects of the read itself, both off in the preset:
read disturb (the storage node sits ``read_disturb_v`` above its stored value while the pulse
is on, ``I_read(w) = I(w + dV)``) and the read current's temperature coefficient (a factor
``read_current_scale``). :meth:`CellTransfer.current` is the bare I-V characteristic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from gaincell._checks import as_finite
from gaincell.params import UA as _UA
from gaincell.params import DeviceParams

__all__ = ["CellTransfer", "poly_read_coeffs_ua", "eval_poly", "interp_lut",
           "linear_equivalent_gain_ua_per_v"]

#: Points of the dense V_store lookup table that stands in for the spline inside kernels.
#: Linear interpolation on 4097 points of a cubic spline over 0.9 V errs by < 1e-6 of full scale.
LUT_POINTS = 4097


def poly_read_coeffs_ua(c_ua, v_in: float) -> np.ndarray:
    """``a_i = sum_j C_ij v_in^j`` (microamps per V^i), i = 0..3: the cubic ``I(w)`` at ``v_in``."""
    c = np.asarray(c_ua, dtype=np.float64)
    return np.array([sum(c[i, j] * v_in**j for j in range(4 - i)) for i in range(4)])


@njit(cache=True)
def _horner(a, w):  # pragma: no cover - compiled
    acc = 0.0
    for i in range(a.size - 1, -1, -1):
        acc = acc * w + a[i]
    return acc


@njit(cache=True)
def _eval_poly_kernel(a, w, out):  # pragma: no cover - compiled
    fw = w.ravel()
    fo = out.ravel()
    for n in range(fw.size):
        fo[n] = _horner(a, fw[n])


def eval_poly(a, w) -> np.ndarray:
    """Evaluate ``sum_i a[i] w^i`` elementwise (Numba kernel; ``a`` in any current unit)."""
    a = np.ascontiguousarray(as_finite("a", a, ndim=1))
    w = np.ascontiguousarray(as_finite("w", w))
    out = np.empty_like(w)
    _eval_poly_kernel(a, w, out)
    return out


@njit(cache=True)
def _interp_lut_scalar(x0, dx, lut, x):  # pragma: no cover - compiled
    n = lut.size
    u = (x - x0) / dx
    if u <= 0.0:
        return lut[0]
    if u >= n - 1:
        return lut[n - 1]
    k = int(u)
    f = u - k
    return lut[k] + f * (lut[k + 1] - lut[k])


@njit(cache=True)
def _interp_lut_kernel(x0, dx, lut, x, out):  # pragma: no cover - compiled
    fx = x.ravel()
    fo = out.ravel()
    for n in range(fx.size):
        fo[n] = _interp_lut_scalar(x0, dx, lut, fx[n])


def interp_lut(x0: float, dx: float, lut, x) -> np.ndarray:
    """Linear interpolation on a uniform grid ``x0 + k dx`` (clamped at the ends)."""
    lut = np.ascontiguousarray(as_finite("lut", lut, ndim=1))
    x = np.ascontiguousarray(as_finite("x", x))
    out = np.empty_like(x)
    _interp_lut_kernel(float(x0), float(dx), lut, x, out)
    return out


@dataclass(frozen=True)
class ReadLUT:
    """Dense table of the read current vs the signed weight at ``v_read``.

    ``i_ua[k]`` is the current (microamps) at ``w = w0 + k * dw`` (V); outside the grid
    the end values hold.
    """

    w0: float
    dw: float
    i_ua: np.ndarray


class CellTransfer:
    """Read current of one gain cell, from :class:`~gaincell.params.DeviceParams`.

    Parameters
    ----------
    device : DeviceParams
        ``cell_model``, ``poly_c_ua``, ``linear_gain_ua_per_v``, ``iv_table``,
        ``v_weight_zero`` and ``v_read`` are used.
    """

    def __init__(self, device: DeviceParams):
        if not isinstance(device, DeviceParams):
            raise ValueError(f"device must be a DeviceParams, got {type(device).__name__}")
        self.device = device
        self._spline = None

    # -- the full characteristic --------------------------------------------------------------
    def current(self, v_store, v_in=None) -> np.ndarray:
        """Read current, A, at stored voltage ``v_store`` (V) and word line ``v_in`` (V).

        ``v_in`` defaults to ``device.v_read``; arrays broadcast. The polynomial models
        follow their formula outside the measured range; the table model clamps to it.
        """
        d = self.device
        vs = as_finite("v_store", v_store)
        vi = as_finite("v_in", d.v_read if v_in is None else v_in)
        vs, vi = np.broadcast_arrays(vs, vi)
        w = vs - d.v_weight_zero
        if d.cell_model == "poly":
            c = np.asarray(d.poly_c_ua)
            i_ua = sum(c[i, j] * w**i * vi**j for i in range(4) for j in range(4 - i))
            return np.asarray(i_ua, dtype=np.float64) * _UA
        if d.cell_model == "linear":
            # The paper's linear model has no V_in dependence while the pulse is on; the
            # idle word line (V_in <= v_read_idle) carries no current.
            on = vi > d.v_read_idle
            return np.where(on, d.linear_gain_ua_per_v * w * _UA, 0.0)
        return self._table_current(vs, vi)

    def charge(self, v_store, pulse_width, v_in=None) -> np.ndarray:
        """Charge, C, a pulse of ``pulse_width`` seconds delivers to the bit line."""
        t = as_finite("pulse_width", pulse_width)
        if t.size and t.min() < 0:
            raise ValueError(f"pulse_width has negative entries (min {t.min()!r} s): "
                             f"allowed >= 0 s")
        return self.current(v_store, v_in) * t

    # -- what the attention kernels use --------------------------------------------------------
    @property
    def is_polynomial(self) -> bool:
        """True when ``I(w)`` at ``v_read`` is a cubic polynomial (poly and linear models)."""
        return self.device.cell_model in ("poly", "linear")

    def read_poly_ua(self) -> np.ndarray:
        """Coefficients ``a_i`` (uA per V^i, i = 0..3) of ``I(w)`` at ``v_read``.

        Preset: ``[0.52136361, 13.61226063, -2.62044562, 46.05483778]``.
        """
        d = self.device
        if d.cell_model == "poly":
            a = poly_read_coeffs_ua(d.poly_c_ua, d.v_read)
        elif d.cell_model == "linear":
            a = np.array([0.0, d.linear_gain_ua_per_v, 0.0, 0.0])
        else:
            raise ValueError("cell_model = 'table' has no polynomial read coefficients: "
                             "allowed for 'poly' or 'linear' (use read_lut)")
        dv, g = d.read_disturb_v, d.read_current_scale
        if dv != 0.0:   # I(w + dv) = sum_i a_i (w + dv)^i, re-expanded in powers of w
            a = np.array([sum(math.comb(i, k) * a[i] * dv ** (i - k) for i in range(k, 4))
                          for k in range(4)])
        return a * g if g != 1.0 else a

    def read_lut(self, points: int = LUT_POINTS) -> ReadLUT:
        """Dense lookup table of ``I(w)`` in microamps at ``v_read``, over the stored range
        ``[0, vdd]`` (any cell model)."""
        d = self.device
        v = np.linspace(0.0, d.vdd, points)
        i_ua = self.read_current(v) / _UA
        return ReadLUT(w0=-d.v_weight_zero, dw=d.vdd / (points - 1), i_ua=i_ua)

    def read_current(self, v_store) -> np.ndarray:
        """Current, A, during a read pulse of a cell storing ``v_store`` (V): the I-V at
        ``v_read`` with read disturb and the temperature factor (module docstring)."""
        d = self.device
        vs = as_finite("v_store", v_store)
        i = self.current(vs + d.read_disturb_v if d.read_disturb_v != 0.0 else vs, d.v_read)
        return i * d.read_current_scale if d.read_current_scale != 1.0 else i

    def read_current_w(self, w) -> np.ndarray:
        """Read current, A, for signed weights ``w`` (V) (:meth:`read_current`)."""
        return self.read_current(as_finite("w", w) + self.device.v_weight_zero)

    # -- table model ---------------------------------------------------------------------------
    def _table_current(self, vs: np.ndarray, vi: np.ndarray) -> np.ndarray:
        t = self.device.iv_table
        gs, gi = np.asarray(t.v_store), np.asarray(t.v_in)
        io = np.asarray(t.i_out)
        vs_c = np.clip(vs, gs[0], gs[-1])
        if self._spline is None:
            from scipy.interpolate import CubicSpline, RectBivariateSpline

            # cubic where the grid allows it (a spline of order k needs k + 1 points)
            kx, ky = min(3, gs.size - 1), min(3, gi.size - 1)
            if gi.size == 1:
                self._spline = ("1d", CubicSpline(gs, io[:, 0]) if gs.size >= 4 else
                                (lambda x: np.interp(x, gs, io[:, 0])))
            else:
                self._spline = ("2d", RectBivariateSpline(gs, gi, io, kx=kx, ky=ky, s=0))
        kind, sp = self._spline
        if kind == "1d":
            return np.asarray(sp(vs_c), dtype=np.float64)
        vi_c = np.clip(vi, gi[0], gi[-1])
        return np.asarray(sp(vs_c.ravel(), vi_c.ravel(), grid=False)).reshape(vs.shape)



def linear_equivalent_gain_ua_per_v(device: DeviceParams, n: int = 257) -> float:
    """The cell as a linear one: the least-squares slope through the origin of its read
    current ``I_read(w)`` (:meth:`CellTransfer.read_current`) over the stored range
    ``[kv_lo, kv_hi]``, uA/V (``w = V_store - v_weight_zero``); the gain of the ideal
    reference attention built from a design's own cell."""
    if not isinstance(device, DeviceParams):
        raise ValueError(f"device must be a DeviceParams, got {type(device).__name__}")
    v = np.linspace(device.kv_lo, device.kv_hi, int(n))
    w = v - device.v_weight_zero
    i_ua = CellTransfer(device).read_current(v) / _UA
    den = float(np.sum(w * w))
    if den == 0:
        raise ValueError("the stored range [kv_lo, kv_hi] gives no signed weight: allowed a "
                         "range around v_weight_zero")
    return float(np.sum(i_ua * w) / den)
