"""``gaincell simulate``: run a design's attention layer on inputs and save what it did.

Writes into ``--out``, as one complete set (the folder is swapped in only when every file is
written): ``outputs.npz`` (the outputs ``y`` and, with ``--save-trace``, the first-stage
charges, pulses and sub-array outputs), ``activity.json`` (the activity counts, which
``gaincell report --activity`` turns into data-dependent energy), ``summary.json`` and
``summary.md``; with ``--chips N`` also ``chips.csv`` (one row of metrics per chip) and the
spread over the chips in ``summary.json``. ``summary.json`` holds the fraction of each input
that the converters clipped (``clipped_fraction``); ``--fit-map`` first maps model tensors
into the hardware ranges with per-head affine scalers fitted to them
(:func:`gaincell.fit_input_map`) and also writes ``input_map.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import warnings
import zipfile
import zlib
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
    p.add_argument("--chips", type=int, default=0, metavar="N",
                   help="also run a Monte Carlo over N chips (spawn keys 0 .. N-1 of --seed): "
                        "chips.csv and the spread in summary.json")
    p.add_argument("--fit-map", nargs="?", type=float, const=0.99, default=None,
                   metavar="COVERAGE",
                   help="--inputs are model tensors (any float units): fit per-head affine "
                        "scalers sending the central COVERAGE of each head's values (default "
                        "0.99: [p0.5, p99.5]) onto the PWM and DAC ranges, apply them, and "
                        "save them in input_map.json")
    p.add_argument("--out", default="simulation", metavar="DIR",
                   help="output folder (default: simulation/)")
    p.set_defaults(func=run)


def _load_npz(path: str):
    what = "an .npz file with arrays q, k, v shaped (B, H, T, D)"
    try:
        f = np.load(path, allow_pickle=False)
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as e:
        if isinstance(e, OSError) and e.filename:
            raise
        raise ValueError(f"{path}: cannot read ({type(e).__name__}: {e}): expected {what}"
                         ) from None
    if not isinstance(f, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: holds a single array (.npy), not named arrays: expected "
                         f"{what}")
    with f:
        missing = sorted({"q", "k", "v"} - set(f.files))
        if missing:
            raise ValueError(f"{path}: missing array(s) {missing}: allowed {what}")
        try:
            return f["q"], f["k"], f["v"]
        except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error) as e:
            raise ValueError(f"{path}: damaged or truncated ({type(e).__name__}: {e}): "
                             f"expected {what}") from None


def _inputs(args, cfg):
    if args.inputs:
        return _load_npz(args.inputs)
    for name in ("tokens", "batch"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} = {getattr(args, name)} is invalid: allowed >= 1")
    _check_memory(args, cfg, args.batch, args.tokens, inputs_loaded=False)
    rng = np.random.default_rng(args.seed)
    d = cfg.device
    shape = (args.batch, cfg.n_heads, args.tokens, cfg.head_dim)
    return (rng.uniform(d.q_lo, d.q_hi, shape), rng.uniform(d.kv_lo, d.kv_hi, shape),
            rng.uniform(d.kv_lo, d.kv_hi, shape))


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (Linux MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def memory_needed(cfg, B: int, T: int, stream: bool, save_trace: bool,
                  inputs_loaded: bool) -> int:
    """Estimated peak bytes of a ``simulate`` run (inputs, outputs, traces, working set)."""
    H, D, W, G = cfg.n_heads, cfg.head_dim, cfg.window, cfg.n_subarrays
    x = B * H * T * D * 8                      # one (B, H, T, D) float64 array
    trace = B * H * T * (2 * W + G * D) * 8    # charges, pulses, sub-array outputs
    need = (0 if inputs_loaded else 3 * x) + 3 * x      # inputs; y, ideal, pulses
    if stream:
        need += 2 * trace if save_trace else 0
    else:
        need += trace + 8 * x                  # the batched pass's operands
    return need + B * H * (64 + W) * 64 * 8 + 200 * 2**20   # a block; the interpreter


def _check_memory(args, cfg, B: int, T: int, inputs_loaded: bool) -> None:
    need = memory_needed(cfg, B, T, args.stream, args.save_trace, inputs_loaded)
    avail = available_memory()
    if avail is not None and need > avail:
        hint = ("drop --save-trace" if args.save_trace else
                "use --stream" if not args.stream else "use fewer --tokens or --batch")
        raise ValueError(f"this run needs about {need / 2**30:.2f} GiB of memory, more than "
                         f"the {avail / 2**30:.2f} GiB available: {hint} (or fewer --tokens "
                         f"or a smaller --batch)")


def _stream(attn, q, k, v, save_trace: bool):
    from tqdm import tqdm

    B, H, T, D = q.shape
    cfg = attn.cfg
    y = np.empty((B, H, T, D))
    tr_out = None
    if save_trace:
        tr_out = (np.empty((B, H, T, cfg.window)), np.empty((B, H, T, cfg.window)),
                  np.empty((B, H, T, cfg.n_subarrays, D)))
    act = None
    for t in tqdm(range(T), desc="tokens", unit="tok"):
        y[:, :, t], tr = attn.step(q[:, :, t], k[:, :, t], v[:, :, t], trace=True)
        act = tr.activity if act is None else act + tr.activity
        if save_trace:
            tr_out[0][:, :, t], tr_out[1][:, :, t], tr_out[2][:, :, t] = (
                tr.charge1, tr.phi, tr.subarray_out)
    return y, act, tr_out


def _warn_clipped(cfg, clipped: dict, mapped: bool) -> None:
    """One line on stderr per input clipped beyond the warning threshold."""
    from gaincell.array.mapping import CLIP_WARN_FRACTION, clip_warning

    for name, f in clipped.items():
        if f > CLIP_WARN_FRACTION:
            msg = clip_warning(name, f, cfg).split(": inputs are in hardware units")[0]
            hint = ("a --fit-map coverage closer to 1 clips less" if mapped else
                    "for model tensors add --fit-map (gaincell.fit_input_map)")
            print(f"warning: {msg}; {hint}", file=sys.stderr)


def _fit_map(args, cfg, q, k, v):
    """``(InputMap, clipped fractions of the unmapped inputs)`` for ``--fit-map``, else
    ``(None, None)``."""
    from gaincell.array.mapping import clipped_fraction, fit_input_map

    if args.fit_map is None:
        return None, None
    if not args.inputs:
        raise ValueError("--fit-map needs --inputs (model tensors to map): the random inputs "
                         "are already in hardware units")
    if not 0.0 < args.fit_map <= 1.0:
        raise ValueError(f"--fit-map = {args.fit_map:g} is invalid: allowed a coverage in "
                         f"(0, 1] (default 0.99)")
    return fit_input_map(q, k, v, cfg, coverage=args.fit_map), clipped_fraction(q, k, v, cfg)


def run(args: argparse.Namespace) -> int:
    from gaincell._io import atomic_folder, check_output_target, to_jsonable
    from gaincell.array.attention import GainCellAttention
    from gaincell.array.mapping import InputClippedWarning, clipped_fraction
    from gaincell.array.montecarlo import METRICS, monte_carlo
    from gaincell.params import AttentionConfig, load_toml
    from gaincell.reference import hardsigmoid_attention

    if args.chips < 0:
        raise ValueError(f"--chips = {args.chips} is invalid: allowed an integer >= 1 "
                         f"(or 0: no Monte Carlo)")
    out = check_output_target(Path(args.out), "folder")
    cfg = load_toml(args.config) if args.config else AttentionConfig.leroux2025()
    q, k, v = _inputs(args, cfg)
    attn = GainCellAttention(cfg, seed=args.seed)
    q, k, v = attn._check_inputs(q, k, v, ndim=4)
    imap, clipped_raw = _fit_map(args, cfg, q, k, v)
    if imap is not None:
        q, k, v = imap.apply(q, k, v)
    clipped = clipped_fraction(q, k, v, cfg)
    B, H, T, D = q.shape
    if args.inputs:
        _check_memory(args, cfg, B, T, inputs_loaded=True)
    _warn_clipped(cfg, clipped, imap is not None)
    with warnings.catch_warnings():   # said once above, in the command's words
        warnings.simplefilter("ignore", InputClippedWarning)
        t0 = time.perf_counter()
        if args.stream:
            y, act, tr = _stream(attn, q, k, v, args.save_trace)
        else:
            y, full = attn.forward(q, k, v, trace=True)
            act = full.activity
            tr = (full.charge1, full.phi, full.subarray_out) if args.save_trace else None
            del full
        dt = time.perf_counter() - t0
        ideal = hardsigmoid_attention(q, k, v, cfg)
        corr = (float(np.corrcoef(y.ravel(), ideal.ravel())[0, 1])
                if y.std() > 0 and ideal.std() > 0 else None)
        rel = float(np.sqrt(np.mean((y - ideal) ** 2) / max(np.mean(ideal**2), 1e-300)))
        mc = None
        if args.chips:
            mc = monte_carlo(cfg, q, k, v, args.chips, seed=args.seed, keep_outputs=False)
    per = act.per_query()
    info = {
        "design": args.config or "leroux2025", "engine": attn.engine, "seed": args.seed,
        "inputs": args.inputs or "random uniform", "shape": {"B": B, "H": H, "T": T, "D": D},
        "mode": "streaming (step)" if args.stream else "batched (forward)", "seconds": dt,
        "output_rms": float(np.sqrt(np.mean(y**2))), "output_max_abs": float(np.abs(y).max()),
        "corr_vs_ideal": corr, "rel_rms_vs_ideal": rel,
        "phi_saturated": act.phi_saturated, "counter_saturated": act.counter_saturated,
        "clipped_fraction": clipped,
    }
    if imap is not None:
        info["input_map"] = imap.to_dict()
        info["clipped_fraction_unmapped"] = clipped_raw
    if mc is not None:
        info["chips"] = {"n_chips": args.chips, "seed": args.seed,
                         "chip_seed": "numpy.random.SeedSequence(seed, spawn_key=(i,))",
                         "spread": mc.summary()}
    corr_s = f"{corr:.4f}" if corr is not None else "n/a (constant output)"
    lines = [
        "# gaincell simulate", "",
        f"- design: {info['design']}; engine: {attn.engine}; seed {args.seed}",
        f"- inputs: {info['inputs']}, B = {B}, H = {H}, T = {T}, D = {D}",
        f"- mode: {info['mode']}, {dt:.3f} s",
        f"- output RMS {info['output_rms']:.4f}, max |y| {info['output_max_abs']:.4f} "
        f"(units of one counter's full scale)",
        f"- correlation with ideal HardSigmoid attention: {corr_s}; relative RMS error {rel:.4f}",
        f"- per query: {per['phi_pulses']:.1f} first-stage pulses, mean width "
        f"{act.phi_pulse_width_sum / max(act.phi_pulses, 1):.3f} T_max; K-cell charge "
        f"{per['k_charge_abs'] * 1e12:.3f} pC, V-cell charge {per['v_charge_abs'] * 1e12:.3f} pC",
        f"- saturated: {act.phi_saturated} first-stage conversions, {act.counter_saturated} "
        f"counters",
        "- clipped by the converters (fraction of the inputs outside the PWM / DAC ranges): "
        + ", ".join(f"{n} {clipped[n] * 100:.2f} %" for n in ("q", "k", "v"))
        + (f" (with the fitted input map, coverage {imap.coverage:g}; unmapped: "
           + ", ".join(f"{n} {clipped_raw[n] * 100:.2f} %" for n in ("q", "k", "v")) + ")"
           if imap is not None else "")]
    if mc is not None:
        s = mc.summary()
        lines.append(f"- Monte Carlo over {args.chips} chips (mean, std, 95 % CI of the mean):")
        def fmt(x):
            return "n/a" if x is None else f"{x:.4g}"

        for m in METRICS:
            r = s[m]
            lines.append(f"  - {m}: {fmt(r['mean'])} +- {fmt(r['std'])} "
                         f"[{fmt(r['ci95_lo'])}, {fmt(r['ci95_hi'])}]")
    files = "outputs.npz (y" + (", charge1, phi, subarray_out" if args.save_trace else "") + \
        "), activity.json (for `gaincell report --activity`), summary.json" + \
        (", chips.csv" if mc is not None else "") + \
        (", input_map.json" if imap is not None else "")
    lines += ["", f"Files: {files}.", ""]
    summary = "\n".join(lines)
    arrays = {"y": y}
    if tr is not None:
        arrays.update(charge1=tr[0], phi=tr[1], subarray_out=tr[2])
    with atomic_folder(out) as tmp:
        np.savez_compressed(tmp / "outputs.npz", **arrays)
        (tmp / "activity.json").write_text(
            json.dumps(to_jsonable(act.to_dict()), indent=1, allow_nan=False) + "\n",
            encoding="utf-8")
        (tmp / "summary.json").write_text(
            json.dumps(to_jsonable(info), indent=1, allow_nan=False) + "\n", encoding="utf-8")
        (tmp / "summary.md").write_text(summary, encoding="utf-8")
        if imap is not None:
            (tmp / "input_map.json").write_text(imap.to_json(), encoding="utf-8")
        if mc is not None:
            with open(tmp / "chips.csv", "w", newline="", encoding="utf-8") as f:
                w = csv.DictWriter(f, fieldnames=["chip", *METRICS])
                w.writeheader()
                for row in mc.rows():
                    w.writerow({key: ("" if isinstance(x, float) and not np.isfinite(x)
                                      else x) for key, x in row.items()})
    print(summary)
    return 0
