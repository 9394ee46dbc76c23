"""``gaincell init`` (a complete, commented design file) and ``gaincell show-config``.

``init`` writes every key of ``[attention]``, ``[device]`` and ``[system]`` with its meaning,
unit, source, allowed values and default, so a new design starts from a file that says what
each number is; ``--vdd`` scales every voltage of the preset coherently
(:meth:`gaincell.DeviceParams.scaled_to_vdd`). ``show-config`` prints a design as resolved:
the values a simulation uses, what follows from them (leak per step, tau at temperature,
saturation charges in the paper's units) and the coherence warnings of the converters.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import fields

from gaincell._version import __version__
from gaincell.device.coherence import design_usage, design_warnings
from gaincell.params import (
    ALLOWED,
    AttentionConfig,
    DeviceParams,
    _toml_value,
    field_docs,
    tau_at,
)
from gaincell.system import SystemSpec, load_design

__all__ = ["register", "init_text", "show_text"]

_WIDTH = 96


def register(sub) -> None:
    """Add ``init`` and ``show-config`` to ``sub`` (argparse subparsers)."""
    p = sub.add_parser(
        "init", help="write a complete, commented design file (stdout or --out)",
        description="Write a design file with every key, its unit, meaning, source, allowed "
                    "values and default: the leroux2025 preset, or with --vdd its voltages "
                    "scaled to another supply.")
    p.add_argument("--vdd", type=float, default=None, metavar="V",
                   help="supply voltage: scale every voltage of the preset to it (default 0.9)")
    p.add_argument("--name", default=None, help="design name ([meta] name)")
    p.add_argument("--out", default=None, metavar="DESIGN.toml",
                   help="write here instead of standard output (refuses to replace a file "
                        "unless --force)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=run_init)
    s = sub.add_parser(
        "show-config", help="print a design file as resolved (values, derived, warnings)",
        description="Print the design as the simulator resolves it: every value, what follows "
                    "from them, and the coherence warnings of the converters.")
    s.add_argument("config", metavar="DESIGN.toml", nargs="?", default=None,
                   help="design file (default: built-in leroux2025)")
    s.set_defaults(func=run_show)


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, _WIDTH - 2, initial_indent="# ", subsequent_indent="# ",
                         break_on_hyphens=False) or ["#"]


def _key_block(name: str, value, doc: str, allowed: str | None) -> list[str]:
    lines = _comment(doc) if doc else []
    if allowed:
        lines += _comment(f"allowed: {allowed}")
    if value is None:
        return lines + [f"# {name} = (not set)", ""]
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):
        value = [list(r) for r in value]
    elif isinstance(value, tuple):
        value = list(value)
    return lines + [f"{name} = {_toml_value(value)}", ""]


def init_text(vdd: float | None = None, name: str | None = None) -> str:
    """The text of ``gaincell init``: the preset (or its voltages scaled to ``vdd``), every key
    commented. It loads back (:func:`gaincell.load_toml`) to exactly that design."""
    dev = DeviceParams.leroux2025()
    if vdd is not None:
        dev = dev.scaled_to_vdd(vdd)
    cfg = AttentionConfig.leroux2025(device=dev)
    name = name or ("leroux2025" if vdd is None else f"leroux2025 scaled to {dev.vdd:g} V")
    out = [f"# gaincell design file, written by gaincell {__version__} (gaincell init"
           f"{'' if vdd is None else f' --vdd {vdd:g}'}).",
           "# Every key is listed with its meaning, unit, source, allowed values and default.",
           "# SI units unless the key names its unit. Delete the keys you do not change: a",
           "# missing key takes the leroux2025 default. Check it: gaincell show-config FILE."]
    if vdd is not None:
        out += _comment(f"Voltages are the leroux2025 preset's scaled by {dev.vdd:g} / 0.9 V, "
                        f"and its cell stretched over the new swing with the same currents "
                        f"(DeviceParams.scaled_to_vdd): a coherent starting point, not your "
                        f"cell. Replace poly_c_ua (and poly_v_in_range) by a fit of your cell "
                        f"(gaincell characterize), or give an iv_table.")
    out += ["", "[meta]", f"name = {_toml_value(name)}", "", "[attention]", ""]
    adoc = field_docs(AttentionConfig)
    for f in fields(AttentionConfig):
        if not f.init or f.name == "device":
            continue
        value = getattr(cfg, f.name)
        if f.name == "leak_per_step":   # derived from token_period: shown, not set
            out += _comment(adoc.get(f.name, "")) + _comment(f"allowed: {ALLOWED[f.name]}")
            out += [f"# leak_per_step = {_toml_value(value)}   (follows from token_period)", ""]
            continue
        out += _key_block(f.name, value, adoc.get(f.name, ""), ALLOWED.get(f.name))
    out += ["[device]", ""]
    ddoc = field_docs(DeviceParams)
    for f in fields(DeviceParams):
        value = getattr(dev, f.name)
        if f.name in ("q_levels", "kv_levels", "out_levels") and value is None:
            value = "none"
        if f.name in ("iv_table", "retention_table"):
            out += _comment(ddoc.get(f.name, "")) + _comment(f"allowed: {ALLOWED[f.name]}")
            out += [f"# [device.{f.name}]  (not set)", ""]
            continue
        out += _key_block(f.name, value, ddoc.get(f.name, ""), ALLOWED.get(f.name))
    out += ["[system]", ""]
    sdoc = field_docs(SystemSpec)
    for key, value in SystemSpec().to_dict().items():
        if isinstance(value, dict):
            continue
        out += _key_block(key, value, sdoc.get(key, ""), None)
    return "\n".join(out).rstrip() + "\n"


def show_text(cfg: AttentionConfig, spec: SystemSpec | None, source: str) -> str:
    """``gaincell show-config``: the resolved design, what follows from it, and warnings."""
    d = cfg.device
    lines = [f"# {source}", "[attention]"]
    for f in fields(AttentionConfig):
        if f.init and f.name != "device":
            lines.append(f"{f.name} = {getattr(cfg, f.name)!r}")
    lines.append("[device]")
    for f in fields(DeviceParams):
        v = getattr(d, f.name)
        if f.name == "iv_table" and v is not None:
            v = f"IVTable({len(v.v_store)} x {len(v.v_in)} points; {v.source})"
        if f.name == "retention_table" and v is not None:
            v = (f"RetentionTable({len(v.v0)} levels x {len(v.t_s)} times to {v.t_s[-1]:g} s "
                 f"at {v.t_ref:.2f} K; {v.source})")
        lines.append(f"{f.name} = {v!r}")
    if spec is not None:
        lines.append("[system]")
        for k, v in spec.to_dict().items():
            lines.append(f"{k} = {v!r}")
    u = design_usage(cfg)
    lines += ["", "# derived",
              f"tau at {d.temperature:.2f} K = {tau_at(d):.6g} s (tau = {d.tau:g} s at "
              f"t_ref = {d.t_ref:.2f} K, E_a = {d.leak_activation_energy:g} eV)",
              f"leak per token step = {cfg.leak_per_step:.6g} "
              f"({'given' if 'leak_per_step' in cfg._given else 'token_period / tau(T)'}); "
              f"token period = {cfg.token_period!r} s",
              f"read-device threshold spread vth_sigma = {d.vth_sigma:.4g} V"
              + (f" (Pelgrom: {d.pelgrom_avt:g} V m / sqrt({d.read_device_w:g} m x "
                 f"{d.read_device_l:g} m))" if d.pelgrom_avt > 0 else ""),
              f"stage saturation charges: {d.stage1_sat_ua_tmax:.4g} and "
              f"{d.stage2_sat_ua_tmax:.4g} uA x T_max",
              f"typical inputs: {100 * u.stage1_saturated:.1f} % of first-stage reads that fire "
              f"saturate; median phi {u.stage1_median_phi:.3f}"
              + ("" if u.counter_levels_used is None else
                 f"; outputs span {u.counter_levels_used:.1f} of {u.counter_levels} counter "
                 f"levels")]
    warn = design_warnings(cfg)
    lines += [f"warning: {w}" for w in warn] or ["no coherence warnings"]
    return "\n".join(lines) + "\n"


def run_init(args: argparse.Namespace) -> int:
    from gaincell._io import atomic_write_text

    text = init_text(args.vdd, args.name)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    from pathlib import Path

    if Path(args.out).exists() and not args.force:
        raise ValueError(f"{args.out} exists: allowed a new file, or --force to replace it")
    atomic_write_text(args.out, text)
    print(f"wrote {args.out}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    if args.config is None:
        cfg, spec, src = AttentionConfig.leroux2025(), SystemSpec(), "built-in leroux2025"
    else:
        cfg, spec = load_design(args.config)
        src = args.config
    sys.stdout.write(show_text(cfg, spec, src))
    return 0
