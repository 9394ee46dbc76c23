"""Behavioural model vs ngspice: the speed ratio for the same work (a benchmark, not a test).

For each validation workload (cell read currents, 64-cell columns, charge-to-pulse converters,
8 x 8 tiles) it times the SPICE runs and the behavioural model on the same cases, in the same
run, and prints the ratio. Run: .venv/bin/python benchmarks/bench_spice.py [--columns 20]
[--tiles 2] [--workers N]. The SPICE time includes process start-up (one ngspice per run).
"""

from __future__ import annotations

import argparse
import platform
import sys

from gaincell.spice import validate as V
from gaincell.spice.characterize import sweep_iv
from gaincell.spice.runner import ngspice_available, ngspice_version


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--columns", type=int, default=20, help="random 64-cell columns")
    p.add_argument("--tiles", type=int, default=2, help="random 8 x 8 tiles")
    p.add_argument("--workers", type=int, default=1,
                   help="parallel ngspice processes (default 1: a like-for-like single core)")
    args = p.parse_args(argv)
    a = ngspice_available()
    if not (a["shared"] or a["subprocess"]):
        print("bench_spice: ngspice is not installed (make ngspice)", file=sys.stderr)
        return 1
    iv = sweep_iv()
    dev, fs = iv.fit.device(), iv.fit.full_scale
    checks = [V.validate_cell(dev, fs, n_points=40),
              V.validate_column(dev, fs, n_cases=args.columns, workers=args.workers),
              V.validate_c2p(dev),
              V.validate_tile(dev, n_cases=args.tiles, workers=args.workers)]
    cpu = platform.processor() or platform.machine()
    print(f"gaincell SPICE benchmark: {ngspice_version()}, {cpu}, {args.workers} ngspice "
          f"worker(s)")
    print(f"{'workload':34s} {'cases':>6s} {'SPICE s':>10s} {'model s':>10s} {'ratio':>10s}")
    what = {"cell": "cell read current (40 points)", "column": "64-cell column transient",
            "c2p": "charge-to-pulse (2 stages)", "tile": "8x8 tile end to end"}
    for c in checks:
        print(f"{what[c.name]:34s} {c.n_cases:6d} {c.spice_s:10.3g} {c.model_s:10.3g} "
              f"{c.speed_ratio:10.3g}")
    s = sum(c.spice_s for c in checks)
    m = sum(c.model_s for c in checks)
    print(f"{'total':34s} {'':6s} {s:10.3g} {m:10.3g} {s / m:10.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
