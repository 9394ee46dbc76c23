"""``gaincell bench``: the attention speed/memory benchmark (benchmarks/bench_attention.py)."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("bench", help="speed and memory of gain-cell attention vs ideal float32 "
                       "NumPy attention (ratios measured in one run)",
                       description="Print streaming, batched and memory ratios of a 12-head, "
                       "window-1024 layer (the preset and the preset with every non-ideality) "
                       "against each other and ideal float32 NumPy attention, and the Monte "
                       "Carlo throughput, measured in the same run on this machine.")
    p.add_argument("--repeats", type=int, default=7, help="timed repeats (median; default 7)")
    p.add_argument("--chips", type=int, default=4,
                   help="chips timed for the Monte Carlo throughput (default 4)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from gaincell.array.benchmark import main

    if args.repeats < 1:
        raise ValueError(f"--repeats = {args.repeats} is invalid: allowed >= 1")
    if args.chips < 1:
        raise ValueError(f"--chips = {args.chips} is invalid: allowed >= 1")
    main(["--repeats", str(args.repeats), "--chips", str(args.chips)])
    return 0
