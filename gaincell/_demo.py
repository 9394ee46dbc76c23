"""``gaincell demo``: the main job on the built-in leroux2025 design."""

from __future__ import annotations

import argparse

import numpy as np

from gaincell.device import CellTransfer, decay_factor, fit_cell
from gaincell.params import AttentionConfig, IVTable, load_toml


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
    fit = fit_cell(IVTable.leroux2025(), v_in=0.9)
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


def run(args: argparse.Namespace) -> int:
    cfg = load_toml(args.config) if args.config else AttentionConfig.leroux2025()
    np.set_printoptions(precision=4, suppress=True)
    print(f"gaincell demo: {'design ' + args.config if args.config else 'leroux2025'}: "
          f"{cfg.n_heads} heads x head_dim {cfg.head_dim}, window {cfg.window}, "
          f"{cfg.n_subarrays} sub-arrays of {cfg.array_rows} x {cfg.array_cols} per head")
    print(device_summary(cfg))
    return 0
