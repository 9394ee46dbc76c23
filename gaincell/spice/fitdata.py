"""Characterization at corners and temperatures: the fit data beyond the I-V sweep.

Everything here is measured in ngspice on one kit at several conditions (corner x temperature)
and returned as plain arrays with SI units:

- :func:`retention_conditions`: write several voltages, float, fit ``tau`` and ``v_rest`` per
  condition; the raw decay (the non-exponential retention table: stored voltage vs time for
  each initial voltage); the write pedestal vs level; the storage node's leakage current
  ``I(V)`` from an operating point, and the physical cross-check ``tau_CI = C |V0 - V_rest| /
  |I_leak(V0)|`` with ``C`` measured by charge injection;
- :func:`activation_energy`: Arrhenius fit of ``1 / tau`` over temperature, eV;
- :func:`read_disturb`: storage-voltage change and charge error of one read pulse vs its width,
  and the storage-node capacitance;
- :func:`action_energies`: energy per action from supply-current integrals (cell read, cell
  write incl. the DAC and the write bit line).
"""

from __future__ import annotations

import numpy as np

from gaincell.params import DeviceParams
from gaincell.spice.benches import (
    CF_COLUMN,
    T_WRITE,
    disturb_bench,
    energy_bench,
    leakage_bench,
    retention_bench,
)
from gaincell.spice.netlist import CircuitKit
from gaincell.spice.runner import DEFAULT_TIMEOUT_S, simulate, simulate_many

__all__ = ["K_B_EV", "retention_conditions", "activation_energy", "read_disturb",
           "node_capacitance", "action_energies", "RETENTION_TIMES_S"]

#: Boltzmann constant, eV/K (CODATA 2018, exact).
K_B_EV = 8.617333262e-5
#: Time points of the retention table, s after the write (log-spaced; 0 first).
#: Smallest leakage current the operating point resolves, A (measured: currents below ~1e-16 A
#: come out as 0 or a constant floor): C / I estimates below it are reported as NaN.
LEAK_RESOLUTION_A = 1e-16
RETENTION_TIMES_S = np.concatenate([[0.0], np.logspace(-6, 3, 28)])


def _cell_cases(device: DeviceParams, n: int = 7) -> np.ndarray:
    return np.linspace(0.0, device.vdd, n)


def node_capacitance(device: DeviceParams, kit: CircuitKit, q_probe: float = 2e-15,
                     timeout_s: float = DEFAULT_TIMEOUT_S, backend: str = "auto") -> dict:
    """Storage-node capacitance, F: inject ``q_probe`` C into floating nodes written to three
    levels and divide by the voltage step (MIM plus the read pair's gates and the write
    device's junction)."""
    levels = np.array([0.25, 0.5, 0.75]) * device.vdd
    nl = disturb_bench(levels, np.zeros(3), device, kit, q_probe=q_probe)
    r = simulate(nl, timeout_s, backend)
    tq = nl.meta["t_probe"]
    c = []
    for k in range(levels.size):
        v = np.interp([tq - 0.5e-9, tq + 1.5e-9], r.scale, r[f"v(sn{k})"])
        c.append(q_probe / (v[1] - v[0]))
    return {"levels_v": levels, "c_sn_f": np.array(c), "c_sn_mean_f": float(np.mean(c))}


def retention_conditions(device: DeviceParams, kits: list[CircuitKit], t_float: float,
                         v0=None, timeout_s: float = DEFAULT_TIMEOUT_S,
                         backend: str = "auto", workers: int | None = None) -> list[dict]:
    """Retention, leakage and write pedestal of the cell at each kit's corner/temperature.

    Returns one dict per kit: ``corner``, ``temp_c``, ``tau_s``, ``v_rest_v``, ``rms_residual_v``,
    ``v0_v`` (targets), ``v_written_v``, ``pedestal_v`` (written - target), ``table_t_s``
    (:data:`RETENTION_TIMES_S` within ``t_float``), ``table_v`` (V, shape (len(v0), len(t))),
    ``leak_v`` / ``leak_a`` (leakage current out of the node vs its voltage), ``c_sn_f``,
    ``tau_ci_s`` (-C (V0 - V_rest) / I_leak(V0) per written level, s; negative where the leakage
    pushes the node away from the fitted rest voltage, i.e. where one exponential does not
    describe it), ``slope_tran_v_per_s`` (the transient's initial dV/dt over
    ``slope_window_s``) against ``slope_ci_v_per_s`` (I_leak(V0) / C). A failed fit keeps its
    numbers and sets ``fit_ok = False`` (see :func:`gaincell.spice.characterize.checked_v_rest`).
    """
    from gaincell.spice.characterize import FitError, checked_v_rest, fit_retention

    v0 = _cell_cases(device) if v0 is None else np.asarray(v0, float)
    ret_nls = [retention_bench(v0, t_float, device, k, t_write=T_WRITE) for k in kits]
    leak_nls = [leakage_bench(v0, device, k) for k in kits]
    cap_nls = [disturb_bench(np.array([0.25, 0.5, 0.75]) * device.vdd, np.zeros(3), device, k,
                             q_probe=2e-15) for k in kits]
    for i, k in enumerate(kits):
        tag = f"{k.corner}_{k.temp_c:g}C"
        ret_nls[i].name, leak_nls[i].name = f"retention_{tag}.cir", f"leakage_{tag}.cir"
        cap_nls[i].name = f"node_cap_{tag}.cir"
    res = simulate_many(ret_nls + leak_nls + cap_nls, timeout_s, backend, workers)
    n = len(kits)
    fits = [fit_retention(ret_nls[i], res[i]) for i in range(n)]
    # the leakage at exactly the written voltages (the write pedestal moves them off the grid;
    # the subthreshold leakage near 0 V changes a decade per ~0.1 V)
    at_nls = [leakage_bench(f.v_written, device, k)
              for f, k in zip(fits, kits)]
    for nl, k in zip(at_nls, kits):
        nl.name = f"leakage_written_{k.corner}_{k.temp_c:g}C.cir"
    res_at = simulate_many(at_nls, timeout_s, backend, workers)
    out = []
    for i, k in enumerate(kits):
        fit = fits[i]
        lr, cr = res[n + i], res[2 * n + i]
        i_in = np.array([lr[v][0] for v in leak_nls[i].vectors])  # into the node = leakage out
        tq = cap_nls[i].meta["t_probe"]
        c = [2e-15 / np.diff(np.interp([tq - 0.5e-9, tq + 1.5e-9], cr.scale,
                                       cr[f"v(sn{j})"]))[0] for j in range(3)]
        c_sn = float(np.mean(c))
        try:
            checked_v_rest(fit, device.vdd)
            ok, why = True, ""
        except FitError as e:
            ok, why = False, str(e)
        # C/I estimate of tau at each level: the exponential model's dV/dt = -(V - V_rest)/tau
        # equals -I_leak(V)/C, so tau = C (V - V_rest) / I_leak(V)
        with np.errstate(divide="ignore", invalid="ignore"):
            i_w = np.array([res_at[i][v][0] for v in at_nls[i].vectors])
            tau_ci = np.where(np.abs(i_w) > LEAK_RESOLUTION_A,
                              -c_sn * (fit.v_written - fit.v_rest) / i_w, np.nan)
        # direct C/I check of the transient: its initial slope against I_leak(V0) / C
        t_s = min(1e-3, fit.t[-1] / 100)
        slope_tran = (np.array([np.interp(t_s, fit.t, fit.v[j]) for j in range(v0.size)])
                      - fit.v_written) / t_s
        slope_ci = np.where(np.abs(i_w) > LEAK_RESOLUTION_A, i_w / c_sn, np.nan)
        tt = RETENTION_TIMES_S[RETENTION_TIMES_S <= fit.t[-1]]
        table = np.stack([np.interp(tt, fit.t, fit.v[j]) for j in range(v0.size)])
        out.append({
            "corner": k.corner, "temp_c": k.temp_c, "tau_s": fit.tau, "v_rest_v": fit.v_rest,
            "rms_residual_v": fit.rms_residual, "max_residual_v": fit.max_residual,
            "fit_ok": ok, "fit_error": why,
            "v0_v": v0, "v_written_v": fit.v_written, "pedestal_v": fit.write_pedestal,
            "table_t_s": tt, "table_v": table, "leak_v": v0, "leak_a": i_in, "c_sn_f": c_sn,
            "tau_ci_s": tau_ci, "slope_window_s": t_s, "slope_tran_v_per_s": slope_tran,
            "slope_ci_v_per_s": slope_ci, "netlist_sha256": ret_nls[i].sha256(),
            "netlists": [ret_nls[i], leak_nls[i], cap_nls[i], at_nls[i]],
        })
    return out


def activation_energy(temps_c, taus_s) -> float:
    """Arrhenius activation energy of the leakage, eV: slope of ``ln(1/tau)`` vs ``-1/(k T)``
    (least squares over the given temperatures, deg C, and time constants, s)."""
    t = np.asarray(temps_c, float) + 273.15
    tau = np.asarray(taus_s, float)
    if t.size < 2 or tau.shape != t.shape or np.any(tau <= 0) or not np.isfinite(tau).all():
        raise ValueError(f"taus_s = {tau.tolist()!r} is invalid: allowed >= 2 positive finite "
                         f"time constants, one per temperature")
    slope, _ = np.polyfit(-1.0 / (K_B_EV * t), np.log(1.0 / tau), 1)
    return float(slope)


def read_disturb(device: DeviceParams, kit: CircuitKit, levels=None, widths=(0.25, 0.5, 1.0),
                 timeout_s: float = DEFAULT_TIMEOUT_S, backend: str = "auto") -> dict:
    """Storage-voltage change (V) and charge (C) of one read pulse vs its width (fraction of
    t_max), at several written levels. Returns ``levels_v``, ``widths``, ``dv_v`` (after -
    before the pulse, shape (levels, widths)), ``q_c`` (charge into the bit line)."""
    levels = np.array([0.1, 0.3, 0.5, 0.7, 0.9]) * device.vdd if levels is None else \
        np.asarray(levels, float)
    w = np.asarray(widths, float)
    L, W = np.meshgrid(levels, w, indexing="ij")
    nl = disturb_bench(L.ravel(), W.ravel(), device, kit)
    r = simulate(nl, timeout_s, backend)
    tr, tm = nl.meta["t_read"], device.t_max
    dv, q = [], []
    for k in range(L.size):
        v = np.interp([tr - 0.5e-9, tr + tm + 0.9e-9], r.scale, r[f"v(sn{k})"])
        vo = np.interp([tr - 0.4e-9, tr + tm + 0.9e-9], r.scale, r[f"v(vo{k})"])
        dv.append(v[1] - v[0])
        q.append(-CF_COLUMN * (vo[1] - vo[0]))
    return {"levels_v": levels, "widths": w, "dv_v": np.reshape(dv, L.shape),
            "q_c": np.reshape(q, L.shape), "netlist": nl}


def _energy(r, src: str, node: str, window) -> float:
    """Energy delivered by source ``src`` (at node ``node``) in ``window`` (s), J."""
    t = r.scale
    sel = (t >= window[0]) & (t <= window[1])
    p = -r[f"v({node})"][sel] * r[f"i({src})"][sel]  # ngspice: branch current into + node
    return float(np.trapezoid(p, t[sel]))


def action_energies(device: DeviceParams, kit: CircuitKit, c_wbl: float, c_wwl: float,
                    c_bl: float, levels=None, timeout_s: float = DEFAULT_TIMEOUT_S,
                    backend: str = "auto") -> dict:
    """Energy per action from supply-current integrals, J, at each written level (V).

    ``write_j``: energy delivered by the write word-line driver and the DAC on the write bit
    line (incl. ``c_wbl`` and ``c_wwl``) for one write from the idle bit line; ``read_j``:
    energy delivered by the read word-line drivers and the bit line's VDD/2 reference for one
    full-t_max read pulse, each source counted where it delivers energy (a source that absorbs
    it is not credited). Returns ``levels_v``, ``write_j``, ``read_j`` and per-source parts.
    """
    levels = np.array([0.0, 0.25, 0.5, 0.75, 1.0]) * device.vdd if levels is None else \
        np.asarray(levels, float)
    nls = [energy_bench(float(v), device, kit, c_wbl, c_wwl, c_bl) for v in levels]
    for i, nl in enumerate(nls):
        nl.name = f"energy_{i}.cir"
    res = simulate_many(nls, timeout_s, backend)
    w, rd, parts = [], [], []
    for nl, r in zip(nls, res):
        m = nl.meta
        e = {s: (_energy(r, s, nd, m["write"]), _energy(r, s, nd, m["read"]))
             for s, nd in zip(m["sources"], m["nodes"])}
        w.append(max(0.0, e["vwwl"][0]) + max(0.0, e["vwbl"][0]))
        rd.append(sum(max(0.0, e[s][1]) for s in ("vrwl", "vrwlb", "vbl")))
        parts.append(e)
    return {"levels_v": levels, "write_j": np.array(w), "read_j": np.array(rd),
            "parts": parts, "netlists": nls}


def write_pedestal(device: DeviceParams, kit: CircuitKit, levels=None,
                   timeout_s: float = DEFAULT_TIMEOUT_S, backend: str = "auto") -> tuple:
    """Write pedestal vs level from a short retention run (50 ns float): ``(levels V,
    written - target V)``. The characterization bench's table, for the DAC correction of the
    written-column and tile checks when no characterization file is at hand."""
    levels = _cell_cases(device) if levels is None else np.asarray(levels, float)
    nl = retention_bench(levels, 50e-9, device, kit, t_write=T_WRITE)
    r = simulate(nl, timeout_s, backend)
    t0 = nl.meta["t_float_start"]
    vw = np.array([np.interp(t0, r.scale, r[v]) for v in nl.vectors])
    return levels, vw - levels
