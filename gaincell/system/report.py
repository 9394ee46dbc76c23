"""The report: ``report.md``, ``report.json`` and figures (PNG and SVG) for one design.

The whole folder is written as one set (``gaincell._io.atomic_folder``): an interrupted or
failing run leaves the old complete report, the new complete report, or nothing. JSON is
strict (no NaN or Infinity). For the paper's design the report shows the calibrated and the
predicted estimates beside the published figures, and explains the differences.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path

from gaincell._io import atomic_folder, save_figure, to_jsonable
from gaincell.system.breakdown import GROUP_LABELS, Breakdown
from gaincell.system.calibrated import LEROUX2025, is_paper_point
from gaincell.system.estimator import Estimate, estimate
from gaincell.system.gpu import DEFAULT_BASELINES
from gaincell.system.scaling import scaling_studies

__all__ = ["write_report", "render_markdown", "is_paper_point", "PAPER_POINT",
           "paper_companions", "three_columns"]

#: The paper's published figures at its design point (see ``calibrated.LEROUX2025``).
PAPER_POINT = {
    "latency_per_token_layer_s": LEROUX2025.latency_s,
    "energy_per_token_head_J": LEROUX2025.energy_j,
    "energy_groups_J": LEROUX2025.groups(),
    "area_head_m2_unconfirmed": LEROUX2025.area_head_m2,
    "leak_per_step": LEROUX2025.leak_per_step,
}
#: Why the predicted estimate differs from the paper's group, by group.
WHY = {
    "stage1": "the predicted stage counts the K-array charge from the supply (Q x VDD, not "
              "Q x 0.45 V) and an integrator amplifier per column biased to settle its "
              "integration capacitor within one PWM step, which the calibrated 130 fJ per "
              "conversion leaves out",
    "stage2": "the same for the V array and the signed second-stage integrators (one per "
              "sub-array and output)",
    "digital": "the predicted controller is a gate count clocked at the PWM clock during the "
               "layer's slot (gates x toggle energy of the node), not a power fitted to the "
               "paper's 4 nJ; routing uses the predicted (larger) floorplan",
    "dac": "the predicted DAC is a unit-capacitor core, an output buffer sized for the write "
           "bit line and the bit-line C V^2: femtojoules per write, where the calibration "
           "put 2.6 pJ",
    "static": "the calibrated mode has no static power or leakage; the predicted mode "
              "charges leakage of every device (and idle bias / clocks when not gated) over "
              "the whole token period",
}
FIGURES = ("energy_breakdown", "latency_breakdown", "area_breakdown", "gpu_comparison",
           "scaling_window", "scaling_heads", "scaling_layers")


def _si(v: float, unit: str) -> str:
    """Human-readable value with an SI prefix."""
    if v == 0 or not math.isfinite(v):
        return f"{v:g} {unit}"
    prefixes = [(1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1, "")]
    if unit == "m^2":
        return f"{v * 1e6:.4g} mm^2"
    for scale, p in reversed(prefixes):
        if abs(v) >= scale:
            return f"{v / scale:.4g} {p}{unit}"
    return f"{v / 1e-15:.4g} f{unit}"


def _table(rows: list[list[str]], header: list[str]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def _bd_table(bd: Breakdown, unit_scale: float, unit: str,
              others: list[tuple[str, Breakdown]] | None = None) -> str:
    """One row per item: value, share, then the same item in each other breakdown."""
    total = bd.total
    others = others or []
    header = ["group", "item", f"{unit}", "share"] + [f"{n} ({unit})" for n, _ in others]
    maps = [o.by_item() for _, o in others]
    rows = []
    for g, n, v in bd.items:
        r = [GROUP_LABELS.get(g, g), n, f"{v * unit_scale:.4g}",
             f"{100 * v / total:.1f} %" if total else "-"]
        r += [f"{m[n] * unit_scale:.4g}" if n in m else "-" for m in maps]
        rows.append(r)
    r = ["**total**", "", f"**{total * unit_scale:.4g}**", "100 %"]
    r += [f"**{o.total * unit_scale:.4g}**" for _, o in others]
    rows.append(r)
    return _table(rows, header)


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _assumptions(est: Estimate) -> str:
    """Every parameter without a primary source, with its label; a value the design file
    sets is labelled ``design file override`` whatever its default's label."""
    spec = est.spec
    lines = []
    for role, comp in est.components.items():
        over = spec.circuit if role == "circuit" else spec.components.get(role, {})
        for name, src in comp.sources().items():
            label = src.split(":")[0]
            if name in over:
                src, label = f"design file override (default: {src})", "override"
            if label in ("assumption", "unconfirmed", "calibrated", "override"):
                lines.append(f"| {role} | {type(comp).__name__}.{name} | "
                             f"{_fmt(getattr(comp, name))} | {src} |")
    tech = est.derived.get("technology")
    if tech:
        for q, src in tech["sources"].items():
            lines.append(f"| technology | {q} ({tech['node_nm']:g} nm) | {_fmt(tech[q])} | "
                         f"{src} |")
    for k in ("mode", "gating", "cap_type"):
        if est.mode == "calibrated" and k != "mode":
            continue
        lines.append(f"| system | {k} | {getattr(spec, k)} | "
                     f"{'design file / caller' if getattr(spec, k) != _DEFAULTS[k] else 'default'}"
                     f" |")
    return ("| role | parameter | value (SI) | source |\n|---|---|---|---|\n"
            + "\n".join(lines))


_DEFAULTS = {"mode": "auto", "gating": "power", "cap_type": "mim"}


def paper_companions(est: Estimate) -> tuple[Estimate, Estimate] | None:
    """For the paper's design: its ``(calibrated, predicted)`` estimates (``est`` is one of
    them); None for any other design."""
    if not is_paper_point(est.cfg):
        return None
    other = "predicted" if est.mode == "calibrated" else "calibrated"
    try:
        o = estimate(est.cfg, spec=est.spec, mode=other, published=est.published)
    except ValueError:   # e.g. a node the predicted mode's table does not hold
        return None
    return (est, o) if est.mode == "calibrated" else (o, est)


def three_columns(cal: Estimate, pred: Estimate) -> list[list[str]]:
    """Rows ``quantity | calibrated | predicted | published`` of the paper's design."""
    pub = cal.published
    gc, gp = cal.energy.by_group(), pred.energy.by_group()
    rows = [["latency per token per layer", _si(cal.latency_layer_s, "s"),
             _si(pred.latency_layer_s, "s"), _si(pub.latency_s, "s")]]
    for k, v in pub.groups().items():
        rows.append([GROUP_LABELS[k], _si(gc.get(k, 0.0), "J"), _si(gp.get(k, 0.0), "J"),
                     _si(v, "J")])
    rows.append([GROUP_LABELS["static"], "not modelled", _si(gp.get("static", 0.0), "J"),
                 "not published"])
    rows.append(["energy per token per head", _si(cal.energy_head_j, "J"),
                 _si(pred.energy_head_j, "J"), _si(pub.energy_j, "J")])
    rows.append(["area per head", _si(cal.area_head_m2, "m^2"), _si(pred.area_head_m2, "m^2"),
                 _si(pub.area_head_m2, "m^2") + " (unconfirmed)"])
    rows.append(["token period", _si(cal.token_period_s, "s"), _si(pred.token_period_s, "s"),
                 "-"])
    return rows


def _largest(bd: Breakdown, group: str, n: int = 2) -> str:
    items = sorted(((v, name) for g, name, v in bd.items if g == group), reverse=True)[:n]
    return ", ".join(f"{name} {_si(v, bd.unit)}" for v, name in items if v > 0)


def _paper_section(cal: Estimate, pred: Estimate) -> list[str]:
    pub = cal.published
    gp = pred.energy.by_group()
    why = []
    for k in ("stage1", "stage2", "digital", "dac", "static"):
        ref = pub.groups().get(k)
        ratio = f" ({gp.get(k, 0.0) / ref:.3g} x the published)" if ref else ""
        why.append(f"- **{GROUP_LABELS[k]}**: predicted {_si(gp.get(k, 0.0), 'J')}{ratio}; "
                   f"largest items: {_largest(pred.energy, k)}. Why: {WHY[k]}.")
    ac, ap = cal.area.by_item(), pred.area.by_item()
    return [
        "## The paper's design: calibrated, predicted and published", "",
        "This is the paper's `leroux2025` design. **Calibrated**: the component model with one "
        "constant per energy group and the output handshake fitted to the published totals "
        "(it reproduces them by construction, so it is a calibration, not a prediction). "
        "**Predicted**: every block from circuit physics, the technology table and stated "
        "circuit assumptions; no constant is fitted to a published total. **Published**: "
        f"{pub.source}.", "",
        _table(three_columns(cal, pred), ["quantity", "calibrated", "predicted", "published"]),
        "",
        "Where and why the predicted estimate differs:", "", *why,
        f"- **latency**: predicted {_si(pred.latency_layer_s, 's')}: the same T_max phases, an "
        f"adder tree from FO4 delays and a {pred.components['circuit'].handshake_cycles:g}-"
        f"cycle handshake, where the calibration closes the published 65 ns with a "
        f"{_si(cal.latency.by_item()['output handshake'], 's')} handshake.",
        f"- **area**: predicted {_si(pred.area_head_m2, 'm^2')}: integration capacitors at "
        f"the node's MIM density ({_si(ap['stage-1 integration capacitors'], 'm^2')} for "
        f"stage 1) where the calibrated model assumes 10 fF/um^2 "
        f"({_si(ac['stage-1 integrators and converters'], 'm^2')} with comparators), plus the "
        f"amplifiers the calibrated model does not have.",
        f"- **token period**: {pred.overhead_source} (predicted) against "
        f"{cal.overhead_source} (calibrated).", ""]


def _spice_section(est: Estimate) -> list[str]:
    if est.analytic_energy is None:
        return []
    src = est.spec.spice_energy.get("source", "")
    keys = ", ".join(f"`{k}` = {_si(v, 'J')}" for k, v in est.spec.spice_energy.items()
                     if k != "source")
    return ["## Predicted: analytic vs SPICE-measured per-action energies", "",
            f"The design file's `[system.spice_energy]` ({keys}; source: {src}) replaces the "
            f"analytic energy of those actions (cell reads per full-T_max pulse, cell writes "
            f"with the DAC output and write bit line, charge-to-pulse conversions of both "
            f"stages, counter increments). The headline uses the SPICE-measured energies; "
            f"items that the measured action includes read 0 in that column.", "",
            _bd_table(est.analytic_energy, 1e12, "pJ", [("SPICE-measured", est.energy)]), ""]


def render_markdown(est: Estimate, figures: bool = True) -> str:
    """The text of ``report.md``."""
    cfg, d, spec = est.cfg, est.cfg.device, est.spec
    pair = paper_companions(est)
    paper = is_paper_point(cfg)
    title = spec.name or ("leroux2025 GPT-2" if paper else "gain-cell attention design")
    mode_line = (f"**Mode: {est.mode}.** " + (
        "Calibrated: the paper's published totals fix one constant per energy group; this "
        "is a reproduction, not a prediction." if est.mode == "calibrated" else
        f"Predicted: circuit physics at {spec.technology_nm:g} nm, gating `{spec.gating}` "
        f"(leakage over the whole token period; "
        + {"power": "analog biases only in their phases, clocks only in the layer's slot",
           "clock": "clocks gated, analog biases on for the whole token period",
           "none": "clocks and analog biases on for the whole token period"}[spec.gating]
        + f"), {spec.cap_type.upper()} integration capacitors; no constant is fitted to a "
        "published total."))
    md = [f"# {title}: energy, latency and area report",
          "",
          f"Generated by gaincell on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. "
          "Attention only: the Q/K/V and output projections, MLP, LayerNorm and embeddings "
          "stay digital and are outside these energies, as in the paper (their time is in "
          "the token period).",
          "", mode_line, "",
          "## Design",
          "",
          _table([["heads per layer", str(cfg.n_heads)], ["head dimension", str(cfg.head_dim)],
                  ["window (tokens)", str(cfg.window)],
                  ["sub-array (rows x cols)", f"{cfg.array_rows} x {cfg.array_cols}"],
                  ["sub-arrays per head", f"{cfg.n_subarrays} x {cfg.n_row_tiles}"],
                  ["layers", str(spec.n_layers)], ["tokens per sequence", str(spec.tokens)],
                  ["PWM / DAC / counter levels", f"{d.q_levels} / {d.kv_levels} / "
                                                 f"{d.out_levels}"],
                  ["VDD, T_max", f"{d.vdd} V, {d.t_max * 1e9:g} ns"],
                  ["retention tau", _si(est.retention.tau_s, "s")],
                  ["node", f"{spec.technology_nm:g} nm"],
                  ["overhead per layer (not attention)",
                   f"{_si(est.overhead_per_layer_s, 's')}: {est.overhead_source}"]],
                 ["parameter", "value"]),
          "",
          "## Headline",
          "",
          _table([["latency per token per layer (heads in parallel)",
                   _si(est.latency_layer_s, "s")],
                  ["token period (all layers)", _si(est.token_period_s, "s")],
                  ["energy per token per head (average case)", _si(est.energy_head_j, "J")],
                  ["energy per token per layer", _si(est.energy_layer_j, "J")],
                  ["attention energy per token (model)", _si(est.energy_model_j, "J")],
                  [f"attention energy per {spec.tokens}-token sequence",
                   _si(est.energy_sequence_j, "J")],
                  ["attention power while generating", _si(est.power_w, "W")],
                  ["area per head", _si(est.area_head_m2, "m^2")],
                  ["area per layer", _si(est.area_layer_m2, "m^2")],
                  ["area of the model's attention", _si(est.area_model_m2, "m^2")]]
                 + ([["energy per token per head (data-dependent)",
                      _si(est.data_energy_head_j, "J")]] if est.data_energy else []),
                 ["quantity", "value"]),
          ""]
    if pair is not None:
        md += _paper_section(*pair)
    if est.mode == "predicted" and est.derived:
        a1, a2 = est.derived["stage1_amplifier"], est.derived["stage2_amplifier"]
        md += ["## Derived circuit quantities (predicted)", "",
               _table([["stage-1 integration capacitor", _si(est.derived["c_int_stage1_F"],
                                                             "F")],
                       ["stage-1 amplifier: load, settle time, time constants",
                        f"{_si(a1['c_load_F'], 'F')}, {_si(a1['t_settle_s'], 's')}, "
                        f"{a1['n_tau']:.3g}"],
                       ["stage-1 amplifier: gm, bandwidth, bias, energy per conversion",
                        f"{_si(a1['gm_S'], 'S')}, {_si(a1['bandwidth_Hz'], 'Hz')}, "
                        f"{_si(a1['i_bias_A'], 'A')}, {_si(a1['energy_J'], 'J')}"],
                       ["stage-2 amplifier: gm, bias, energy per conversion",
                        f"{_si(a2['gm_S'], 'S')}, {_si(a2['i_bias_A'], 'A')}, "
                        f"{_si(a2['energy_J'], 'J')}"],
                       ["word/bit-line capacitance per cell",
                        _si(est.derived["c_line_per_cell_F"], "F")],
                       ["gate toggle energy at VDD", _si(est.derived["gate_energy_J"], "J")],
                       ["clock (PWM step)", _si(est.derived["clock_hz"], "Hz")],
                       ["tile pitch", f"{est.derived['tile_pitch_m'] * 1e6:.4g} um"]],
                      ["quantity", "value"]), ""]
    md += _spice_section(est)
    md += ["## Energy per token per head", "",
           "Average case: i.i.d. data uniform over the converter levels, a full window. "
           + ("Data-dependent: the activity of a simulation trace (actual pulse widths and "
              "stored values)." if est.data_energy else
              "No simulation activity was given (pass `activity=` for the data-dependent "
              "energy)."), "",
           _bd_table(est.energy, 1e12, "pJ",
                     [("data-dependent", est.data_energy)] if est.data_energy else None), ""]
    if figures:
        md += ["![energy breakdown](energy_breakdown.png)", ""]
    md += ["## Latency per token per layer", "",
           "Phases run one after another; heads run in parallel, layers one after another.", "",
           _bd_table(est.latency, 1e9, "ns"), ""]
    if figures:
        md += ["![latency breakdown](latency_breakdown.png)", ""]
    md += ["## Area per head", "",
           "The paper's 0.5 mm^2 per head (including digital control) is unconfirmed.", "",
           _bd_table(est.area, 1e12, "um^2"), ""]
    if figures:
        md += ["![area breakdown](area_breakdown.png)", ""]
    r = est.retention
    whatif = [[_si(r.token_period_s, "s"), _si(r.tau_s, "s"), f"{r.leak_per_step:.4g}",
               f"{r.retained_after_window:.4f}", "this design"]]
    for label, alt in (("token rate halved", r.with_(token_period_s=2 * r.token_period_s)),
                       ("tau = 1 ms", r.with_(tau_s=1e-3)),
                       ("tau = 50 ms", r.with_(tau_s=50e-3))):
        whatif.append([_si(alt.token_period_s, "s"), _si(alt.tau_s, "s"),
                       f"{alt.leak_per_step:.4g}", f"{alt.retained_after_window:.4f}", label])
    mismatch = (f"{100 * r.mismatch:+.1f} %" if math.isfinite(r.mismatch)
                else "the design has no leak")
    md += ["## Retention", "",
           f"A stored value leaks for one token period between steps: leak per step = token "
           f"period / tau = {_si(r.token_period_s, 's')} / {_si(r.tau_s, 's')} = "
           f"{r.leak_per_step:.4g} (tau at the device's temperature). The design's "
           f"`leak_per_step` (used by the simulation) is {r.config_leak_per_step:g} "
           f"({mismatch}); it implies a token period of "
           f"{_si(r.implied_token_period_s, 's')} at this tau. "
           f"`gaincell.system.retention_config(cfg)` returns the design with the leak per "
           f"step of its own token period.", "",
           _table(whatif, ["token period", "tau", "leak per step",
                           f"retained after {cfg.window - 1} steps", "case"]), ""]
    n_h = est.gpu[0].baseline.n_heads if est.gpu else 12
    gpu_rows = []
    for c in est.gpu:
        b = c.baseline
        gpu_rows.append([b.name, str(b.batch), b.dtype, b.mode,
                         _si(b.latency_per_token_s, "s"), _si(b.energy_per_token_j, "J"),
                         f"x{c.latency_ratio:,.1f}", f"x{c.energy_ratio:,.0f}",
                         "yes" if c.matched else "no"])
    md += ["## GPU comparison", "",
           f"Per token of one attention layer. The design's latency "
           f"({_si(est.latency_layer_s, 's')}, heads in parallel) is compared with the GPU "
           f"step latency divided by the batch; the GPU energy (idle power subtracted, step / "
           f"batch) is compared with the design's energy per token per head times the "
           f"baseline's {n_h} heads ({_si(est.energy_head_j * n_h, 'J')}). This is the "
           f"paper's normalization (code, utils/plot_energy.py); the H100 rows are this "
           f"project's measurement, beside the paper's RTX 4090 and Jetson Nano. `matched`: "
           f"the design's window and head_dim equal the baseline's.", "",
           _table(gpu_rows, ["baseline", "batch", "dtype", "kernel", "latency / token",
                             "energy / token", "latency ratio", "energy ratio", "matched"]),
           "",
           "Methods: " + "; ".join(sorted({f"{c.baseline.device}: {c.baseline.method}"
                                           for c in est.gpu
                                           if c.baseline.name in DEFAULT_BASELINES})), ""]
    if figures:
        md += ["![GPU comparison](gpu_comparison.png)", "",
               "## Scaling", "",
               f"Each curve re-runs the estimator ({est.mode} mode) with one parameter "
               f"changed; the design point is marked.", "",
               "![window scaling](scaling_window.png)", "",
               "![heads scaling](scaling_heads.png)", "",
               "![layers scaling](scaling_layers.png)", ""]
    md += ["## Assumptions", "",
           "Parameters without a primary source (assumption), from a secondary summary "
           "(unconfirmed), fitted to a published total (calibrated), or set by the design "
           "file (override). Override any of them in a design file's `[system.<role>]`, "
           "`[system.circuit]` or `[system.technology]` table.", "",
           _assumptions(est), "",
           "## Not modelled", "",
           "- Q/K/V and output projections, MLP, LayerNorm, embeddings (digital, outside these "
           "energies, as in the paper); their time is `overhead_per_layer_s`.",
           "- Refresh; I/O to off-chip memory; process variation of energies; temperature "
           "dependence of the leakage currents of the periphery.",
           "- Wire RC delay and IR drop (the phases are set by T_max, the clocks and the adder "
           "tree).",
           "- Early tokens of a sequence (the average case assumes a full window; the "
           "data-dependent energy follows the actual fill).", ""]
    return "\n".join(md)


def _json_text(est: Estimate, studies: dict | None) -> str:
    data = est.to_dict()
    data["paper_point"] = {"is_paper_point": is_paper_point(est.cfg), **PAPER_POINT}
    pair = paper_companions(est)
    if pair is not None:
        data["paper_comparison"] = {
            "calibrated": pair[0].to_dict()["headline"] | {
                "energy_groups_J": pair[0].energy.by_group()},
            "predicted": pair[1].to_dict()["headline"] | {
                "energy_groups_J": pair[1].energy.by_group()},
            "published": PAPER_POINT}
    if studies is not None:
        data["scaling"] = {k: s.to_dict() for k, s in studies.items()}
    return json.dumps(to_jsonable(data), indent=1, allow_nan=False) + "\n"


def write_report(est: Estimate, out_dir: str | os.PathLike = "report", *,
                 figures: bool = True, formats: tuple[str, ...] = ("png", "svg")) -> list[Path]:
    """Write ``report.md``, ``report.json`` and the figures of ``est`` into ``out_dir``.

    The folder is written as a whole and swapped in (see the module docstring); ``out_dir``
    must be new, empty, or a report folder gaincell wrote. Returns the written paths.
    """
    if not isinstance(est, Estimate):
        raise ValueError(f"est must be a gaincell.system.Estimate, got {type(est).__name__}")
    bad = [f for f in formats if f not in ("png", "svg", "pdf")]
    if bad:
        raise ValueError(f"formats {bad} are invalid: allowed 'png', 'svg', 'pdf'")
    out = Path(out_dir)
    with atomic_folder(out) as tmp:
        studies = scaling_studies(est) if figures else None
        (tmp / "report.md").write_text(render_markdown(est, figures), encoding="utf-8")
        (tmp / "report.json").write_text(_json_text(est, studies), encoding="utf-8")
        if figures:
            import matplotlib.pyplot as plt

            from gaincell.system import figures as fg

            pair = paper_companions(est)
            figs = {
                "energy_breakdown": lambda: fg.energy_figure(est, pair is not None,
                                                             companions=pair),
                "latency_breakdown": lambda: fg.latency_figure(est),
                "area_breakdown": lambda: fg.area_figure(est),
                "gpu_comparison": lambda: fg.gpu_figure(est),
                "scaling_window": lambda: fg.window_figure(studies["window"]),
                "scaling_heads": lambda: fg.heads_figure(studies["n_heads"]),
                "scaling_layers": lambda: fg.layers_figure(studies["n_layers"]),
            }
            for name, make in figs.items():
                fig = make()
                try:
                    for fmt in formats:
                        save_figure(fig, tmp / f"{name}.{fmt}")
                finally:
                    plt.close(fig)
        names = sorted(p.name for p in tmp.iterdir())
    return [out / n for n in names]
