"""Report of a pipeline run: ``report.md`` (tables, samples), ``report.json`` and figures.

Figures (PNG): ``stages.png`` validation loss per stage; ``curves.png`` validation-loss
curves of the trained stages; ``adaptation.png`` the adaptation's convergence (largest
statistic errors and calibration loss per iteration); ``sensitivity.png`` validation loss
against each swept device parameter (NumPy simulator; dashed: the preset design on the same
validation subset); ``environment.png`` loss and attention error against temperature and
token period. The files are written as one set (:func:`gaincell._io.atomic_folder`:
the folder is the old complete report, the new one, or absent, whatever interrupts the run;
``MANIFEST.json`` lists the files).
"""

from __future__ import annotations

import math
from pathlib import Path

from gaincell._io import atomic_folder, atomic_write_json, atomic_write_text, save_figure

__all__ = ["write_report", "stage_table"]

_LABELS = {
    "softmax": "softmax baseline (software)",
    "linear_init": "linear HW, scalers initialized, before fine-tuning",
    "linear": "linear HW, fine-tuned",
    "nonlinear_unadapted": "nonlinear HW, from linear, unadapted",
    "nonlinear_adapted": "nonlinear HW, adapted (no fine-tuning)",
    "nonlinear": "nonlinear HW, adapted and fine-tuned",
    "softmax_long": "control: softmax trained as many more steps as the HW stages",
    "nonlinear_noisy": "nonlinear HW, fine-tuned without noise, evaluated under noise",
    "nonlinear_noise_aware": "nonlinear HW, adapted, noise-aware fine-tuning, under noise",
}
#: the sweeps drawn in ``environment.png`` (loss and attention error)
_ENV = ("temperature", "token_period")


def _num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def stage_table(state: dict) -> str:
    """Markdown table: stage, validation loss (nats/char), perplexity, ratio to softmax."""
    st = state["stages"]
    base = _num(st.get("softmax", {}).get("val_loss"))
    rows = ["| stage | val loss (nats/char) | perplexity | vs softmax | wall time (s) |",
            "|---|---|---|---|---|"]
    for k, label in _LABELS.items():
        if k not in st:
            continue
        v = _num(st[k]["val_loss"])
        rel = f"{100 * (v / base - 1):+.1f} %" if base == base else "-"
        rows.append(f"| {label} (`{k}`) | {v:.4f} | {math.exp(min(v, 50)):.2f} | {rel} | "
                    f"{_num(st[k].get('wall_s')):.0f} |")
    return "\n".join(rows)


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _figures(state: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    st = state["stages"]
    keys = [k for k in _LABELS if k in st]
    if keys:
        fig, ax = plt.subplots(figsize=(7, 3.6))
        vals = [_num(st[k]["val_loss"]) for k in keys]
        colors = {"softmax": "C0", "softmax_long": "C0", "nonlinear_unadapted": "C3",
                  "linear_init": "C1", "linear": "C1"}
        ax.bar(range(len(keys)), vals, color=[colors.get(k, "C2") for k in keys])
        ax.set_xticks(range(len(keys)), keys, rotation=25, ha="right", fontsize=8)
        ax.set_ylabel("validation loss (nats/char)")
        if "softmax" in st:
            ax.axhline(_num(st["softmax"]["val_loss"]), color="k", lw=0.8, ls="--")
        ax.set_title("validation loss per stage")
        fig.tight_layout()
        save_figure(fig, out / "stages.png", dpi=110)
        plt.close(fig)
        made.append("stages.png")
    hist = state.get("histories", {})
    if hist:
        fig, ax = plt.subplots(figsize=(7, 3.6))
        offset = 0
        for name in ("softmax", "linear", "nonlinear"):
            h = hist.get(name)
            if not h or not h.get("val"):
                continue
            it, v = zip(*h["val"])
            ax.plot([offset + i for i in it], v, label=name)
            offset += max(it)
        ax.set_xlabel("training step (stages one after the other)")
        ax.set_ylabel("val loss (curve batches)")
        ax.legend()
        fig.tight_layout()
        save_figure(fig, out / "curves.png", dpi=110)
        plt.close(fig)
        made.append("curves.png")
    ad = state.get("adaptation")
    if ad and ad.get("history"):
        h = ad["history"]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3.2))
        it = [r["iter"] for r in h]
        a1.semilogy(it, [max(r["max_std_err"], 1e-12) for r in h], label="max |std err|")
        a1.semilogy(it, [max(r["max_mean_err"], 1e-12) for r in h], label="max |mean err|")
        a1.axhline(ad["tol"], color="k", lw=0.8, ls="--", label="tol")
        a1.set_xlabel("adaptation iteration")
        a1.legend(fontsize=8)
        a2.plot(it, [r["loss"] for r in h])
        a2.set_xlabel("adaptation iteration")
        a2.set_ylabel("calibration loss")
        fig.tight_layout()
        save_figure(fig, out / "adaptation.png", dpi=110)
        plt.close(fig)
        made.append("adaptation.png")
    sens = state.get("sensitivity")
    if sens:
        sw = sens["sweeps"]
        n = len(sw)
        cols = 3
        rows = -(-n // cols)
        fig, axs = plt.subplots(rows, cols, figsize=(10, 3 * rows), squeeze=False)
        for ax, (name, d) in zip(axs.ravel(), sw.items()):
            xs = [_num(x) for x in d["x"]]
            finite = [x for x in xs if math.isfinite(x)]
            big = (max(finite) * 4) if finite and max(finite) > 0 else 1.0
            xs = [big if not math.isfinite(x) else x for x in xs]
            ax.plot(xs, [_num(v) for v in d["loss"]], "o-")
            if name in ("retention", "kv_levels", "q_levels", "out_levels"):
                ax.set_xscale("log")
            ax.axhline(_num(sens["simulator_loss"]), color="k", lw=0.8, ls="--",
                       label="preset design")
            ax.legend(fontsize=7)
            ax.set_xlabel(d["label"], fontsize=8)
            ax.set_ylabel("val loss")
            ax.set_title(name, fontsize=9)
        for ax in axs.ravel()[n:]:
            ax.axis("off")
        fig.tight_layout()
        save_figure(fig, out / "sensitivity.png", dpi=110)
        plt.close(fig)
        made.append("sensitivity.png")
        env = [k for k in _ENV if k in sw and "attn_err" in sw[k]]
        if env:
            fig, axs = plt.subplots(1, len(env), figsize=(5 * len(env), 3.4), squeeze=False)
            for ax, name in zip(axs[0], env):
                d = sw[name]
                xs = [_num(x) * (1e6 if name == "token_period" else 1) for x in d["x"]]
                ax.plot(xs, [_num(v) for v in d["loss"]], "o-", color="C0")
                ax.set_ylabel("val loss (nats/char)", color="C0")
                ax.set_xlabel("token period, us" if name == "token_period"
                              else "temperature, C")
                if name == "token_period":
                    ax.set_xscale("log")
                ax2 = ax.twinx()
                ax2.plot(xs, [100 * _num(v) for v in d["attn_err"]], "s--", color="C3")
                ax2.set_ylabel("attention error, % (rel. RMS)", color="C3")
                ax.set_title(d["label"], fontsize=8)
            fig.tight_layout()
            save_figure(fig, out / "environment.png", dpi=110)
            plt.close(fig)
            made.append("environment.png")
    return made


def headline(state: dict) -> list[str]:
    """The headline lines: the equal-steps comparison of the fine-tuned nonlinear hardware
    model with the softmax control first (over the seeds when there are several: mean and
    sample standard deviation), then this run's seed, then the other stages over the seeds."""
    st = state["stages"]
    lines = []
    sd = state.get("seeds")
    multi = bool(sd and len(sd["seeds"]) > 1)
    if multi and "gap_pct" in sd:
        g, gp = sd["stages"], sd["gap_pct"]
        lines += [f"At equal total training steps, over {len(sd['seeds'])} seeds "
                  f"({', '.join(map(str, sd['seeds']))}), the fine-tuned nonlinear hardware "
                  f"model's loss is {gp['mean']:+.1f} +- {gp['std']:.1f} % from the softmax "
                  f"control's ({g['nonlinear']['mean']:.4f} +- {g['nonlinear']['std']:.4f} vs "
                  f"{g['softmax_long']['mean']:.4f} +- {g['softmax_long']['std']:.4f} "
                  f"nats/char, mean +- sample std; per seed " +
                  ", ".join(f"{x:+.1f}" for x in gp["values"]) + " %)."]
    if "softmax_long" in st and "nonlinear" in st:
        c, n = _num(st["softmax_long"]["val_loss"]), _num(st["nonlinear"]["val_loss"])
        lead = (f"This run (seed {state['settings']['seed']}):" if multi else
                "At equal total training steps, the fine-tuned nonlinear hardware model's "
                "loss is")
        lines += [f"{lead} {100 * (n / c - 1):+.1f} % from the softmax control's ({n:.4f} vs "
                  f"{c:.4f} nats/char{'' if multi else ', one seed'})."]
    if multi:
        g = sd["stages"]
        parts = [f"{k} {g[k]['mean']:.4f} +- {g[k]['std']:.4f}"
                 for k in ("softmax", "linear", "nonlinear_adapted") if k in g]
        if parts:
            lines += ["Other stages over the seeds (nats/char): " + "; ".join(parts) + "."]
    return lines + [""] if lines else lines


def write_report(state: dict, out_dir) -> Path:
    """Write ``report.md``, ``report.json`` and the figures as one set into the folder
    ``out_dir`` (new, empty, or a report gaincell wrote); returns the path of ``report.md``."""
    target = Path(out_dir)
    with atomic_folder(target) as out:
        _write(state, out)
    return target / "report.md"


def _write(state: dict, out: Path) -> None:
    figs = _figures(state, out)
    s = state["settings"]
    lines = ["# gaincell model demo: the paper's training recipe on tiny Shakespeare", "",
             f"Model: {s['n_layer']} layers x {s['n_head']} heads x head dim "
             f"{s['n_embd'] // s['n_head']}, context {s['block_size']}, sliding window "
             f"{s['window']}; batch {s['batch_size']}; steps softmax {s['softmax_iters']}, "
             f"linear {s['linear_iters']}, nonlinear {s['nonlinear_iters']}. Hardware: the "
             f"leroux2025 preset (overrides {s['hw_overrides'] or 'none'}).", "",
             "## Validation loss per stage", "",
             f"Fixed validation set: {s['eval_batches']} x {s['eval_batch_size']} sequences "
             f"of {s['block_size']} characters.", "", stage_table(state), ""]
    st = state["stages"]
    lines[4:4] = ["## Headline", ""] + headline(state)
    if "nonlinear_unadapted" in st and "nonlinear_adapted" in st:
        u, a = _num(st["nonlinear_unadapted"]["val_loss"]), _num(st["nonlinear_adapted"]
                                                                  ["val_loss"])
        lines += ["## Effect of adaptation before fine-tuning", "",
                  f"Unadapted nonlinear model: {u:.4f} nats/char (perplexity "
                  f"{math.exp(min(u, 50)):.1f}); after adaptation: {a:.4f} (perplexity "
                  f"{math.exp(min(a, 50)):.2f}).", ""]
    ad = state.get("adaptation")
    if ad:
        h = ad["history"]
        state_txt = (f"converged after {ad['iterations']} iterations" if ad["converged"]
                     else f"not converged to tol {ad['tol']:g} after {ad['iterations']} "
                          f"iterations")
        lines += [f"Adaptation {state_txt}; calibration loss {h[0]['loss']:.4f} -> "
                  f"{h[-1]['loss']:.4f}; max |std err| {h[0]['max_std_err']:.3g} -> "
                  f"{h[-1]['max_std_err']:.3g}; max |mean err| {h[0]['max_mean_err']:.3g} -> "
                  f"{h[-1]['max_mean_err']:.3g}; {h[-1]['n_done']}/{h[-1]['n_total']} "
                  f"statistics within tol.", ""]
        if ad.get("worst"):
            lines += ["Largest remaining errors (scaler, |std err|, |mean err|): " +
                      "; ".join(f"{w[0]} {w[1]:.2g} {w[2]:.2g}" for w in ad["worst"]), ""]
    sens = state.get("sensitivity")
    if sens:
        lines += ["## Sensitivity (NumPy simulator in the loop)", "",
                  f"Fine-tuned nonlinear model on {sens['tokens']} validation characters. "
                  f"Preset: torch twin {sens['torch_loss']:.4f}, simulator "
                  f"{sens['simulator_loss']:.4f} nats/char.", ""]
        nz = sens.get("noise")
        if nz:
            a, b = nz["nonlinear_noisy"], nz["nonlinear_noise_aware"]
            lines += [f"Under noise {nz['overrides']} (the simulator's draws and noise): "
                      f"fine-tuned without noise {a['simulator']:.4f} (torch twin "
                      f"{a['torch']:.4f}), noise-aware fine-tuning {b['simulator']:.4f} "
                      f"(torch twin {b['torch']:.4f}) nats/char.", ""]
        lines += ["Attention error: relative RMS difference of every layer's attention "
                  "outputs from the design's own on the same layer inputs.", ""]
        for name, d in sens["sweeps"].items():
            errs = d.get("attn_err", [math.nan] * len(d["loss"]))
            lines += [f"**{name}**:", "",
                      f"| {d['param']} | {d['label']} | val loss | attention error |",
                      "|---|---|---|---|"]
            lines += [f"| {_fmt(v)} | {_num(x):.4g} | {_num(lv):.4f} | {_num(e):.3g} |"
                      for v, x, lv, e in zip(d["values"], d["x"], d["loss"], errs)]
            lines += [""]
    if state.get("samples"):
        lines += ["## Generated text (temperature 0.8)", ""]
        for name, txt in state["samples"].items():
            lines += [f"**{name}**:", "", "```", txt.strip("\n"), "```", ""]
    if figs:
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figs] + [""]
    atomic_write_text(out / "report.md", "\n".join(lines))
    atomic_write_json(out / "report.json", state)
