"""``gaincell report``: the system layer's command (``gaincell sweep`` lives in
:mod:`gaincell.commands.explore`).

Input errors (design file, options) raise ``ValueError`` before anything is written; the main
program prints them as one line and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gaincell._checks import check_number

__all__ = ["register"]


def register(sub) -> None:
    """Add the ``report`` sub-command to ``sub`` (argparse subparsers)."""
    p = sub.add_parser(
        "report", help="energy, latency and area report of a design (default: leroux2025)",
        description="Write report.md, report.json and figures (PNG and SVG) for a design: "
                    "energy, latency and area breakdowns, GPU comparison, scaling curves. "
                    "Without --config: the built-in leroux2025 GPT-2 design (12 layers).")
    p.add_argument("--config", metavar="DESIGN.toml",
                   help="design file ([attention], [device], [system] tables; default: "
                        "built-in leroux2025)")
    p.add_argument("--out", default="report", metavar="DIR",
                   help="report folder (default: report/)")
    p.add_argument("--n-layers", type=int, metavar="N",
                   help="layers per token (overrides [system] n_layers; default 12)")
    p.add_argument("--tokens", type=int, metavar="T",
                   help="tokens per sequence (overrides [system] tokens; default 1024)")
    p.add_argument("--activity", metavar="ACTIVITY.json",
                   help="activity counts of a simulation (JSON of Activity fields) for the "
                        "data-dependent energy")
    p.add_argument("--no-figures", action="store_true",
                   help="write report.md and report.json only")
    p.add_argument("--mode", choices=("auto", "calibrated", "predicted"),
                   help="estimator mode (overrides [system] mode; default auto: calibrated "
                        "for the paper's design, with the predicted estimate beside it; "
                        "predicted for any other)")
    p.set_defaults(func=run_report)


def _load(config: str | None):
    from gaincell.params import AttentionConfig
    from gaincell.system.design_file import load_design
    from gaincell.system.spec import SystemSpec

    if config is None:
        return AttentionConfig.leroux2025(), SystemSpec()
    return load_design(config)


def _load_activity(path: str):
    from dataclasses import fields

    from gaincell.array.activity import Activity

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such activity file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
    allowed = {f.name for f in fields(Activity)}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of Activity fields {sorted(allowed)}")
    bad = sorted(set(data) - allowed)
    if bad:
        raise ValueError(f"{path}: unknown key(s) {bad}: allowed {sorted(allowed)}")
    for k, v in data.items():
        check_number(f"{path}: {k}", v, 0.0, allowed="a finite number >= 0")
    if not isinstance(data.get("n_heads"), int) or data["n_heads"] < 1:
        raise ValueError(f"{path}: n_heads = {data.get('n_heads')!r} is invalid: allowed the "
                         f"heads of the design it was simulated on (an integer >= 1), so that "
                         f"it can be checked against the report's design")
    return Activity(**data)


def run_report(args: argparse.Namespace) -> int:
    """Validate everything, estimate, then write the report."""
    from gaincell.system.estimator import estimate
    from gaincell.system.report import paper_companions, three_columns, write_report

    cfg, spec = _load(args.config)
    if args.mode:
        spec = spec.replace(mode=args.mode)
    activity = _load_activity(args.activity) if args.activity else None
    est = estimate(cfg, n_layers=args.n_layers, tokens=args.tokens, activity=activity,
                   spec=spec)
    if not args.no_figures:
        import matplotlib

        matplotlib.use("Agg")   # files only: no display needed
    paths = write_report(est, args.out, figures=not args.no_figures)
    print(f"gaincell report ({est.mode}): {len(paths)} files in {args.out}/: "
          f"{est.latency_layer_s * 1e9:.4g} ns per token per layer, "
          f"{est.energy_head_j * 1e9:.4g} nJ per token per head, "
          f"{est.area_head_m2 * 1e6:.3g} mm^2 per head")
    pair = paper_companions(est)
    if pair is not None:
        rows = [["quantity", "calibrated", "predicted", "published"]] + three_columns(*pair)
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for r in rows:
            print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0
