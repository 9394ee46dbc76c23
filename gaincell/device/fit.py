"""Fitting the behavioural cell model to an I-V sweep (measured or from SPICE).

``fit_cell(table, v_in=0.9)`` fits the cubic ``I(w) = sum_i a_i w^i`` to the sweep's column at
one read voltage, the way the paper obtained its C_ij: fitting the paper's own sweep gives
``a = [0.52136361, 13.61226063, -2.62044562, 46.05483778]`` uA to about 1e-8.
``fit_cell(table)`` (no ``v_in``) fits the full Eq. 4 surface, ``sum_{i+j<=3} C_ij w^i V_in^j``,
over every grid point (optionally only over ``v_in_range``), capturing the V_in dependence.
Both are ordinary linear least squares and report their residuals.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gaincell._checks import as_finite, check_range
from gaincell.device.transfer import poly_read_coeffs_ua
from gaincell.params import UA as _UA
from gaincell.params import DeviceParams, IVTable

__all__ = ["CellFit", "fit_cell", "fit_poly", "MIN_FULL_SCALE_A"]

#: Smallest full-scale read current a fit accepts, A (assumption: 1 nA, three decades below
#: any gain cell of interest and six above the femtoampere leakage floor; a sweep below it is
#: a dead cell, whose "fit" would be noise).
MIN_FULL_SCALE_A = 1e-9


@dataclass(frozen=True)
class CellFit:
    """Result of a cell-model fit.

    Attributes
    ----------
    c_ua : numpy.ndarray
        4 x 4 coefficients C_ij (uA per V^(i+j)) of Eq. 4; for a 1-D fit only column j = 0
        is non-zero and equals ``a_ua`` (the fit then holds at ``v_in`` only).
    a_ua : numpy.ndarray
        The cubic in w at the fit's read voltage (or at ``v_read`` of the 2-D fit), uA/V^i.
    v_in : float or None
        Read voltage of a 1-D fit, V; None for a 2-D fit.
    v_in_span : (float, float)
        Read voltages the fit holds at, V: ``(v_in, v_in)`` for a 1-D fit, the fitted sweep's
        range for a 2-D fit (becomes ``DeviceParams.poly_v_in_range``).
    residuals : numpy.ndarray
        Data minus model at every fitted point, A.
    rms : float
        Root-mean-square residual, A.
    max_abs : float
        Largest absolute residual, A.
    full_scale : float
        Largest absolute current in the fitted data, A.
    """

    c_ua: np.ndarray
    a_ua: np.ndarray
    v_in: float | None
    residuals: np.ndarray
    rms: float
    max_abs: float
    full_scale: float
    v_in_span: tuple[float, float] | None = None

    @property
    def max_rel_full_scale(self) -> float:
        """Largest residual as a fraction of full-scale current."""
        return self.max_abs / self.full_scale

    def device(self, base: DeviceParams | None = None) -> DeviceParams:
        """``base`` (default: the leroux2025 device) with this fit as its polynomial cell.

        A 1-D fit also sets ``v_read`` to the voltage it was fitted at; both set
        ``poly_v_in_range`` to the read voltages the fit holds at.
        """
        base = DeviceParams() if base is None else base
        changes = {"cell_model": "poly", "poly_c_ua": tuple(map(tuple, self.c_ua))}
        if self.v_in_span is not None:
            changes["poly_v_in_range"] = tuple(self.v_in_span)
        if self.v_in is not None:
            changes["v_read"] = self.v_in
        return dataclasses.replace(base, **changes)

    def summary(self) -> str:
        """One paragraph: coefficients and residuals."""
        a = ", ".join(f"{x:.8f}" for x in self.a_ua)
        where = f"at V_in = {self.v_in} V" if self.v_in is not None else "2-D (Eq. 4)"
        return (f"cell fit {where}: a = [{a}] uA/V^i; rms residual {self.rms * 1e9:.3f} nA, "
                f"max {self.max_abs * 1e9:.3f} nA = {100 * self.max_rel_full_scale:.3f} % of "
                f"full scale ({self.full_scale * 1e6:.3f} uA)")


def fit_poly(w, current, degree: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares polynomial ``sum_i a_i w^i`` (i <= degree) through ``(w, current)``.

    Returns ``(a, residuals)`` in the unit of ``current``.
    """
    w = as_finite("w", w, ndim=1)
    y = as_finite("current", current, ndim=1)
    if w.shape != y.shape:
        raise ValueError(f"w and current must have the same length, got {w.size} and {y.size}")
    if not isinstance(degree, int) or degree < 0:
        raise ValueError(f"degree = {degree!r} is invalid: allowed an integer >= 0")
    if w.size <= degree:
        raise ValueError(f"{w.size} points cannot fit a degree-{degree} polynomial: "
                         f"allowed at least {degree + 1}")
    A = np.vander(w, degree + 1, increasing=True)
    a, *_ = np.linalg.lstsq(A, y, rcond=None)
    return a, y - A @ a


def fit_cell(table: IVTable, v_in: float | None = None, v_weight_zero: float = 0.45,
             v_in_range: tuple[float, float] | None = None,
             v_read: float = 0.9) -> CellFit:
    """Fit the polynomial cell model to a sweep.

    Parameters
    ----------
    table : IVTable
        The sweep (``i_out`` in A over ``v_store`` x ``v_in``).
    v_in : float, optional
        Fit the cubic in w at this read voltage, V (must be on the sweep's ``v_in`` grid to
        within 1 uV). Omit it for the 2-D fit of Eq. 4.
    v_weight_zero : float
        Stored voltage of weight zero, V (w = V_store - v_weight_zero).
    v_in_range : (float, float), optional
        2-D fit only: restrict to ``lo <= V_in <= hi`` (V).
    v_read : float
        2-D fit only: read voltage at which ``a_ua`` is reported, V.
    """
    if not isinstance(table, IVTable):
        raise ValueError(f"table must be an IVTable, got {type(table).__name__}")
    v_weight_zero = float(as_finite("v_weight_zero", v_weight_zero, ndim=0))
    v_read = float(as_finite("v_read", v_read, ndim=0))
    if v_in is not None:
        v_in = float(as_finite("v_in", v_in, ndim=0))
    if v_in_range is not None:
        v_in_range = check_range("v_in_range[0]", v_in_range[0], "v_in_range[1]", v_in_range[1])
    vs = np.asarray(table.v_store)
    vi = np.asarray(table.v_in)
    io = np.asarray(table.i_out)
    w = vs - float(v_weight_zero)
    span = float(np.abs(io).max()) if io.size else 0.0
    if not span >= MIN_FULL_SCALE_A:
        raise ValueError(
            f"table.i_out: the cell's current range |I| max = {span:.3g} A is invalid: allowed "
            f">= {MIN_FULL_SCALE_A:g} A (a dead cell: check the cell netlist, its supplies and "
            f"its read word lines)")
    if v_in is not None:
        k = int(np.argmin(np.abs(vi - v_in)))
        if abs(vi[k] - v_in) > 1e-6:
            raise ValueError(f"v_in = {v_in!r} V is not on the sweep's grid: allowed one of "
                             f"{vi.min():.4g} .. {vi.max():.4g} V at the grid points")
        if not float(np.abs(io[:, k]).max()) >= MIN_FULL_SCALE_A:
            raise ValueError(
                f"table.i_out at v_in = {vi[k]:.4g} V: the cell's current range |I| max = "
                f"{float(np.abs(io[:, k]).max()):.3g} A is invalid: allowed >= "
                f"{MIN_FULL_SCALE_A:g} A (a dead cell at the read voltage)")
        a, res = fit_poly(w, io[:, k] / _UA, 3)
        c = np.zeros((4, 4))
        c[:, 0] = a
        y = io[:, k]
        res_a = res * _UA
        return CellFit(c, a, float(vi[k]), res_a, float(np.sqrt(np.mean(res_a**2))),
                       float(np.abs(res_a).max()), float(np.abs(y).max()),
                       (float(vi[k]), float(vi[k])))
    sel = np.ones(vi.size, bool)
    if v_in_range is not None:
        lo, hi = v_in_range
        sel = (vi >= lo - 1e-12) & (vi <= hi + 1e-12)
        if sel.sum() < 4:
            raise ValueError(f"v_in_range = {v_in_range!r} keeps {int(sel.sum())} V_in columns: "
                             f"allowed a range holding at least 4")
    W, V = np.meshgrid(w, vi[sel], indexing="ij")
    y = io[:, sel].ravel()
    terms = [(i, j) for i in range(4) for j in range(4 - i)]
    A = np.stack([W.ravel() ** i * V.ravel() ** j for i, j in terms], axis=1)
    coef, *_ = np.linalg.lstsq(A, y / _UA, rcond=None)
    c = np.zeros((4, 4))
    for (i, j), x in zip(terms, coef):
        c[i, j] = x
    res_a = y - (A @ coef) * _UA
    a = poly_read_coeffs_ua(c, v_read)
    return CellFit(c, a, None, res_a, float(np.sqrt(np.mean(res_a**2))),
                   float(np.abs(res_a).max()), float(np.abs(y).max()),
                   (float(vi[sel].min()), float(vi[sel].max())))
