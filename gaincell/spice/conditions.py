"""Per-condition design files: the gf180 cell characterized at each corner x temperature.

The shipped ``gf180`` design file (``gaincell/data/gf180/characterization.toml``) is the cell
at tt, 27 C. A column read at ss or ff runs on other transistors, so checking it against the
tt design measures the corner spread, not the behavioural model. :func:`derive_condition_designs`
makes one design file per corner x temperature of the characterization NPZ
(``gaincell/data/gf180/conditions/gf180_<corner>_<T>C.toml``), each from data measured AT that
condition:

- the cell's read characteristic: a fresh DC I-V sweep of the cell at the condition (the same
  ``cell_dc.cir`` bench as the nominal sweep: ``v_store_points`` x ``v_in_points`` from
  ``v_read_idle`` to ``v_read``), as the design's table model (and its cubic, ``poly_c_ua``);
- retention: tau, V_rest and the storage-node capacitance of the NPZ's row for the condition
  (``cond_tau_s``, ``cond_v_rest_v``, ``cond_c_sn_f``); a row whose joint fit failed
  (``cond_fit_ok`` false: its V_rest is outside the supply by more than
  :data:`~gaincell.spice.characterize.V_REST_MARGIN`) is re-fitted on the same retention table
  (``retention_table_v``) with V_rest bounded to [0, vdd], and the file says so;
- the write pedestal of the row (``cond_pedestal_v``), stored in ``[meta]`` for the DAC
  correction of the written checks (:func:`condition_pedestal`).

The converters are behavioural (their saturation charges are the design's, unchanged), and
the energies are the nominal ones (``[system.spice_energy]`` is not repeated here).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from gaincell.params import AttentionConfig
from gaincell.spice.kits import kit_at
from gaincell.spice.netlist import CircuitKit
from gaincell.spice.runner import DEFAULT_TIMEOUT_S

__all__ = ["condition_tag", "conditions_dir", "condition_design_path", "load_condition_design",
           "condition_pedestal", "design_at", "derive_condition_designs", "refit_retention_bounded",
           "CONDITION_V_IN_POINTS"]

#: Read-voltage points of the per-condition I-V tables (VDD/2 .. v_read). The validation reads
#: at v_read only (PWM inputs); 11 points keep each file ~15 kB (assumption).
CONDITION_V_IN_POINTS = 11


def condition_tag(corner: str, temp_c: float) -> str:
    """``"<corner>_<T>C"``, e.g. ``"ss_85C"``."""
    return f"{corner}_{float(temp_c):g}C"


def conditions_dir(design_path: str | os.PathLike) -> Path:
    """The ``conditions/`` folder beside a design file."""
    return Path(design_path).resolve().parent / "conditions"


def condition_design_path(design_path: str | os.PathLike, corner: str, temp_c: float) -> Path:
    """Path of the design file of one condition (it may not exist)."""
    return conditions_dir(design_path) / f"gf180_{condition_tag(corner, temp_c)}.toml"


def load_condition_design(design_path: str | os.PathLike, corner: str,
                          temp_c: float) -> AttentionConfig:
    """The design characterized at ``corner``/``temp_c`` beside ``design_path``.

    Raises ``FileNotFoundError`` naming the file and how to make it.
    """
    from gaincell.params import load_toml

    p = condition_design_path(design_path, corner, temp_c)
    if not p.is_file():
        raise FileNotFoundError(
            f"no design file for {condition_tag(corner, temp_c)} at {p}: make it with "
            f"`make gf180-conditions` (python -m gaincell.spice.conditions)")
    return load_toml(p)


def condition_pedestal(design_path: str | os.PathLike, corner: str,
                       temp_c: float) -> tuple | None:
    """(levels V, pedestal V) measured at ``corner``/``temp_c``: the NPZ row beside
    ``design_path`` matching the condition, or None when the NPZ or the row is absent."""
    npz = Path(design_path).resolve().parent / "characterization.npz"
    if not npz.is_file():
        return None
    with np.load(npz, allow_pickle=False) as z:
        if "cond_pedestal_v" not in z.files:
            return None
        rows = [i for i, (c, t) in enumerate(zip(z["cond_corner"], z["cond_temp_c"]))
                if str(c) == corner and abs(float(t) - float(temp_c)) < 1e-9]
        if not rows:
            return None
        return np.asarray(z["cond_v0_v"]), np.asarray(z["cond_pedestal_v"][rows[0]])


def refit_retention_bounded(t_s, v, vdd: float) -> dict:
    """Joint fit ``V(t) = V_rest + (V(0) - V_rest) exp(-t / tau)`` over the cells of a
    retention table (``t_s`` s, ``v`` V of shape (cells, times)), with V_rest in [0, vdd] and
    tau > 0; each cell's V(0) is its first sample. Returns ``tau_s``, ``v_rest_v``,
    ``rms_residual_v``."""
    from scipy.optimize import least_squares

    t = np.asarray(t_s, float)
    v = np.asarray(v, float)
    v0 = v[:, :1]

    def resid(p):
        tau, vr = np.exp(p[0]), p[1]
        return (vr + (v0 - vr) * np.exp(-t[None, :] / tau) - v).ravel()

    best = None
    for tau0 in (1.0, 10.0, 100.0, 1000.0):
        r = least_squares(resid, [np.log(tau0), vdd / 2],
                          bounds=([np.log(1e-9), 0.0], [np.log(1e9), vdd]))
        if best is None or r.cost < best.cost:
            best = r
    res = resid(best.x)
    return {"tau_s": float(np.exp(best.x[0])), "v_rest_v": float(best.x[1]),
            "rms_residual_v": float(np.sqrt(np.mean(res ** 2)))}


def derive_condition_designs(design_path: str | os.PathLike, kit: CircuitKit,
                             out_dir: str | os.PathLike | None = None,
                             v_store_points: int = 50,
                             v_in_points: int = CONDITION_V_IN_POINTS,
                             timeout_s: float = DEFAULT_TIMEOUT_S, backend: str = "auto",
                             conditions=None) -> list[Path]:
    """Write one design file per condition of the NPZ beside ``design_path`` (see the module
    docstring); ``kit`` is the gf180 kit (any corner: each sweep runs at its own condition).
    ``conditions``: (corner, temp_c) pairs (default: every row of the NPZ). Returns the paths.
    """
    from gaincell._io import atomic_write_text
    from gaincell.params import _toml_value, dumps_toml, load_toml
    from gaincell.spice.characterize import V_REST_MARGIN, load_characterization, sweep_iv

    design_path = Path(design_path).resolve()
    base = load_toml(design_path)
    data = load_characterization(design_path.with_name("characterization.npz"))
    out = Path(out_dir) if out_dir is not None else conditions_dir(design_path)
    d0 = base.device
    rows = list(zip((str(c) for c in data["cond_corner"]),
                    (float(t) for t in data["cond_temp_c"])))
    want = rows if conditions is None else [(str(c), float(t)) for c, t in conditions]
    prov = data["provenance"]
    paths = []
    for corner, temp in want:
        if (corner, temp) not in rows:
            raise ValueError(f"condition = {(corner, temp)!r} is invalid: allowed one of the "
                             f"characterized conditions {rows}")
        i = rows.index((corner, temp))
        k = kit_at(kit, corner, temp)
        v_in = np.linspace(d0.v_read_idle, d0.v_read, v_in_points)
        iv = sweep_iv(d0, k, v_store_points, v_in, timeout_s, backend)
        tau, vr = float(data["cond_tau_s"][i]), float(data["cond_v_rest_v"][i])
        ret_note = "joint fit of the condition's retention run"
        if not bool(data["cond_fit_ok"][i]):
            fit = refit_retention_bounded(data["retention_table_t_s"],
                                          data["retention_table_v"][i], d0.vdd)
            ret_note = (f"the joint fit failed (V_rest = {vr:.4g} V, outside the supply by more "
                        f"than {V_REST_MARGIN} V); re-fitted on the condition's retention table "
                        f"with V_rest bounded to [0, vdd]: rms residual "
                        f"{fit['rms_residual_v'] * 1e3:.3g} mV")
            tau, vr = fit["tau_s"], fit["v_rest_v"]
        dev = iv.fit.device(d0)
        dev = dataclasses.replace(dev, v_read=d0.v_read, cell_model="table",
                                  iv_table=iv.table, tau=tau,
                                  v_rest=float(np.clip(vr, 0.0, d0.vdd)),
                                  c_store=float(data["cond_c_sn_f"][i]),
                                  temperature=temp + 273.15, t_ref=temp + 273.15)
        # tau was measured at this condition's temperature; the token period carries over
        cfg = base.replace(device=dev, token_period=base.token_period)
        meta = {
            "kind": "gaincell SPICE characterization at one condition",
            "kit": "gf180", "pdk": prov.get("pdk", ""), "pdk_version": prov.get("pdk_version", ""),
            "corner": corner, "temp_c": temp, "gmin_s": float(prov.get("gmin_s", 1e-18)),
            "derived_from": f"../{design_path.name} and its characterization.npz (nominal "
                            f"{prov.get('corner')} {prov.get('temp_c')} C)",
            "cell_file": prov.get("cell_file", ""),
            "cell_file_sha256": prov.get("cell_file_sha256", ""),
            "iv_sweep": f"{iv.netlist.name} at {corner} {temp:g} C, {v_store_points} V_store x "
                        f"{v_in_points} V_in, sha256 {iv.netlist.sha256()}",
            "cell_fit_full_scale_a": iv.fit.full_scale,
            "cell_fit_max_rel_full_scale": iv.fit.max_rel_full_scale,
            "retention": ret_note + " (characterization.npz row "
                         f"{i}: cond_tau_s, cond_v_rest_v, cond_c_sn_f)",
            "retention_netlist_sha256": prov.get("netlist_sha256", {}).get(
                f"retention_{condition_tag(corner, temp)}.cir", ""),
            "pedestal_levels_v": [float(x) for x in data["cond_v0_v"]],
            "pedestal_v": [float(x) for x in data["cond_pedestal_v"][i]],
            "not_from_this_condition": "the converters' saturation charges (behavioural, the "
                                       "design's) and the energies (nominal design file)",
        }
        text = "[meta]\n" + "".join(
            f"{key} = {_toml_value(json.dumps(v) if isinstance(v, dict) else v)}\n"
            for key, v in meta.items())
        text += "\n" + dumps_toml(cfg) + "\n[system.array]\n"
        text += f"c_store = {_toml_value(dev.c_store)}\n"
        p = out / f"gf180_{condition_tag(corner, temp)}.toml"
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(p, text)
        paths.append(p)
    return paths


def design_at(design_path: str | os.PathLike, corner: str, temp_c: float,
              nominal: tuple[str, float] | None = None):
    """(DeviceParams, pedestal, source note) to validate at ``corner``/``temp_c``: the
    condition's own design file when it exists beside ``design_path``, else the design file
    itself (then only at its ``nominal`` condition; elsewhere ``FileNotFoundError``)."""
    from gaincell.params import load_toml

    p = condition_design_path(design_path, corner, temp_c)
    if p.is_file():
        return (load_toml(p).device, condition_pedestal(design_path, corner, temp_c),
                f"{p.parent.name}/{p.name}")
    if nominal is not None and (corner, float(temp_c)) == (nominal[0], float(nominal[1])):
        return (load_toml(design_path).device, condition_pedestal(design_path, corner, temp_c),
                Path(design_path).name)
    raise FileNotFoundError(
        f"no design file for {condition_tag(corner, temp_c)} at {p}: make it with "
        f"`make gf180-conditions` (python -m gaincell.spice.conditions)")


def main(argv=None) -> int:
    """``python -m gaincell.spice.conditions [DESIGN_TOML]``: (re)make the per-condition design
    files beside the shipped gf180 design file (or the one given)."""
    import sys

    from gaincell.spice.kits import gf180_kit
    from gaincell.spice.presets import gf180_preset_path

    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else gf180_preset_path()
    for p in derive_condition_designs(path, gf180_kit()):
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
