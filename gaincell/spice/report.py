"""The validation report: Markdown, JSON and figures, each written atomically.

Figures (PNG): SPICE vs model scatter per check, error histograms, transient waveforms
(a column's integrator output, a converter's pulse, the tile's first-stage pulses and
second-stage signed pulses).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from gaincell._io import atomic_write_text, save_figure, to_jsonable
from gaincell.spice.validate import Check

__all__ = ["write_report"]


def _savefig(fig, path: Path) -> str:
    return save_figure(fig, path, dpi=110).name


def _scatter_pairs(c: Check):
    d = c.data
    if c.name == "cell":
        return d["model"] * 1e6, d["spice"] * 1e6, "model current (uA)", "SPICE current (uA)"
    if c.name in ("column", "column_written"):
        return (np.ravel(d["model"]) * 1e12, np.ravel(d["spice"]) * 1e12, "model charge (pC)",
                "SPICE charge (pC)")
    if c.name == "c2p":
        return (np.concatenate([d["phi_model"], d["pulse2_model"]]),
                np.concatenate([d["phi_spice"], d["pulse2_spice"]]),
                "model pulse width / T_max", "SPICE pulse width / T_max")
    return (np.ravel(d["model"]) / d["step"], np.ravel(d["spice"]) / d["step"],
            "model output (LSB)", "SPICE output (LSB)")


def _errors(c: Check) -> np.ndarray:
    if c.errors is not None:
        return np.ravel(c.errors)
    d = c.data
    if c.name == "cell":
        return (d["spice"] - d["model"]) / d["full_scale"]
    if c.name == "column":
        return (d["spice"] - d["model"]) / d["full_scale"]
    if c.name == "c2p":
        return np.concatenate([d["phi_spice"] - d["phi_model"],
                               d["pulse2_spice"] - d["pulse2_model"]])
    return ((d["spice"] - d["model"]) / d["step"]).ravel()


def _figures(checks: list[Check], folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    n = len(checks)
    nc, nr = min(n, 4), -(-n // 4)
    fig, axes = plt.subplots(nr, nc, figsize=(4 * nc, 3.6 * nr), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    for ax, c in zip(axes.ravel(), checks):
        x, y, xl, yl = _scatter_pairs(c)
        lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.plot(x, y, "o", ms=3)
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_title(f"{c.name} {c.condition}: max err {c.error:.3g} "
                     f"({'pass' if c.passed else 'FAIL'})", fontsize=8)
    fig.tight_layout()
    names.append(_savefig(fig, folder / "scatter.png"))
    plt.close(fig)

    fig, axes = plt.subplots(nr, nc, figsize=(4 * nc, 3.2 * nr), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    for ax, c in zip(axes.ravel(), checks):
        e = _errors(c)
        ax.hist(e, bins=20)
        ax.axvline(c.budget, color="r", ls="--", lw=0.8)
        ax.axvline(-c.budget, color="r", ls="--", lw=0.8)
        ax.set_xlabel(f"SPICE - model ({c.unit})")
        ax.set_title(f"{c.name} error (budget +-{c.budget:g})", fontsize=9)
    fig.tight_layout()
    names.append(_savefig(fig, folder / "error_histograms.png"))
    plt.close(fig)

    waves = [c for c in checks if "wave" in c.data][:4]
    if waves:
        fig, axes = plt.subplots(len(waves), 1, figsize=(7, 2.4 * len(waves)), squeeze=False)
        for ax, c in zip(axes[:, 0], waves):
            w = c.data["wave"]
            t = w["t"] * 1e9
            if c.name == "column":
                ax.plot(t, w["vo"])
                ax.set_ylabel("integrator out (V)")
            elif c.name == "c2p":
                ax.plot(t, w["g"])
                ax.set_ylabel("pulse g")
            elif c.name == "tile":
                for g in w["g"]:
                    ax.plot(t, g, lw=0.8)
                for s in w["s"]:
                    ax.plot(t, s, lw=0.8, ls="--")
                ax.set_ylabel("stage-1 g / stage-2 s")
            ax.set_title(f"{c.name}: transient", fontsize=9)
            ax.set_xlabel("time (ns)")
        fig.tight_layout()
        names.append(_savefig(fig, folder / "waveforms.png"))
        plt.close(fig)
    return names


def write_report(checks: list[Check], folder: str | os.PathLike, context: dict | None = None,
                 figures: bool = True) -> dict:
    """Write ``report.md``, ``report.json``, figures and the decks run (``netlists/``) into
    ``folder`` (each file atomically).

    ``context`` (plain data: fit coefficients, provenance, characterization results) is
    included in both files. Returns ``{"md": path, "json": path, "figures": [names]}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    context = dict(context or {})
    figs = _figures(checks, folder) if (figures and checks) else []
    decks = []
    written: dict[str, str] = {}      # file name -> sha256 of the deck written under it
    for c in checks:
        for nl in c.netlists:
            name, sha = nl.name, nl.sha256()
            if written.get(name, sha) != sha:   # same name, another condition's deck
                stem, dot, ext = name.rpartition(".")
                name = f"{stem or ext}-{sha[:10]}{dot}{ext if stem else ''}"
            if name not in written:
                written[name] = sha
                atomic_write_text(folder / "netlists" / name, nl.text)
                decks.append(f"netlists/{name}")
    spice_s = sum(c.spice_s for c in checks)
    model_s = sum(c.model_s for c in checks)
    payload = {"checks": [c.summary() for c in checks],
               "all_passed": bool(checks) and all(c.passed for c in checks)
               and not context.get("did_not_finish"),
               "speed": {"spice_s": spice_s, "model_s": model_s,
                         "ratio": spice_s / max(model_s, 1e-9)},
               "context": context, "figures": figs, "netlists": decks}
    js = atomic_write_text(folder / "report.json",
                           json.dumps(to_jsonable(payload), indent=2) + "\n")
    kit = context.get("kit") or "the circuit kit given in the context"
    lines = ["# gaincell SPICE validation report", "",
             f"Behavioural model vs ngspice on the {kit} (see gaincell/circuits/README.md). "
             "Errors are SPICE minus model over random cases drawn with a fixed seed; one row "
             "per check and condition (corner, temperature).", "",
             "| check | condition | mean | rms | max | fraction exact | budget | unit | cases | "
             "result | SPICE s | model s | speed ratio |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in checks:
        dd = c.distribution()
        res = "pass" if c.passed else ("**FAIL** (signal below its floor)" if not c.signal_ok
                                       else "**FAIL**")
        lines.append(f"| {c.name} | {c.condition} | {dd['mean']:+.3g} | {dd['rms']:.3g} | "
                     f"{dd['max']:.4g} | {dd['fraction_exact']:.3g} | {c.budget:g} | {c.unit} | "
                     f"{c.n_cases} | {res} | {c.spice_s:.3g} | {c.model_s:.3g} | "
                     f"{c.speed_ratio:.3g} |")
    lines += ["", f"Overall: {'all checks pass' if payload['all_passed'] else 'SOME CHECKS FAIL'}"
              f". Behavioural model vs SPICE for the same work: {spice_s:.3g} s vs "
              f"{model_s:.3g} s (ratio {payload['speed']['ratio']:.3g}).", ""]
    for c in checks:
        lines.append(f"- **{c.name}** ({c.condition}): {c.notes}; exact means "
                     f"{c.distribution()['exact_means']}.")
    if context:
        lines += ["", "## Context", ""]
        for k, v in context.items():
            lines.append(f"- {k}: `{json.dumps(to_jsonable(v))}`")
    if decks:
        lines += ["", f"The {len(decks)} decks that were run are in `netlists/` (e.g. "
                  f"`{decks[0]}`); their SHA-256 in the provenance covers the included files."]
    if figs:
        lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figs]
    md = atomic_write_text(folder / "report.md", "\n".join(lines) + "\n")
    return {"md": str(md), "json": str(js), "figures": figs}

