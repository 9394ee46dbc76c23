"""``gaincell model-demo``: the paper's training recipe on tiny Shakespeare, end to end.

Registering the sub-command does not import torch (``gaincell --help`` works without it);
running it does, with a clear message when the ``torch`` extra is missing.
"""

from __future__ import annotations

import argparse

_INT_OPTS = ("softmax_iters", "linear_iters", "nonlinear_iters", "n_layer", "n_head", "n_embd",
             "block_size", "window", "batch_size", "eval_batches", "seed", "seeds")


def register(sub) -> None:
    p = sub.add_parser(
        "model-demo", help="train softmax -> linear HW -> adapt -> nonlinear HW on tiny "
        "Shakespeare, sensitivity sweeps, report (needs gaincell[torch])",
        description="Run the paper's training recipe (software baseline, linear hardware "
        "model, adaptation, nonlinear gain-cell model) on a small character-level model, "
        "then validation loss vs device parameters with the NumPy simulator. Resumes from "
        "the checkpoints in --out.")
    p.add_argument("--data", default=None, metavar="TEXT",
                   help="UTF-8 text corpus (default: the shipped tiny Shakespeare)")
    p.add_argument("--out", default="runs/model-demo",
                   help="run folder: checkpoints, state.json, report/ (default runs/model-demo)")
    p.add_argument("--restart", action="store_true",
                   help="discard checkpoints in --out instead of resuming")
    p.add_argument("--tiny", action="store_true",
                   help="a smoke run of a minute (one seed unless --seeds is given)")
    p.add_argument("--no-sensitivity", action="store_true", help="skip the simulator sweeps")
    p.add_argument("--noise-aware", action="store_true",
                   help="also fine-tune with read and write noise sampled at every step and "
                   "report the losses under the simulator's noise (default noise: "
                   "gaincell.nn.pipeline.DEFAULT_NOISE)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    for name in _INT_OPTS:
        p.add_argument("--" + name.replace("_", "-"), type=int, default=None,
                       help="seeds for the headline's spread (default 3, --tiny 1)"
                       if name == "seeds" else f"override {name}")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import torch
    except ImportError:
        raise ValueError("model-demo needs PyTorch: pip install 'gaincell[torch]'") from None
    from gaincell.nn.pipeline import PipelineSettings, run_pipeline
    from gaincell.nn.report import headline, stage_table

    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads = {args.threads}: allowed >= 1")
        torch.set_num_threads(args.threads)
    ov = {k: getattr(args, k) for k in _INT_OPTS if getattr(args, k) is not None}
    ov["data_path"] = args.data
    if args.no_sensitivity:
        ov["sensitivity"] = False
    if args.noise_aware:
        ov["noise_aware"] = True
    settings = PipelineSettings.tiny(**ov) if args.tiny else PipelineSettings(**ov)
    state = run_pipeline(settings, args.out, resume=not args.restart)
    print(stage_table(state))
    print("\n".join(headline(state)).rstrip())
    print(f"report: {args.out}/report/report.md")
    return 0
