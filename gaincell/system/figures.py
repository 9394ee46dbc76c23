"""Report figures (matplotlib, Agg backend): every axis labelled with its unit, every figure
with a legend. Each function returns a Figure; the caller saves and closes it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from gaincell.system.breakdown import GROUP_LABELS, Breakdown  # noqa: E402
from gaincell.system.estimator import Estimate  # noqa: E402
from gaincell.system.gpu import DEFAULT_BASELINES  # noqa: E402
from gaincell.system.scaling import ScalingStudy  # noqa: E402

__all__ = ["energy_figure", "latency_figure", "area_figure", "gpu_figure",
           "window_figure", "heads_figure", "layers_figure", "PAPER_ENERGY_PJ"]

#: The paper's energy per token per head, pJ, by group (code, utils/plot_energy.py).
PAPER_ENERGY_PJ = {"stage1": 1120.0, "stage2": 700.0, "digital": 4000.0, "dac": 330.0}
_COLORS = {"stage1": "#1f77b4", "stage2": "#ff7f0e", "digital": "#2ca02c", "dac": "#d62728",
           "write": "#d62728", "read": "#1f77b4", "cells": "#9467bd", "periphery": "#8c564b"}


def _group_legend(ax, groups) -> None:
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=_COLORS.get(g, "grey"), label=GROUP_LABELS.get(g, g))
                       for g in groups], loc="best", fontsize=8)


def _hbar(ax, bd: Breakdown, scale: float) -> None:
    names = [n for _, n, _ in bd.items][::-1]
    vals = [v * scale for _, _, v in bd.items][::-1]
    cols = [_COLORS.get(g, "grey") for g, _, _ in bd.items][::-1]
    ax.barh(names, vals, color=cols)
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="x", alpha=0.3)
    _group_legend(ax, list(bd.by_group()))


def energy_figure(est: Estimate, paper_point: bool):
    """Energy per token per head: groups (average case, data-dependent, paper) and items."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [1, 1.6]})
    cols = [("average case", est.energy.by_group())]
    if est.data_energy is not None:
        cols.append(("data-dependent", est.data_energy.by_group()))
    if paper_point:
        cols.append(("paper", {g: v * 1e-12 for g, v in PAPER_ENERGY_PJ.items()}))
    x = np.arange(len(cols))
    bottom = np.zeros(len(cols))
    for g in est.energy.by_group():
        vals = np.array([c.get(g, 0.0) * 1e12 for _, c in cols])
        a1.bar(x, vals, 0.6, bottom=bottom, color=_COLORS[g], label=GROUP_LABELS[g])
        bottom += vals
    a1.set_xticks(x, [n for n, _ in cols])
    a1.set_ylabel("energy per token per head (pJ)")
    a1.set_title("by stage")
    a1.legend(fontsize=8)
    a1.grid(axis="y", alpha=0.3)
    _hbar(a2, est.energy, 1e12)
    a2.set_xlabel("energy per token per head, average case (pJ)")
    a2.set_title("by component")
    fig.suptitle(f"Energy per token per head: {est.energy_head_j * 1e9:.3g} nJ "
                 f"(window {est.cfg.window}, head_dim {est.cfg.head_dim})")
    fig.tight_layout()
    return fig


def latency_figure(est: Estimate):
    """Per-token schedule of one layer as a timeline of phases."""
    fig, ax = plt.subplots(figsize=(10, 4))
    t = 0.0
    items = est.latency.items
    for k, (g, _name, v) in enumerate(items):
        ax.barh(len(items) - 1 - k, v * 1e9, left=t * 1e9, color=_COLORS.get(g, "grey"))
        ax.text((t + v) * 1e9 + 0.3, len(items) - 1 - k, f"{v * 1e9:.3g} ns", va="center",
                fontsize=7)
        t += v
    ax.set_yticks(range(len(items)), [n for _, n, _ in items][::-1], fontsize=7)
    ax.set_xlabel("time within one token step of one layer (ns)")
    ax.set_xlim(0, t * 1e9 * 1.12)
    ax.set_title(f"Latency per token per layer: {t * 1e9:.4g} ns (heads in parallel)")
    ax.grid(axis="x", alpha=0.3)
    _group_legend(ax, list(est.latency.by_group()))
    fig.tight_layout()
    return fig


def area_figure(est: Estimate):
    """Area of one head by block."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    _hbar(ax, est.area, 1e6)
    ax.set_xlabel("area per head (mm$^2$)")
    ax.set_title(f"Area per head: {est.area_head_m2 * 1e6:.3g} mm$^2$ "
                 "(paper: 0.5 mm$^2$, unconfirmed)")
    fig.tight_layout()
    return fig


def gpu_figure(est: Estimate):
    """Latency and energy per token (one layer's heads) of GPUs and the design, log axes."""
    comps = [c for name in DEFAULT_BASELINES for c in est.gpu if c.baseline.name == name]
    names = [c.baseline.name for c in comps] + ["gain-cell design"]
    lat = [c.baseline.latency_per_token_s for c in comps] + [est.latency_layer_s]
    n_h = comps[0].baseline.n_heads if comps else est.cfg.n_heads
    en = [c.baseline.energy_per_token_j for c in comps] + [est.energy_head_j * n_h]
    colors = ["#7f7f7f"] * len(comps) + ["#aa0088"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 5))
    for ax, vals, unit, what, ratios in (
            (a1, lat, "s", "latency per token", [c.latency_ratio for c in comps]),
            (a2, en, "J", f"energy per token ({n_h} heads)", [c.energy_ratio for c in comps])):
        bars = ax.bar(range(len(vals)), vals, color=colors)
        ax.set_yscale("log")
        ax.set_xticks(range(len(vals)), names, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(f"{what} ({unit}, log scale)")
        for b, r in zip(bars, ratios):
            ax.annotate(f"x{r:,.0f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=7)
        ax.grid(axis="y", which="both", alpha=0.3)
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color="#7f7f7f", label="GPU (label: GPU / design)"),
                           Patch(color="#aa0088", label="this design")], fontsize=8)
    fig.suptitle("One attention layer per token: GPUs vs the gain-cell design "
                 "(GPU figures: step / batch, idle power subtracted)")
    fig.tight_layout()
    return fig


def window_figure(study: ScalingStudy):
    """Energy per head by stage, latency and area per head vs window."""
    w = np.array(study.values)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    groups = list(study.estimates[0].energy.by_group())
    for g in groups:
        a1.plot(w, [e.energy.group(g) * 1e12 for e in study.estimates], "o-",
                color=_COLORS[g], label=GROUP_LABELS[g])
    a1.plot(w, [e.energy_head_j * 1e12 for e in study.estimates], "k--", label="total")
    a1.set_xscale("log", base=2)
    a1.set_yscale("log")
    a1.set_xlabel("window W (tokens)")
    a1.set_ylabel("energy per token per head (pJ)")
    a1.legend(fontsize=8)
    a1.grid(which="both", alpha=0.3)
    a2.plot(w, [e.latency_layer_s * 1e9 for e in study.estimates], "o-", color="#1f77b4",
            label="latency per token per layer")
    a2.set_xscale("log", base=2)
    a2.set_xlabel("window W (tokens)")
    a2.set_ylabel("latency per token per layer (ns)")
    a2.set_ylim(0, None)
    a3 = a2.twinx()
    a3.plot(w, [e.area_head_m2 * 1e6 for e in study.estimates], "s-", color="#9467bd",
            label="area per head")
    a3.set_ylabel("area per head (mm$^2$)")
    h1, l1 = a2.get_legend_handles_labels()
    h2, l2 = a3.get_legend_handles_labels()
    a2.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
    a2.grid(alpha=0.3)
    fig.suptitle("Scaling with the window")
    fig.tight_layout()
    return fig


def heads_figure(study: ScalingStudy):
    """Energy per layer, area per layer and latency vs number of heads."""
    h = np.array(study.values)
    fig, (a1, a4, a2) = plt.subplots(1, 3, figsize=(15, 4.5))
    a1.plot(h, [e.energy_layer_j * 1e9 for e in study.estimates], "o-", color="#2ca02c",
            label="energy per token per layer")
    a1.set_xlabel("heads per layer")
    a1.set_ylabel("energy per token per layer (nJ)")
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3)
    a4.plot(h, [e.area_layer_m2 * 1e6 for e in study.estimates], "s-", color="#9467bd",
            label="area per layer")
    a4.set_xlabel("heads per layer")
    a4.set_ylabel("area per layer (mm$^2$)")
    a4.legend(fontsize=8)
    a4.grid(alpha=0.3)
    a2.plot(h, [e.latency_layer_s * 1e9 for e in study.estimates], "o-", color="#1f77b4",
            label="latency per token per layer (heads in parallel)")
    a2.set_xlabel("heads per layer")
    a2.set_ylabel("latency per token per layer (ns)")
    a2.set_ylim(0, None)
    a2.legend(fontsize=8)
    a2.grid(alpha=0.3)
    fig.suptitle("Scaling with the number of heads")
    fig.tight_layout()
    return fig


def layers_figure(study: ScalingStudy, taus=(1e-3, 5e-3, 50e-3)):
    """Token period, model energy per token, and the leak per step vs layers."""
    n = np.array(study.values)
    fig, (a1, a5, a2) = plt.subplots(1, 3, figsize=(15, 4.5))
    a1.plot(n, [e.token_period_s * 1e9 for e in study.estimates], "o-", color="#1f77b4",
            label="token period = layers x layer latency")
    a1.set_xlabel("layers")
    a1.set_ylabel("token period (ns)")
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3)
    a5.plot(n, [e.energy_model_j * 1e9 for e in study.estimates], "s-", color="#2ca02c",
            label="attention energy per token (model)")
    a5.set_xlabel("layers")
    a5.set_ylabel("attention energy per token, model (nJ)")
    a5.legend(fontsize=8)
    a5.grid(alpha=0.3)
    for tau in taus:
        a2.plot(n, [e.retention.with_(tau_s=tau).leak_per_step for e in study.estimates],
                "o-", label=f"tau = {tau * 1e3:g} ms")
    cfg_leak = study.estimates[0].retention.config_leak_per_step
    if cfg_leak > 0:
        a2.axhline(cfg_leak, color="k", ls="--", label=f"design leak_per_step = {cfg_leak:g}")
    a2.set_xscale("log")
    a2.set_yscale("log")
    a2.set_xlabel("layers")
    a2.set_ylabel("leak per token step = token period / tau (1)")
    a2.legend(fontsize=8)
    a2.grid(which="both", alpha=0.3)
    fig.suptitle("Scaling with the number of layers, and the retention it implies")
    fig.tight_layout()
    return fig
