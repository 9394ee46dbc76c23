"""GPU baselines as data with their method, and the ratios of a design against them.

Normalization (the paper's, code utils/plot_energy.py): a GPU figure is per token of one
attention layer (all its heads), i.e. one decode step divided by the batch. The design's
latency per token of one layer (heads in parallel) is compared with the GPU latency; the GPU
energy is compared with the design's energy per token per head times the baseline's number of
heads. With the paper's numbers: 22.37 us / 65 ns = x344 and 7.178 mJ / (12 x 6.15 nJ) =
x97,000 for the RTX 4090. The comparison is like for like only when the design's window and
head dimension equal the baseline's (``matched``); the GPU figures exclude projections, MLP
and softmax, as the design does.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["GPUBaseline", "GPUComparison", "gpu_baselines", "compare_gpus",
           "DEFAULT_BASELINES"]

_DATA = Path(__file__).resolve().parent.parent / "data"

#: Baselines shown in reports and figures (all are in the JSON report).
DEFAULT_BASELINES = ("RTX 4090 (paper)", "Jetson Nano (paper)", "H100 fp16 sdpa B=64",
                     "H100 fp16 sdpa B=1")


@dataclass(frozen=True)
class GPUBaseline:
    """One measured GPU figure of sliding-window attention decode.

    Attributes
    ----------
    name : str
        Short label, e.g. ``"RTX 4090 (paper)"``.
    device : str
        The GPU.
    batch, n_heads, head_dim, window : int
        Workload: sequences per step, heads, head dimension, window (tokens).
    dtype, mode : str
        Precision and kernel (``matmul``, ``sdpa``, ``imc_dataflow``).
    latency_per_token_s : float
        Step latency divided by the batch, s.
    energy_per_token_j : float
        Dynamic (idle-subtracted) energy per step divided by the batch, J.
    energy_total_per_token_j : float or None
        The same including idle power, J, where measured.
    method, source : str
        How it was measured and where the number comes from.
    """

    name: str
    device: str
    batch: int
    n_heads: int
    head_dim: int
    window: int
    dtype: str
    mode: str
    latency_per_token_s: float
    energy_per_token_j: float
    energy_total_per_token_j: float | None
    method: str
    source: str

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class GPUComparison:
    """Ratios of a GPU baseline to a design (> 1: the design is faster / spends less).

    Attributes
    ----------
    baseline : GPUBaseline
    design_latency_s : float
        Design latency per token of one layer, s.
    design_energy_j : float
        Design energy per token for ``baseline.n_heads`` heads, J.
    latency_ratio, energy_ratio : float
        GPU / design.
    matched : bool
        True when the design's window and head_dim equal the baseline's.
    """

    baseline: GPUBaseline
    design_latency_s: float
    design_energy_j: float
    latency_ratio: float
    energy_ratio: float
    matched: bool

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"baseline": self.baseline.to_dict(), "design_latency_s": self.design_latency_s,
                "design_energy_j": self.design_energy_j, "latency_ratio": self.latency_ratio,
                "energy_ratio": self.energy_ratio, "matched": self.matched}


@lru_cache(maxsize=1)
def gpu_baselines() -> tuple[GPUBaseline, ...]:
    """Every stored baseline: the paper's RTX 4090 and Jetson Nano, and this project's H100
    measurements (gaincell/data/gpu_baseline_paper.json, gpu_baseline_h100.json)."""
    out = []
    paper = json.loads((_DATA / "gpu_baseline_paper.json").read_text(encoding="utf-8"))
    for r in paper["runs"]:
        out.append(GPUBaseline(
            name=r["name"], device=r["device"], batch=r["B"], n_heads=r["H"], head_dim=r["D"],
            window=r["W"], dtype=r["dtype"], mode=r["mode"],
            latency_per_token_s=r["latency_per_token_s"],
            energy_per_token_j=r["energy_per_token_j"], energy_total_per_token_j=None,
            method=paper["method"], source=paper["source"]))
    h100 = json.loads((_DATA / "gpu_baseline_h100.json").read_text(encoding="utf-8"))
    method = ("PyTorch " + h100["torch"] + ", CUDA graphs; per step: write k, v into a "
              "ring-buffer KV cache, then attention of one query over the full window; "
              "latency = median of 7 repeats of 4096 steps (CUDA events) / batch; energy = "
              "NVML total-energy counter over ~3 s of steps minus idle power "
              f"({h100['idle_power_w']:.1f} W), per step / batch")
    for r in h100["runs"]:
        short = {"float16": "fp16", "float32": "fp32"}[r["dtype"]]
        out.append(GPUBaseline(
            name=f"H100 {short} {r['mode']} B={r['B']}", device=h100["device"], batch=r["B"],
            n_heads=h100["H"], head_dim=h100["D"], window=h100["W"], dtype=r["dtype"],
            mode=r["mode"], latency_per_token_s=r["latency_per_token_s"],
            energy_per_token_j=r["dynamic_energy_per_token_j"],
            energy_total_per_token_j=r["energy_per_token_j"], method=method,
            source="measured for this project (gaincell/data/gpu_baseline_h100.json)"))
    return tuple(out)


def compare_gpus(est: Any,
                 baselines: tuple[GPUBaseline, ...] | None = None) -> tuple[GPUComparison, ...]:
    """Ratios of ``baselines`` (default: all stored) to design ``est`` (see module doc): an
    :class:`~gaincell.system.estimator.Estimate` or anything with its ``energy_head_j`` (J),
    ``latency_layer_s`` (s) and ``cfg`` (this module sits below the estimator)."""
    out = []
    for b in gpu_baselines() if baselines is None else baselines:
        e_design = est.energy_head_j * b.n_heads
        out.append(GPUComparison(
            baseline=b, design_latency_s=est.latency_layer_s, design_energy_j=e_design,
            latency_ratio=b.latency_per_token_s / est.latency_layer_s,
            energy_ratio=b.energy_per_token_j / e_design,
            matched=(est.cfg.window == b.window and est.cfg.head_dim == b.head_dim)))
    return tuple(out)
