"""Speed and memory of gain-cell attention against ideal float32 NumPy attention.

Prints ratios measured in one run on this machine (lower is better for gaincell):

- streaming: one ``step`` of a 12-head, head_dim 64, window 1024, batch 1 layer (full preset,
  window already full) vs an ideal float32 NumPy step over the same ring buffer
  (write k, v; q . K^T, clip, . V);
- batched: ``forward`` of 1024 tokens, 12 heads, window 1024 vs ideal float32 masked attention
  (q K^T, causal window mask, clip, . V) of the same shape;
- memory: the streaming state vs the float32 KV cache of the same window.

Run: ``gaincell bench`` or ``.venv/bin/python benchmarks/bench_attention.py [--repeats N]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import gaincell as gc

H, D, W = 12, 64, 1024


def _paired_times(fa, fb, repeats: int, inner: int = 1) -> tuple[float, float, float]:
    """Median times of ``fa`` and ``fb`` and the median of their per-repeat ratio.

    The two are timed alternately, repeat by repeat, so that a change in machine load
    affects both alike; the ratio is taken within each repeat. Each timed block follows an
    untimed call of the same function, so neither pays for the other's cache and thread
    state.
    """
    fa(), fb()  # warm-up (compilation)
    ta, tb = [], []
    for _ in range(repeats):
        for f, ts in ((fa, ta), (fb, tb)):
            f()
            t0 = time.perf_counter()
            for _ in range(inner):
                f()
            ts.append((time.perf_counter() - t0) / inner)
    ratio = statistics.median(a / b for a, b in zip(ta, tb))
    return statistics.median(ta), statistics.median(tb), ratio


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
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    cfg = gc.AttentionConfig.leroux2025(n_heads=H, head_dim=D, window=W)
    rows = []

    # streaming
    attn = gc.GainCellAttention(cfg, seed=0)
    ideal = IdealStep(1)
    fill_q = rng.uniform(0, 1, (W, 1, H, D))
    fill_k = rng.uniform(0, 0.9, (W, 1, H, D))
    fill_v = rng.uniform(0, 0.9, (W, 1, H, D))
    for t in range(W):
        attn.step(fill_q[t], fill_k[t], fill_v[t])
        ideal(fill_q[t].astype(np.float32), fill_k[t].astype(np.float32),
              fill_v[t].astype(np.float32))
    qs, ks, vs = fill_q[:64], fill_k[:64], fill_v[:64]
    qs32, ks32, vs32 = (x.astype(np.float32) for x in (qs, ks, vs))
    it = iter(range(10**9))

    def g_step():
        i = next(it) % 64
        attn.step(qs[i], ks[i], vs[i])

    def i_step():
        i = next(it) % 64
        ideal(qs32[i], ks32[i], vs32[i])

    tg, ti, r = _paired_times(g_step, i_step, args.repeats, inner=50)
    rows.append(("streaming step (B=1, 12 heads, W=1024)", tg, ti, r, 3.0, 1.0))

    # batched
    T = 1024
    q = rng.uniform(0, 1, (1, H, T, D))
    k = rng.uniform(0, 0.9, (1, H, T, D))
    v = rng.uniform(0, 0.9, (1, H, T, D))
    q32, k32, v32 = (x.astype(np.float32) for x in (q, k, v))
    attn2 = gc.GainCellAttention(cfg, seed=0)
    tg, ti, r = _paired_times(lambda: attn2.forward(q, k, v),
                              lambda: ideal_masked(q32, k32 - 0.45, v32 - 0.45),
                              max(3, args.repeats // 2))
    rows.append(("batched forward (B=1, 12 heads, T=W=1024)", tg, ti, r, 5.0, 2.0))

    mem_g = attn.state_nbytes
    mem_i = ideal.K.nbytes + ideal.V.nbytes

    print(f"gaincell {gc.__version__}: bench_attention (median of {args.repeats} repeats)")
    print("ratio: median over repeats of gaincell / ideal, timed alternately")
    print(f"{'case':<44}{'gaincell':>12}{'ideal f32':>12}{'ratio':>8}{'required':>10}{'goal':>7}")
    for name, a, b, r, req, goal in rows:
        print(f"{name:<44}{a * 1e3:>10.3f}ms{b * 1e3:>10.3f}ms{r:>8.2f}{'<=' + str(req):>10}"
              f"{'<=' + str(goal):>7}  {'ok' if r <= req else 'OVER'}")
    r = mem_g / mem_i
    print(f"{'streaming state memory':<44}{mem_g / 2**20:>10.2f}MB{mem_i / 2**20:>10.2f}MB"
          f"{r:>8.2f}{'<=1.5':>10}{'':>7}  {'ok' if r <= 1.5 else 'OVER'}")


if __name__ == "__main__":
    main()
