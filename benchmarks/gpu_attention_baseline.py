"""Measure sliding-window attention decode on your own GPU, the way the stored baselines were.

Method (the same as gaincell/data/gpu_baseline_h100.json; per-token figures follow the
paper's normalization, a decode step divided by the batch):

- workload: H heads, head dim D, window W; per step, write the new k, v into a ring-buffer
  KV cache of W tokens, then attend one query per sequence over the full window, either
  ``torch.nn.functional.scaled_dot_product_attention`` ("sdpa") or two matmuls with a clip in
  between ("imc_dataflow", the gain-cell dataflow);
- the step is captured in a CUDA graph (no Python overhead);
- latency: median over ``--repeats`` runs of ``--steps`` steps timed with CUDA events;
- energy: NVML total-energy counter over about ``--energy-seconds`` of steps; "dynamic"
  subtracts the idle power measured before the runs (as the paper subtracts static power).

Needs PyTorch with CUDA (and ``pynvml`` / nvidia-ml-py for energy). Without a GPU it prints why
and exits 0. Output: a JSON in the schema of gpu_baseline_h100.json (``--out``), and a table of
ratios against the leroux2025 design from ``gaincell.system``.

    python benchmarks/gpu_attention_baseline.py --out my_gpu.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time


def _skip(reason: str) -> int:
    print(f"gpu_attention_baseline: skipped: {reason}")
    return 0


def _nvml():
    try:
        import pynvml

        pynvml.nvmlInit()
        return pynvml, pynvml.nvmlDeviceGetHandleByIndex(0)
    except Exception:  # noqa: BLE001 - any NVML problem means: no energy figures
        return None, None


def _energy_j(nv, h) -> float:
    return nv.nvmlDeviceGetTotalEnergyConsumption(h) * 1e-3  # mJ -> J


def _idle_power_w(nv, h, seconds: float = 2.0) -> float:
    e0, t0 = _energy_j(nv, h), time.perf_counter()
    time.sleep(seconds)
    return (_energy_j(nv, h) - e0) / (time.perf_counter() - t0)


def measure(B, H, D, W, dtype, mode, steps, repeats, energy_seconds, nv, h, idle_w):
    import torch
    import torch.nn.functional as F

    dev = "cuda"
    k_cache = torch.zeros(B, H, W, D, device=dev, dtype=dtype)
    v_cache = torch.zeros_like(k_cache)
    q = torch.rand(B, H, 1, D, device=dev, dtype=dtype)
    k_new = torch.rand(B, H, 1, D, device=dev, dtype=dtype)
    v_new = torch.rand(B, H, 1, D, device=dev, dtype=dtype)
    slot = torch.zeros(1, dtype=torch.long, device=dev)
    out = torch.empty(B, H, 1, D, device=dev, dtype=dtype)

    def step():
        k_cache.index_copy_(2, slot, k_new)
        v_cache.index_copy_(2, slot, v_new)
        if mode == "sdpa":
            out.copy_(F.scaled_dot_product_attention(q, k_cache, v_cache))
        else:
            s = torch.clamp(q @ k_cache.transpose(-1, -2), 0, 1)
            out.copy_(s @ v_cache)
        slot.add_(1).remainder_(W)

    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        step()
    for _ in range(20):
        g.replay()
    torch.cuda.synchronize()
    lat = []
    for _ in range(repeats):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(steps):
            g.replay()
        b.record()
        torch.cuda.synchronize()
        lat.append(a.elapsed_time(b) * 1e-3 / steps)
    step_s = statistics.median(lat)
    row = {"B": B, "dtype": str(dtype).replace("torch.", ""), "mode": mode,
           "step_latency_s": step_s, "latency_per_token_s": step_s / B,
           "latency_spread": [min(lat), max(lat)]}
    if nv is not None:
        n = 0
        e0, t0 = _energy_j(nv, h), time.perf_counter()
        while time.perf_counter() - t0 < energy_seconds:
            for _ in range(steps):
                g.replay()
            torch.cuda.synchronize()
            n += steps
        wall = time.perf_counter() - t0
        e = _energy_j(nv, h) - e0
        row.update({"avg_power_w": e / wall, "energy_per_step_j": e / n, "wall_s": wall,
                    "steps_timed": n,
                    "dynamic_energy_per_step_j": (e - idle_w * wall) / n,
                    "dynamic_energy_per_token_j": (e - idle_w * wall) / n / B,
                    "energy_per_token_j": e / n / B})
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--head-dim", type=int, default=64)
    p.add_argument("--window", type=int, default=1024)
    p.add_argument("--batches", default="1,64", help="comma-separated batch sizes")
    p.add_argument("--dtypes", default="float16,float32")
    p.add_argument("--modes", default="sdpa,imc_dataflow")
    p.add_argument("--steps", type=int, default=4096)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--energy-seconds", type=float, default=3.0)
    p.add_argument("--out", default=None, help="JSON output file")
    a = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        return _skip("PyTorch is not installed (pip install gaincell[torch])")
    if not torch.cuda.is_available():
        return _skip("no CUDA GPU visible to PyTorch")
    nv, h = _nvml()
    if nv is None:
        print("gpu_attention_baseline: NVML unavailable: latency only (pip install "
              "nvidia-ml-py for energy)")
    idle = _idle_power_w(nv, h) if nv is not None else None
    runs = []
    for B in (int(x) for x in a.batches.split(",")):
        for dt in a.dtypes.split(","):
            for mode in a.modes.split(","):
                runs.append(measure(B, a.heads, a.head_dim, a.window, getattr(torch, dt), mode,
                                    a.steps, a.repeats, a.energy_seconds, nv, h, idle or 0.0))
                r = runs[-1]
                e = r.get("dynamic_energy_per_token_j")
                print(f"B={B:3d} {dt:8s} {mode:13s} {r['latency_per_token_s'] * 1e6:9.3f} us/token"
                      + (f"  {e * 1e3:8.4f} mJ/token (dynamic)" if e is not None else ""))
    result = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
              "H": a.heads, "D": a.head_dim, "W": a.window, "runs": runs,
              "idle_power_w": idle}
    if a.out:
        from gaincell._io import atomic_write_text

        atomic_write_text(a.out, json.dumps(result, indent=1))
        print(f"wrote {a.out}")
    try:
        import gaincell.system as gs
        from gaincell.params import AttentionConfig

        est = gs.estimate(AttentionConfig.leroux2025(head_dim=a.head_dim, window=a.window))
    except Exception as exc:  # noqa: BLE001 - the ratios are a convenience
        print(f"(no ratios: {exc})")
        return 0
    e_design = est.energy_head_j * a.heads
    print(f"\nratios against the leroux2025 design ({est.latency_layer_s * 1e9:.4g} ns, "
          f"{e_design * 1e9:.4g} nJ per token for {a.heads} heads):")
    for r in runs:
        e = r.get("dynamic_energy_per_token_j")
        print(f"B={r['B']:3d} {r['dtype']:8s} {r['mode']:13s} latency "
              f"x{r['latency_per_token_s'] / est.latency_layer_s:,.1f}"
              + (f"  energy x{e / e_design:,.0f}" if e is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
