"""Report figures (matplotlib): every axis labelled with its unit, every figure with a legend.
Each function returns a Figure; the caller shows or saves and closes it. The backend is the
caller's choice (notebooks render inline; the ``report`` command selects a file backend).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from gaincell.system.breakdown import GROUP_LABELS, Breakdown
from gaincell.system.calibrated import LEROUX2025
from gaincell.system.estimator import Estimate
from gaincell.system.gpu import DEFAULT_BASELINES
from gaincell.system.scaling import ScalingStudy

__all__ = ["energy_figure", "latency_figure", "area_figure", "gpu_figure",
           "window_figure", "heads_figure", "layers_figure", "PAPER_ENERGY_PJ"]

#: The paper's energy per token per head, pJ, by group (code, utils/plot_energy.py).
PAPER_ENERGY_PJ = {g: v * 1e12 for g, v in LEROUX2025.groups().items()}
_COLORS = {"stage1": "#1f77b4", "stage2": "#ff7f0e", "digital": "#2ca02c", "dac": "#d62728",
           "static": "#7f7f7f",
           "write": "#d62728", "read": "#1f77b4", "cells": "#9467bd", "periphery": "#8c564b"}


def _group_legend(ax, groups) -> None:
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=_COLORS.get(g, "grey"), label=GROUP_LABELS.get(g, g))
                       for g in groups], loc="best", fontsize=8)


def _dominated(values) -> bool:
    """True when the largest value exceeds 10x the median of the non-zero ones."""
    v = np.array([x for x in values if x > 0])
    return v.size > 1 and v.max() > 10 * np.median(v)


def _hbar(ax, bd: Breakdown, scale: float, log: bool | None = None) -> bool:
    """Items as horizontal bars (zero items left out on a log axis); log axis when one item
    dominates (or when ``log``). Returns whether the axis is logarithmic."""
    items = list(bd.items)
    log = _dominated([v for _, _, v in items]) if log is None else log
    if log:
        items = [it for it in items if it[2] > 0]
    names = [n for _, n, _ in items][::-1]
    vals = [v * scale for _, _, v in items][::-1]
    cols = [_COLORS.get(g, "grey") for g, _, _ in items][::-1]
    ax.barh(names, vals, color=cols)
    if log:
        ax.set_xscale("log")
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(axis="x", which="both", alpha=0.3)
    _group_legend(ax, list(dict.fromkeys(g for g, _, _ in items)))
    return log


def energy_figure(est: Estimate, paper_point: bool, companions=None):
    """Energy per token per head: groups side by side (this estimate, data-dependent, and
    for the paper's design calibrated / predicted / published) on a log axis, and items (log
    axis when one item dominates)."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5.5),
                                 gridspec_kw={"width_ratios": [1, 1.5]})
    if companions is not None:
        cols = [("calibrated", companions[0].energy.by_group()),
                ("predicted", companions[1].energy.by_group())]
    else:
        cols = [(f"{est.mode}, average case", est.energy.by_group())]
    if est.data_energy is not None:
        cols.append((f"{est.mode}, data-dependent", est.data_energy.by_group()))
    if paper_point:
        cols.append(("published", {g: v * 1e-12 for g, v in PAPER_ENERGY_PJ.items()}))
    groups = list(dict.fromkeys(g for _, c in cols for g in c))
    width = 0.8 / len(cols)
    hatches = ["", "//", "..", "xx"]
    for j, (name, c) in enumerate(cols):
        x = np.arange(len(groups)) + (j - (len(cols) - 1) / 2) * width
        vals = [c.get(g, 0.0) * 1e12 for g in groups]
        a1.bar(x, [v if v > 0 else np.nan for v in vals], width,
               color=[_COLORS.get(g, "grey") for g in groups], hatch=hatches[j % 4],
               edgecolor="k", linewidth=0.5, label=name)
    a1.set_xticks(np.arange(len(groups)), [GROUP_LABELS.get(g, g) for g in groups],
                  rotation=20, ha="right", fontsize=8)
    a1.set_yscale("log")
    a1.set_ylabel("energy per token per head (pJ, log scale)")
    a1.set_title("by group: " + " / ".join(n for n, _ in cols) + " (hatching)")
    from matplotlib.patches import Patch

    a1.legend(handles=[Patch(facecolor="white", edgecolor="k", hatch=hatches[j % 4], label=n)
                       for j, (n, _) in enumerate(cols)], fontsize=8)
    a1.grid(axis="y", which="both", alpha=0.3)
    log = _hbar(a2, est.energy, 1e12)
    a2.set_xlabel(f"energy per token per head, {est.mode}, average case "
                  f"(pJ{', log scale' if log else ''})")
    a2.set_title("by component")
    fig.suptitle(f"Energy per token per head ({est.mode}): {est.energy_head_j * 1e9:.3g} nJ "
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
    fig, ax = plt.subplots(figsize=(9, 5))
    log = _hbar(ax, est.area, 1e6)
    ax.set_xlabel(f"area per head (mm$^2${', log scale' if log else ''})")
    ax.set_title(f"Area per head ({est.mode}): {est.area_head_m2 * 1e6:.3g} mm$^2$ "
                 "(paper: 0.5 mm$^2$, unconfirmed)")
    fig.tight_layout()
    return fig


def gpu_figure(est: Estimate):
    """Latency and energy per token (one layer's heads) of GPUs and the design, log axes."""
    comps = [c for name in DEFAULT_BASELINES for c in est.gpu if c.baseline.name == name]
    names = [f"{c.baseline.name}\n(B={c.baseline.batch}, {c.baseline.n_heads} heads)"
             for c in comps] + [f"gain-cell design\n({est.mode})"]
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
    fig.suptitle("One attention layer per token: GPUs vs the gain-cell design")
    fig.text(0.5, 0.005,
             f"Normalization (the paper's): GPU = one decode step of one layer, all "
             f"{n_h} heads, divided by the batch B; energy with idle power subtracted. Design "
             f"= latency per layer (heads in parallel) and energy per head x {n_h} heads. "
             f"RTX 4090 and Jetson Nano: the paper's measurements; H100: measured for this "
             f"project (W={comps[0].baseline.window if comps else est.cfg.window}, "
             f"D={comps[0].baseline.head_dim if comps else est.cfg.head_dim}).",
             ha="center", va="bottom", fontsize=7, wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def _mark(ax, study: ScalingStudy, ys) -> None:
    """Mark the design point (the study's base value) on ``ax``."""
    if study.base in study.values:
        k = list(study.values).index(study.base)
        ax.plot([study.base], [ys[k]], marker="*", ms=14, color="gold", mec="k", ls="none",
                zorder=5, label=f"design point ({study.parameter} = {study.base})")


def window_figure(study: ScalingStudy):
    """Energy per head by group, latency and area per head vs window (linear axes: the
    energy and area grow linearly with the window)."""
    w = np.array(study.values)
    ests = study.estimates
    mode = ests[0].mode
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.5))
    for g in ests[0].energy.by_group():
        a1.plot(w, [e.energy.group(g) * 1e9 for e in ests], "o-", color=_COLORS.get(g, "grey"),
                label=GROUP_LABELS.get(g, g))
    tot = [e.energy_head_j * 1e9 for e in ests]
    a1.plot(w, tot, "k--", label="total")
    _mark(a1, study, tot)
    a1.set_xlabel("window W (tokens)")
    a1.set_ylabel("energy per token per head (nJ)")
    a1.set_ylim(0, None)
    a1.legend(fontsize=7)
    a1.grid(alpha=0.3)
    lat = [e.latency_layer_s * 1e9 for e in ests]
    a2.plot(w, lat, "o-", color="#1f77b4", label="latency per token per layer")
    _mark(a2, study, lat)
    a2.set_xlabel("window W (tokens)")
    a2.set_ylabel("latency per token per layer (ns)")
    a2.set_ylim(0, None)
    a2.legend(fontsize=8)
    a2.grid(alpha=0.3)
    ar = [e.area_head_m2 * 1e6 for e in ests]
    a3.plot(w, ar, "s-", color="#9467bd", label="area per head")
    _mark(a3, study, ar)
    a3.set_xlabel("window W (tokens)")
    a3.set_ylabel("area per head (mm$^2$)")
    a3.set_ylim(0, None)
    a3.legend(fontsize=8)
    a3.grid(alpha=0.3)
    fig.suptitle(f"Scaling with the window ({mode} mode)")
    fig.tight_layout()
    return fig


def heads_figure(study: ScalingStudy):
    """Energy per layer, area per layer and latency vs number of heads (linear axes)."""
    h = np.array(study.values)
    ests = study.estimates
    fig, (a1, a4, a2) = plt.subplots(1, 3, figsize=(15, 4.5))
    en = [e.energy_layer_j * 1e9 for e in ests]
    a1.plot(h, en, "o-", color="#2ca02c", label="energy per token per layer")
    _mark(a1, study, en)
    a1.set_xlabel("heads per layer")
    a1.set_ylabel("energy per token per layer (nJ)")
    a1.set_ylim(0, None)
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3)
    ar = [e.area_layer_m2 * 1e6 for e in ests]
    a4.plot(h, ar, "s-", color="#9467bd", label="area per layer")
    _mark(a4, study, ar)
    a4.set_xlabel("heads per layer")
    a4.set_ylabel("area per layer (mm$^2$)")
    a4.set_ylim(0, None)
    a4.legend(fontsize=8)
    a4.grid(alpha=0.3)
    lat = [e.latency_layer_s * 1e9 for e in ests]
    a2.plot(h, lat, "o-", color="#1f77b4", label="latency per token per layer (heads in parallel)")
    _mark(a2, study, lat)
    a2.set_xlabel("heads per layer")
    a2.set_ylabel("latency per token per layer (ns)")
    a2.set_ylim(0, None)
    a2.legend(fontsize=8)
    a2.grid(alpha=0.3)
    fig.suptitle(f"Scaling with the number of heads ({ests[0].mode} mode)")
    fig.tight_layout()
    return fig


def layers_figure(study: ScalingStudy, taus=(1e-3, 5e-3, 50e-3)):
    """Token period, model energy per token, and the leak per step vs layers (linear axes:
    all three grow linearly with the layers)."""
    n = np.array(study.values)
    ests = study.estimates
    fig, (a1, a5, a2) = plt.subplots(1, 3, figsize=(15, 4.5))
    tp = [e.token_period_s * 1e6 for e in ests]
    a1.plot(n, tp, "o-", color="#1f77b4", label="token period = layers x (latency + overhead)")
    _mark(a1, study, tp)
    a1.set_xlabel("layers")
    a1.set_ylabel("token period (us)")
    a1.set_ylim(0, None)
    a1.legend(fontsize=8)
    a1.grid(alpha=0.3)
    em = [e.energy_model_j * 1e6 for e in ests]
    a5.plot(n, em, "s-", color="#2ca02c", label="attention energy per token (model)")
    _mark(a5, study, em)
    a5.set_xlabel("layers")
    a5.set_ylabel("attention energy per token, model (uJ)")
    a5.set_ylim(0, None)
    a5.legend(fontsize=8)
    a5.grid(alpha=0.3)
    for tau in taus:
        a2.plot(n, [e.retention.with_(tau_s=tau).leak_per_step * 1e3 for e in ests], "o-",
                label=f"tau = {tau * 1e3:g} ms")
    own = [e.retention.leak_per_step * 1e3 for e in ests]
    _mark(a2, study, own)
    cfg_leak = ests[0].retention.config_leak_per_step
    if cfg_leak > 0:
        a2.axhline(cfg_leak * 1e3, color="k", ls="--",
                   label=f"design leak_per_step = {cfg_leak:g}")
    a2.set_xlabel("layers")
    a2.set_ylabel("leak per token step = token period / tau (x 1e-3)")
    a2.set_ylim(0, None)
    a2.legend(fontsize=8)
    a2.grid(alpha=0.3)
    fig.suptitle(f"Scaling with the number of layers, and the retention it implies "
                 f"({ests[0].mode} mode)")
    fig.tight_layout()
    return fig
