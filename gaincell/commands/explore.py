"""``gaincell explore`` and ``gaincell sweep`` (its cost-only, single-file form).

Input errors (study or design file, ``--set`` axes, options) raise ``ValueError`` before any
point is evaluated; the main program prints them as one line and exits with code 2.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register", "parse_sets"]

_SET_HELP = ("an axis KEY=V1,V2,... (values), KEY=LO:HI (range), KEY=LO:HI:log, or for a grid "
             "KEY=LO:HI:NUM[:log]; KEY: an [attention] field (window), device.X, system.X or "
             "system.ROLE.FIELD; repeat for more axes, each parameter once")


def register(sub) -> None:
    """Add the ``explore`` and ``sweep`` sub-commands to ``sub`` (argparse subparsers)."""
    p = sub.add_parser(
        "explore", help="design-space study: cost and accuracy per point, Pareto fronts (Dask)",
        description="Evaluate a space of designs (grid, random or Latin-hypercube sample over "
                    "any device, attention or system parameter): latency, energy and area, and "
                    "the accuracy of the attention output over Monte Carlo chips. Runs on a "
                    "Dask LocalCluster (or --scheduler), stores every point as it finishes in "
                    "DIR/results.parquet and DIR/results.csv, resumes, and writes Pareto fronts "
                    "and DIR/report.md.")
    p.add_argument("study", nargs="?", metavar="STUDY.toml", help="study file (optional)")
    p.add_argument("--config", metavar="DESIGN.toml",
                   help="base design file (default: the study's, else built-in leroux2025)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2,...",
                   help=_SET_HELP)
    p.add_argument("--sample", choices=("grid", "random", "lhs"),
                   help="how points are drawn (default: the study's, else grid)")
    p.add_argument("--n", type=int, metavar="N", help="points of a random or lhs sample")
    p.add_argument("--seed", type=int, help="study seed (default 0)")
    p.add_argument("--chips", type=int, metavar="N",
                   help="Monte Carlo chips per point (default 4; 0: cost only)")
    p.add_argument("--workload", metavar="KIND|QKV.npz",
                   help="uniform, gaussian, or an .npz of q, k, v (B, H, T, D) in hardware units")
    p.add_argument("--tokens", type=int, metavar="T", help="workload tokens (default 64)")
    p.add_argument("--heads", type=int, metavar="H", help="heads simulated (default 2)")
    p.add_argument("--model", metavar="RUN_DIR",
                   help="also the validation loss of this gaincell model-demo run with the "
                        "simulator in every layer (device.X, leak_per_step, system.X axes; "
                        "needs the torch extra)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, metavar="N",
                   help="LocalCluster worker processes (default: one per core; 0: in this "
                        "process)")
    g.add_argument("--scheduler", metavar="ADDR",
                   help="existing Dask scheduler: tcp://HOST:8786 or a scheduler file")
    p.add_argument("--out", required=True, metavar="DIR", help="study folder (resumed)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-figures", action="store_true", help="report.md without figures")
    p.set_defaults(func=run_explore)

    s = sub.add_parser(
        "sweep", help="cost-only sweep: one CSV row per design (streamed)",
        description="Estimate every combination of the --set axes around a base design "
                    "(latency, energy, area; no simulation) and stream one CSV row per design "
                    "to FILE.csv; points are generated lazily, so the grid may be any size. "
                    "For accuracy, random or Latin-hypercube samples and Dask: gaincell "
                    "explore.")
    s.add_argument("--config", metavar="DESIGN.toml",
                   help="base design file (default: built-in leroux2025)")
    s.add_argument("--set", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="an axis: any [attention]/[device] field, n_layers, tokens, "
                        "technology_nm, overhead_per_layer_s, or a dotted key (device.X, "
                        "system.X, system.ROLE.FIELD); repeat for more axes, each parameter "
                        "once")
    s.add_argument("--out", default="sweep.csv", metavar="FILE.csv",
                   help="CSV file (default: sweep.csv)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.set_defaults(func=run_sweep)


def _parse_value(text: str):
    t = text.strip()
    if t.lower() in ("none", "null"):
        return None
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def _parse_range(item: str, text: str) -> dict[str, Any]:
    parts = [x.strip() for x in text.split(":")]
    log = bool(parts) and parts[-1].lower() == "log"
    if log:
        parts = parts[:-1]
    try:
        nums = [float(x) for x in parts[:2]]
        num = int(parts[2]) if len(parts) == 3 else None
    except ValueError:
        nums, num = [], None
    if len(parts) not in (2, 3) or len(nums) != 2:
        raise ValueError(f"--set {item!r} is invalid: allowed KEY=LO:HI, KEY=LO:HI:log or "
                         f"KEY=LO:HI:NUM[:log] with numbers")
    d: dict[str, Any] = {"lo": nums[0], "hi": nums[1]}
    if all(float(x).is_integer() and "." not in x and "e" not in x.lower()
           for x in parts[:2]):
        d = {"lo": int(nums[0]), "hi": int(nums[1]), "integer": True}
    if log:
        d["log"] = True
    if num is not None:
        d["num"] = num
    return d


def parse_sets(items: list[str]) -> dict[str, Any]:
    """``--set`` items as axes ``{key: [values] or range}``; a parameter given twice (under
    any spelling: ``kv_levels`` and ``device.kv_levels``) is refused."""
    from gaincell.system.sweep import canonical_key

    axes: dict[str, Any] = {}
    seen: dict[str, str] = {}
    for item in items:
        key, sep, vals = item.partition("=")
        if not sep or not key.strip() or not vals.strip():
            raise ValueError(f"--set {item!r} is invalid: allowed KEY=V1,V2,... "
                             f"(e.g. window=512,1024)")
        key = key.strip()
        ck = canonical_key(key)
        if ck in seen:
            raise ValueError(f"--set {key} repeats the parameter {ck!r} of --set {seen[ck]}: "
                             f"allowed each parameter once (give all its values in one "
                             f"--set {key}=V1,V2,...)")
        seen[ck] = key
        if ":" in vals:
            axes[key] = _parse_range(item, vals)
        else:
            axes[key] = [_parse_value(v) for v in vals.split(",")]
    return axes


def run_explore(args: argparse.Namespace) -> int:
    from gaincell.explore.api import explore

    axes = parse_sets(args.set)
    workers = args.workers
    if args.scheduler is None and workers is None:
        workers = None   # one worker per usable core
    res = explore(args.study, args.out, set=axes, workers=workers, scheduler=args.scheduler,
                  progress=not args.no_progress, figures=not args.no_figures,
                  config=args.config, sample=args.sample, n=args.n, seed=args.seed,
                  chips=args.chips, workload=args.workload, tokens=args.tokens,
                  heads=args.heads, model=args.model)
    print(f"gaincell explore: {res.n_done} of {res.n_points} points in {args.out}/ "
          f"({res.n_failed} failed, {res.n_new} new in {res.seconds:.1f} s): results.parquet, "
          f"results.csv, run.json, report.md")
    return 0


def run_sweep(args: argparse.Namespace) -> int:
    """Parse the axes, check every value, then stream one CSV row per design."""
    from gaincell.params import AttentionConfig
    from gaincell.system.design_file import load_design
    from gaincell.system.spec import SystemSpec
    from gaincell.system.sweep import grid, sweep

    cfg, spec = (load_design(args.config) if args.config
                 else (AttentionConfig.leroux2025(), SystemSpec()))
    axes = parse_sets(args.set)
    for k, v in axes.items():
        if isinstance(v, dict):
            raise ValueError(f"--set {k}: ranges need gaincell explore --sample random|lhs: "
                             f"allowed KEY=V1,V2,... in gaincell sweep")
    designs = grid(axes) if axes else [{}]
    n = len(designs)
    try:
        sweep(designs, base=cfg, spec=spec, progress=not args.no_progress, out_csv=args.out,
              keep=False)
    except KeyboardInterrupt:
        print(f"gaincell sweep: interrupted; the designs done so far are in {args.out}")
        raise
    print(f"gaincell sweep: {n} designs -> {args.out}")
    return 0
