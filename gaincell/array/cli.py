"""``gaincell simulate``: run a design's attention layer on inputs and save what it did.

Writes, atomically, into ``--out``: ``outputs.npz`` (the outputs ``y`` and, with
``--save-trace``, the first-stage charges, pulses and sub-array outputs), ``activity.json``
(the activity counts, which ``gaincell report --activity`` turns into data-dependent energy)
and ``summary.md``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

__all__ = ["register"]


def register(sub) -> None:
    """Add the ``simulate`` sub-command to ``sub`` (argparse subparsers)."""
    p = sub.add_parser(
        "simulate", help="simulate a design's attention layer on inputs (random or .npz)",
        description="Simulate one attention layer of a design (default: leroux2025) on "
                    "inputs from an .npz file (arrays q, k, v shaped (B, H, T, D): q as pulse "
                    "widths in [0, 1] x T_max, k and v as voltages) or on random inputs; save "
                    "the outputs, the activity counts and a summary.")
    p.add_argument("--config", metavar="DESIGN.toml", help="design file (default: leroux2025)")
    p.add_argument("--inputs", metavar="QKV.npz", help="inputs (arrays q, k, v)")
    p.add_argument("--tokens", type=int, default=256, metavar="T",
                   help="random inputs: tokens per sequence (default 256)")
    p.add_argument("--batch", type=int, default=1, metavar="B",
                   help="random inputs: sequences (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of the inputs and of the device "
                   "noise/mismatch draws (default 0)")
    p.add_argument("--stream", action="store_true",
                   help="stream token by token (step) with a progress bar instead of forward")
    p.add_argument("--save-trace", action="store_true",
                   help="also save charges, pulses and sub-array outputs (large)")
    p.add_argument("--out", default="simulation", metavar="DIR",
                   help="output folder (default: simulation/)")
    p.set_defaults(func=run)


def _inputs(args, cfg):
    if args.inputs:
        try:
            with np.load(args.inputs) as f:
                missing = sorted({"q", "k", "v"} - set(f.files))
                if missing:
                    raise ValueError(f"{args.inputs}: missing array(s) {missing}: allowed an "
                                     f".npz with q, k, v shaped (B, H, T, D)")
                return f["q"], f["k"], f["v"]
        except (OSError, EOFError) as e:
            raise ValueError(f"{args.inputs}: cannot read as .npz ({e})") from None
    for name in ("tokens", "batch"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} = {getattr(args, name)} is invalid: allowed >= 1")
    rng = np.random.default_rng(args.seed)
    d = cfg.device
    shape = (args.batch, cfg.n_heads, args.tokens, cfg.head_dim)
    return (rng.uniform(d.q_lo, d.q_hi, shape), rng.uniform(d.kv_lo, d.kv_hi, shape),
            rng.uniform(d.kv_lo, d.kv_hi, shape))


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from gaincell._io import atomic_write_text, atomic_write_with
    from gaincell.array.attention import GainCellAttention
    from gaincell.params import AttentionConfig, load_toml
    from gaincell.reference import hardsigmoid_attention

    cfg = load_toml(args.config) if args.config else AttentionConfig.leroux2025()
    q, k, v = _inputs(args, cfg)
    attn = GainCellAttention(cfg, seed=args.seed)
    t0 = time.perf_counter()
    if args.stream:
        q, k, v = attn._check_inputs(q, k, v, ndim=4)
        ys, trs = [], []
        for t in tqdm(range(q.shape[2]), desc="tokens", unit="tok"):
            y_t, tr = attn.step(q[:, :, t], k[:, :, t], v[:, :, t], trace=True)
            ys.append(y_t)
            trs.append(tr)
        y = np.stack(ys, axis=2)
        act = trs[0].activity
        for tr in trs[1:]:
            act = act + tr.activity
        charge1 = np.stack([t.charge1 for t in trs], 2)
        phi = np.stack([t.phi for t in trs], 2)
        sub = np.stack([t.subarray_out for t in trs], 2)
    else:
        y, tr = attn.forward(q, k, v, trace=True)
        act, charge1, phi, sub = tr.activity, tr.charge1, tr.phi, tr.subarray_out
    dt = time.perf_counter() - t0
    ideal = hardsigmoid_attention(q, k, v, cfg)
    corr = (f"{np.corrcoef(y.ravel(), ideal.ravel())[0, 1]:.4f}"
            if y.std() > 0 and ideal.std() > 0 else "n/a (constant output)")
    out = Path(args.out)
    arrays = {"y": y}
    if args.save_trace:
        arrays.update(charge1=charge1, phi=phi, subarray_out=sub)
    def write_npz(tmp: str) -> None:
        with open(tmp, "wb") as f:   # a file object: numpy keeps the name as given
            np.savez_compressed(f, **arrays)

    atomic_write_with(out / "outputs.npz", write_npz)
    atomic_write_text(out / "activity.json", json.dumps(act.to_dict(), indent=1) + "\n")
    B, H, T, D = y.shape
    per = act.per_query()
    summary = "\n".join([
        "# gaincell simulate", "",
        f"- design: {args.config or 'leroux2025'}; engine: {attn.engine}; seed {args.seed}",
        f"- inputs: {args.inputs or 'random uniform'}, B = {B}, H = {H}, T = {T}, D = {D}",
        f"- mode: {'streaming (step)' if args.stream else 'batched (forward)'}, {dt:.3f} s",
        f"- output RMS {np.sqrt(np.mean(y**2)):.4f}, max |y| {np.abs(y).max():.4f} "
        f"(units of one counter's full scale)",
        f"- correlation with ideal HardSigmoid attention: {corr}",
        f"- per query: {per['phi_pulses']:.1f} first-stage pulses, mean width "
        f"{act.phi_pulse_width_sum / max(act.phi_pulses, 1):.3f} T_max; K-cell charge "
        f"{per['k_charge_abs'] * 1e12:.3f} pC, V-cell charge {per['v_charge_abs'] * 1e12:.3f} pC",
        f"- saturated: {act.phi_saturated} first-stage conversions, {act.counter_saturated} "
        f"counters", "",
        "Files: outputs.npz (y" + (", charge1, phi, subarray_out" if args.save_trace else "")
        + "), activity.json (for `gaincell report --activity`).", ""])
    atomic_write_text(out / "summary.md", summary)
    print(summary)
    return 0
