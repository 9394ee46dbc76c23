"""``gaincell demo``: the main job on the built-in leroux2025 design."""

from __future__ import annotations

import argparse

import numpy as np

from gaincell.device import (
    CellTransfer,
    decay_factor,
    design_warnings,
    fit_cell,
    linear_equivalent_gain_ua_per_v,
)
from gaincell.metrics import compare
from gaincell.params import LEROUX2025_V_READ, AttentionConfig, IVTable


def register(sub) -> None:
    p = sub.add_parser("demo", help="device summary, attention simulation and energy-area "
                       "report of a design (default: leroux2025)",
                       description="Run the main job on a design (default: the built-in "
                       "leroux2025 GPT-2 design).")
    p.add_argument("--config", help="design TOML file (default: built-in leroux2025)")
    p.add_argument("--out", default="report", help="report folder (default: report/)")
    p.set_defaults(func=run)


def device_summary(cfg: AttentionConfig) -> str:
    """Text summary of the cell, retention and converters of a design."""
    d = cfg.device
    tr = CellTransfer(d)
    lines = [f"== device ({d.cell_model} cell model) =="]
    i_lo, i_hi = tr.current([0.0, d.vdd]) * 1e6
    lines.append(f"read current at V_in = {d.v_read} V: {i_lo:+.2f} uA (V_store 0 V) .. "
                 f"{i_hi:+.2f} uA (V_store {d.vdd} V)")
    if tr.is_polynomial:
        a = tr.read_poly_ua()
        lines.append("cubic I(w) at v_read, uA/V^i: a = [" +
                     ", ".join(f"{x:.8f}" for x in a) + "]")
    fit = fit_cell(IVTable.leroux2025(), v_in=LEROUX2025_V_READ)
    lines.append("fit of the paper's measured sweep: " + fit.summary())
    lines.append(f"retention: leak per token step {cfg.leak_per_step:g}; stored deviation "
                 f"after {cfg.window - 1} steps: "
                 f"{float(decay_factor(cfg.window - 1, cfg.leak_per_step)):.4f}")
    lines.append(f"PWM: {d.q_levels} levels on [{d.q_lo}, {d.q_hi}] x T_max = "
                 f"{d.t_max * 1e9:g} ns; DAC: {d.kv_levels} levels on [{d.kv_lo}, {d.kv_hi}] V; "
                 f"counter: {d.out_levels} levels on [{d.out_lo}, {d.out_hi}]")
    lines.append(f"charge-to-pulse saturation: stage 1 {d.stage1_q_sat * 1e12:.3g} pC "
                 f"({d.stage1_sat_ua_tmax:.4g} uA x T_max), stage 2 "
                 f"{d.stage2_q_sat * 1e12:.3g} pC ({d.stage2_sat_ua_tmax:.4g} uA x T_max)")
    return "\n".join(lines)


def attention_summary(cfg: AttentionConfig, tokens: int | None = None, seed: int = 0):
    """Simulate one layer of the design on random inputs; errors against ideal variants.

    Inputs: query pulse widths uniform in [0, 1] x T_max; keys and values uniform over the
    stored range. Metrics: :func:`gaincell.metrics.compare` (formulas printed with them).
    Returns ``(text, activity)``; the activity feeds the data-dependent energy estimate.
    """
    import time

    from gaincell.array import GainCellAttention
    from gaincell.reference import hardsigmoid_attention

    T = cfg.window if tokens is None else tokens
    rng = np.random.default_rng(seed)
    d = cfg.device
    shape = (1, cfg.n_heads, T, cfg.head_dim)
    q = rng.uniform(0.0, 1.0, shape)
    k = rng.uniform(d.kv_lo, d.kv_hi, shape)
    v = rng.uniform(d.kv_lo, d.kv_hi, shape)
    t0 = time.perf_counter()
    y, tr = GainCellAttention(cfg, seed=seed).forward(q, k, v, trace=True)
    dt = time.perf_counter() - t0
    fired = tr.phi[tr.phi > 0]
    mean_phi = f"{fired.mean():.3f}" if fired.size else "none (no pulse fired)"
    variants = {
        "analog converters (no quantization)": cfg.replace(q_levels=None, kv_levels=None,
                                                           out_levels=None),
        "no leakage": cfg.replace(leak_per_step=0.0),
        "linear cell (the paper's intermediate model)": cfg.replace(cell_model="linear"),
    }
    gain = linear_equivalent_gain_ua_per_v(cfg.device)
    lines = [f"== attention: one layer, {cfg.n_heads} heads x {T} tokens, random inputs ==",
             f"simulated in {dt:.2f} s (trace on); output RMS {np.sqrt(np.mean(y**2)):.4f}, "
             f"max |y| {np.abs(y).max():.4f} (units of one counter's full scale)",
             f"first stage: mean phi {mean_phi} over non-zero pulses, "
             f"{tr.activity.phi_saturated} of {tr.activity.stage1_conversions} conversions "
             f"saturated; second stage: {tr.activity.counter_saturated} of "
             f"{tr.activity.stage2_conversions} counters clipped",
             "the design's output y against a reference r: rel = rms(y - r) / rms(r); corr = "
             "Pearson correlation; a, b = least-squares fit y ~ a r + b; fitted = "
             "rms(y - a r - b) / std(y), the error a per-output scale and offset cannot remove",
             f"  {'reference r':<46} {'rel':>7} {'corr':>7} {'fitted':>7} {'a':>7} {'b':>8}"]

    def row(name: str, ref) -> str:
        c = compare(y, ref)
        return (f"  {name:<46} {c.rel_rms:7.4f} {c.corr:7.4f} {c.fitted_rel_rms:7.4f} "
                f"{c.gain:7.4f} {c.offset:+8.4f}")

    for name, c in variants.items():
        lines.append(row(name, GainCellAttention(c, seed=seed).forward(q, k, v)))
    ideal = hardsigmoid_attention(q, k, v, cfg, gain_ua_per_v=gain)
    lines.append(row("ideal HardSigmoid attention (float)", ideal))
    lines.append(f"  (ideal: the design's own cell as a linear one, {gain:.4g} uA/V = the "
                 f"least-squares slope of I(w) over the stored range; no leakage, no "
                 f"quantization, no clipping per sub-array)")
    return "\n".join(lines), tr.activity


def run(args: argparse.Namespace) -> int:
    from gaincell.system import estimate, load_design, write_report

    if args.config:
        cfg, spec = load_design(args.config)
    else:
        cfg, spec = AttentionConfig.leroux2025(), None
    np.set_printoptions(precision=4, suppress=True)
    print(f"gaincell demo: {'design ' + args.config if args.config else 'leroux2025'}: "
          f"{cfg.n_heads} heads x head_dim {cfg.head_dim}, window {cfg.window}, "
          f"{cfg.n_subarrays} sub-arrays of {cfg.array_rows} x {cfg.array_cols} per head")
    print(device_summary(cfg))
    for w in design_warnings(cfg):
        print(f"warning: {w}")
    text, activity = attention_summary(cfg)
    print(text)
    est = estimate(cfg, spec=spec, activity=activity)
    print(f"== system ({est.n_layers} layers, {est.mode}) ==")
    print(f"latency {est.latency_layer_s * 1e9:.4g} ns per token per layer; energy "
          f"{est.energy_head_j * 1e9:.4g} nJ per token per head (average case), "
          f"{est.data_energy_head_j * 1e9:.4g} nJ with the simulated activity; area "
          f"{est.area_head_m2 * 1e6:.3g} mm^2 per head")
    if est.mode == "calibrated":   # the paper's design: its physics-based prediction beside it
        pred = estimate(cfg, spec=spec, activity=activity, mode="predicted")
        print(f"predicted from circuit physics (no constant fitted to the paper's totals): "
              f"{pred.latency_layer_s * 1e9:.4g} ns, {pred.energy_head_j * 1e9:.4g} nJ per "
              f"token per head, {pred.area_head_m2 * 1e6:.3g} mm^2 per head")
    for g in est.gpu[:2]:
        print(f"vs {g.baseline.name}: x{g.latency_ratio:,.0f} latency, "
              f"x{g.energy_ratio:,.0f} energy")
    paths = write_report(est, args.out)
    print(f"report: {len(paths)} files written to {args.out}/ (report.md, report.json, figures)")
    return 0
