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

from gaincell.spice.errors import SpiceError


def _kit_args(p: argparse.ArgumentParser) -> None:
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
    p.add_argument("--t-float", type=float, default=60e-3,
                   help="retention float time, s (default 0.06)")
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
    p.add_argument("--checks", nargs="+", default=["cell", "column", "c2p", "tile"],
                   choices=("cell", "column", "c2p", "tile"), help="checks to run")
    p.add_argument("--cell-model", default="poly", choices=("poly", "table"),
                   help="behavioural cell model to validate (fitted cubic or the sweep table)")
    _kit_args(p)
    p.set_defaults(func=_allowing(run_validate))


def _kit(args):
    from gaincell.spice.netlist import CircuitKit

    kw = {"cell_subckt": args.subckt}
    if args.models:
        kw["model_files"] = tuple(args.models)
    if args.cell:
        kw["cell_file"] = args.cell
    return _trusted(CircuitKit.default(**kw), args)


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
    from gaincell.params import AttentionConfig, load_toml

    return load_toml(args.config) if args.config else AttentionConfig.leroux2025()


def run_characterize(args: argparse.Namespace) -> int:
    import numpy as np

    from gaincell.spice.characterize import characterize, save_characterization

    base = _base(args)
    d = base.device
    if args.v_in_points < 1:
        raise ValueError(f"--v-in-points = {args.v_in_points} is invalid: allowed >= 1")
    v_in = np.linspace(d.v_read_idle, d.v_read, args.v_in_points) if args.v_in_points > 1 \
        else np.array([d.v_read])
    try:
        ch = characterize(d, _kit(args), args.v_store_points, v_in, args.t_float,
                          args.timeout, args.backend, progress=True)
    except SpiceError as e:
        print(f"gaincell characterize: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    paths = save_characterization(ch, args.out, base)
    r, c = ch.retention, ch.c2p
    print(ch.iv.fit.summary())
    print(f"retention: tau = {r.tau * 1e3:.4g} ms, V_rest = {r.v_rest:.4g} V (rms residual "
          f"{r.rms_residual * 1e3:.3g} mV); write pedestal "
          f"{np.mean(r.write_pedestal) * 1e3:.3g} mV")
    print(f"charge-to-pulse: Q_sat = {c.q_sat * 1e12:.4g} pC, offset {c.q_offset * 1e15:.3g} fC,"
          f" max deviation from the clip model {c.max_fit_error:.2e} T_max")
    print(f"wrote {paths['npz']} and {paths['toml']}")
    return 0


def run_validate(args: argparse.Namespace) -> int:
    import dataclasses

    from gaincell.spice import validate as V
    from gaincell.spice.characterize import provenance, sweep_iv
    from gaincell.spice.report import write_report

    if args.column_cases < 1 or args.tile_cases < 1:
        raise ValueError(f"--column-cases = {args.column_cases}, --tile-cases = "
                         f"{args.tile_cases} are invalid: allowed >= 1")
    base = _base(args)
    kit = _kit(args)
    try:
        iv = sweep_iv(base.device, kit, timeout_s=args.timeout, backend=args.backend)
        dev = iv.fit.device(base.device)
        if args.cell_model == "table":
            dev = dataclasses.replace(dev, cell_model="table", iv_table=iv.table)
        fs = iv.fit.full_scale
        common = {"kit": kit, "timeout_s": args.timeout, "backend": args.backend}
        runs = {
            "cell": lambda: V.validate_cell(dev, fs, args.seed, **common),
            "column": lambda: V.validate_column(dev, fs, args.seed, args.column_cases,
                                                workers=args.workers, progress=True, **common),
            "c2p": lambda: V.validate_c2p(dev, args.seed, **common),
            "tile": lambda: V.validate_tile(dev, args.seed, args.tile_cases,
                                            workers=args.workers, progress=True, **common),
        }
        checks = []
        for name in args.checks:
            checks.append(runs[name]())
            c = checks[-1]
            print(f"{c.name:7s} error {c.error:.4g} (budget {c.budget:g} {c.unit}): "
                  f"{'pass' if c.passed else 'FAIL'}; SPICE {c.spice_s:.3g} s, model "
                  f"{c.model_s:.3g} s")
    except SpiceError as e:
        print(f"gaincell validate: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    ctx = {"cell_fit": iv.fit.summary(), "cell_fit_a_ua": iv.fit.a_ua.tolist(),
           "cell_model": dev.cell_model, "seed": args.seed,
           "provenance": provenance([iv.netlist], kit, iv.backend)}
    paths = write_report(checks, args.out, ctx)
    print(f"wrote {paths['md']}, {paths['json']} and {len(paths['figures'])} figures")
    return 0 if all(c.passed for c in checks) else 1
