"""Speed and memory of gain-cell attention against ideal float32 NumPy attention.

Prints ratios measured in one run on this machine (lower is better for gaincell), on a GPT-2
layer (12 heads, head_dim 64, window 1024, batch 1):

- streaming: one ``step`` with the window full, for the ``leroux2025`` preset and for the
  preset with every non-ideality on (``ALL_NON_IDEALITIES``), against each other and against
  an ideal float32 NumPy step over the same ring buffer (write k, v; q . K^T, clip, . V);
  by default (steps serial) and with ``GAINCELL_PARALLEL_STEPS=1`` (steps on every core);
- batched: ``forward`` of 1024 tokens, the same three;
- memory: the streaming state (with mismatch: its static draws included) vs the float32 KV
  cache of the same window;
- Monte Carlo: chips per second of :func:`gaincell.monte_carlo` on the same layer and inputs
  (1024 tokens, every non-ideality, per-chip metrics only; from the difference of two runs
  with different numbers of chips), its fixed cost (the two references) and the time 100
  chips take.

Each ratio is the median over repeats of per-repeat ratios, the cases timed alternately so
that a change in machine load affects them alike. Run: ``gaincell bench`` or
``.venv/bin/python benchmarks/bench_attention.py [--repeats N] [--chips N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from gaincell._version import __version__
from gaincell.array.attention import GainCellAttention
from gaincell.array.montecarlo import monte_carlo
from gaincell.params import AttentionConfig

H, D, W = 12, 64, 1024

#: Every non-ideality of the all-options benchmark (magnitudes are assumptions, chosen to be
#: visible but moderate: 5 % gain spread, 0.2 spread of ln tau, read noise 10 fC (about 1.7 %
#: of the second stage's 0.6 pC full scale), 5 mV write noise, 5 fC comparator offsets).
ALL_NON_IDEALITIES = dict(sigma_gain_mismatch=0.05, sigma_tau_mismatch=0.2,
                          sigma_read_noise=1e-14, sigma_write_noise=5e-3,
                          sigma_comparator_offset=5e-15)


def _alternate(fns: dict, repeats: int, inner: int = 1) -> dict[str, list[float]]:
    """Per-repeat times of each function, timed one after the other within every repeat;
    each timed block follows an untimed call of the same function (warm caches, compiled)."""
    for f in fns.values():
        f()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, f in fns.items():
            f()
            t0 = time.perf_counter()
            for _ in range(inner):
                f()
            times[name].append((time.perf_counter() - t0) / inner)
    return times


def _ratio(times, a: str, b: str) -> float:
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


class IdealStep:
    """Ideal float32 streaming step over a ring-buffer KV cache."""

    def __init__(self, B: int):
        self.K = np.zeros((B, H, W, D), np.float32)
        self.V = np.zeros((B, H, W, D), np.float32)
        self.t = 0

    def __call__(self, q, k, v):
        s = self.t % W
        self.K[:, :, s] = k
        self.V[:, :, s] = v
        self.t += 1
        S = np.matmul(self.K, q[..., None])[..., 0]          # (B,H,W)
        np.clip(S * np.float32(1 / 80), 0, 1, out=S)
        return np.matmul(S[:, :, None, :], self.V)[:, :, 0]   # (B,H,D)


def ideal_masked(q, k, v):
    """Ideal float32 masked sliding-window attention with the HardSigmoid."""
    T = q.shape[2]
    S = np.matmul(q, np.swapaxes(k, -1, -2))
    t = np.arange(T)
    age = t[:, None] - t[None, :]
    S[..., (age < 0) | (age >= W)] = 0
    np.clip(S * np.float32(1 / 80), 0, 1, out=S)
    return np.matmul(S, v)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--chips", type=int, default=6, help="chips of the Monte Carlo timing")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    preset = AttentionConfig.leroux2025(n_heads=H, head_dim=D, window=W)
    noisy = preset.replace(**ALL_NON_IDEALITIES)
    rows = []

    # streaming, window full
    sims = {"preset": GainCellAttention(preset, seed=0),
            "all": GainCellAttention(noisy, seed=0)}
    ideal = IdealStep(1)
    fill_q = rng.uniform(0, 1, (W, 1, H, D))
    fill_k = rng.uniform(0, 0.9, (W, 1, H, D))
    fill_v = rng.uniform(0, 0.9, (W, 1, H, D))
    for t in range(W):
        for s in sims.values():
            s.step(fill_q[t], fill_k[t], fill_v[t])
        ideal(*(x[t].astype(np.float32) for x in (fill_q, fill_k, fill_v)))
    qs, ks, vs = fill_q[:64], fill_k[:64], fill_v[:64]
    qs32, ks32, vs32 = (x.astype(np.float32) for x in (qs, ks, vs))
    it = iter(range(10**9))

    def stepper(sim):
        def f():
            i = next(it) % 64
            sim.step(qs[i], ks[i], vs[i])
        return f

    def i_step():
        i = next(it) % 64
        ideal(qs32[i], ks32[i], vs32[i])

    ts = _alternate({"preset": stepper(sims["preset"]), "all": stepper(sims["all"]),
                     "ideal": i_step}, args.repeats, inner=20)
    med = {n: statistics.median(x) for n, x in ts.items()}
    rows += [
        ("step: preset / ideal f32", med["preset"], med["ideal"], _ratio(ts, "preset", "ideal"),
         1.5, None),
        ("step: all non-idealities / preset", med["all"], med["preset"],
         _ratio(ts, "all", "preset"), 1.5, None),
        ("step: all non-idealities / ideal f32", med["all"], med["ideal"],
         _ratio(ts, "all", "ideal"), None, 1.0)]
    # the same with GAINCELL_PARALLEL_STEPS=1 (steps on every core: for an otherwise idle
    # machine; on a busy one a parallel step waits for the other core's scheduler slice)
    before = os.environ.get("GAINCELL_PARALLEL_STEPS")
    os.environ["GAINCELL_PARALLEL_STEPS"] = "1"
    try:
        tp = _alternate({"preset": stepper(sims["preset"]), "all": stepper(sims["all"]),
                         "ideal": i_step}, args.repeats, inner=20)
    finally:
        if before is None:
            del os.environ["GAINCELL_PARALLEL_STEPS"]
        else:
            os.environ["GAINCELL_PARALLEL_STEPS"] = before
    med = {n: statistics.median(x) for n, x in tp.items()}
    rows += [
        ("step, parallel steps: preset / ideal f32", med["preset"], med["ideal"],
         _ratio(tp, "preset", "ideal"), 1.5, None),
        ("step, parallel steps: all / preset", med["all"], med["preset"],
         _ratio(tp, "all", "preset"), 1.5, None)]

    # batched
    T = 1024
    q = rng.uniform(0, 1, (1, H, T, D))
    k = rng.uniform(0, 0.9, (1, H, T, D))
    v = rng.uniform(0, 0.9, (1, H, T, D))
    q32, k32, v32 = (x.astype(np.float32) for x in (q, k, v))
    fwd = {"preset": GainCellAttention(preset, seed=0), "all": GainCellAttention(noisy)}
    tf = _alternate({"preset": lambda: fwd["preset"].forward(q, k, v),
                     "all": lambda: fwd["all"].forward(q, k, v),
                     "ideal": lambda: ideal_masked(q32, k32 - 0.45, v32 - 0.45)},
                    max(3, args.repeats // 2))
    med = {n: statistics.median(x) for n, x in tf.items()}
    rows += [
        ("forward: preset / ideal f32", med["preset"], med["ideal"],
         _ratio(tf, "preset", "ideal"), 2.5, None),
        ("forward: all non-idealities / preset", med["all"], med["preset"],
         _ratio(tf, "all", "preset"), 2.0, None),
        ("forward: all non-idealities / ideal f32", med["all"], med["ideal"],
         _ratio(tf, "all", "ideal"), None, 2.0)]

    # Monte Carlo throughput (per-chip metrics only): two runs, of n0 and n0 + chips chips,
    # separate the fixed cost (ideal and noiseless references) from the cost per chip
    monte_carlo(noisy, q[:, :, :8], k[:, :, :8], v[:, :, :8], 2, progress=False)  # compile
    n0 = 2
    t0 = time.perf_counter()
    monte_carlo(noisy, q, k, v, n0, seed=0, keep_outputs=False, progress=False)
    t_a = time.perf_counter() - t0
    t0 = time.perf_counter()
    monte_carlo(noisy, q, k, v, n0 + args.chips, seed=0, keep_outputs=False, progress=False)
    t_b = time.perf_counter() - t0
    per_chip = max(t_b - t_a, 1e-9) / args.chips
    setup = max(t_a - n0 * per_chip, 0.0)
    chips_s = 1.0 / per_chip

    mem_kv = 2 * H * W * D * 4
    mems = [("state memory: preset / f32 KV", sims["preset"].state_nbytes),
            ("state memory: gain mismatch / f32 KV", _state(preset.replace(
                sigma_gain_mismatch=0.05))),
            ("state memory: all non-idealities / f32 KV", sims["all"].state_nbytes)]

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"gaincell {__version__}: bench_attention (GPT-2 layer: {H} heads, head_dim {D}, "
          f"window {W}; median of {args.repeats} repeats; {os.cpu_count()} CPUs, load "
          f"average {load:.2f})")
    print("ratio: median over repeats of per-repeat ratios, cases timed alternately")
    print(f"{'case':<46}{'a':>12}{'b':>12}{'ratio':>8}{'target':>8}{'goal':>7}")
    for name, a, b, r, req, goal in rows:
        verdict = "" if req is None else ("ok" if r <= req else "OVER")
        if goal is not None:
            verdict = "goal met" if r <= goal else "goal not met"
        print(f"{name:<46}{a * 1e3:>10.3f}ms{b * 1e3:>10.3f}ms{r:>8.2f}"
              f"{'' if req is None else '<=' + str(req):>8}"
              f"{'' if goal is None else '<=' + str(goal):>7}  {verdict}")
    for name, n in mems:
        r = n / mem_kv
        print(f"{name:<46}{n / 2**20:>10.2f}MB{mem_kv / 2**20:>10.2f}MB{r:>8.2f}{'<=1.5':>8}"
              f"{'':>7}  {'ok' if r <= 1.5 else 'OVER'}")
    t100 = setup + 100 * per_chip
    print(f"{'Monte Carlo (all non-idealities, T=1024)':<46}{chips_s:>8.3f} chips/s + "
          f"{setup:.2f} s of references; 100 chips in {t100:.1f} s (target <= 20 s: "
          f"{'ok' if t100 <= 20 else 'OVER'}; from runs of {n0} and {n0 + args.chips} chips)")


def _state(cfg) -> int:
    sim = GainCellAttention(cfg)
    x = np.full((1, H, D), 0.5)
    sim.step(x, x, x)
    return sim.state_nbytes


if __name__ == "__main__":
    main()
