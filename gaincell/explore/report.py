"""Report of a study folder: Pareto fronts (PNG and SVG) and ``report.md``.

Fronts: model attention energy per token (``energy_model_J``) and attention area of the model
(``area_model_m2``) against the mean relative RMS error versus ideal float attention
(``rel_rms_ideal_mean``), both minimized; the front is highlighted and the paper's design
point (leroux2025, evaluated with the study's workload and chips; stored in ``run.json``) is
marked. A cost-only study (chips = 0) has no fronts; its report lists the cheapest points.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from gaincell._io import atomic_write_text, save_figure
from gaincell.explore.pareto import pareto_front

__all__ = ["write_report", "FRONTS", "paper_point"]

ERROR = "rel_rms_ideal_mean"
#: (file stem, cost column, axis label, scale to the plotted unit)
FRONTS = (("pareto_energy", "energy_model_J", "attention energy per token, model (nJ)", 1e9),
          ("pareto_area", "area_model_m2", "attention area, model (mm$^2$)", 1e6))


def paper_point(study) -> dict[str, Any]:
    """The leroux2025 design evaluated like a point of ``study`` (index -1 seeds)."""
    from gaincell.explore.evaluate import PointContext, evaluate_point
    from gaincell.params import AttentionConfig
    from gaincell.system.spec import SystemSpec

    ctx = PointContext(AttentionConfig.leroux2025(), SystemSpec(), study.chips, study.seed,
                       study.workload if study.chips > 0 else None, study.model)
    row = evaluate_point(ctx, 2**62, {})
    row.pop("index")
    return row


def _read(parquet: Path, keys: list[str]) -> dict[str, np.ndarray]:
    import pyarrow.parquet as pq

    names = pq.read_schema(parquet).names
    cols = [c for c in ["index", "status", "error", *keys, *(f[1] for f in FRONTS), ERROR]
            if c in names]
    t = pq.read_table(parquet, columns=cols)
    return {c: t.column(c).to_numpy(zero_copy_only=False) for c in cols}


def _fmt(v) -> str:
    if v is None:
        return "none"
    if isinstance(v, (float, np.floating)):
        return "nan" if not math.isfinite(v) else f"{v:.4g}"
    return str(v)


def _figure(path_stem: Path, x, y, front, scale, xlabel, paper, title) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    ax.scatter(x * scale, y, s=14, c="0.6", label="points", zorder=2)
    if front.size:
        ax.plot(x[front] * scale, y[front], "-o", c="C3", ms=5, lw=1.5, label="Pareto front",
                zorder=3)
    if paper is not None:
        ax.scatter([paper[0] * scale], [paper[1]], marker="*", s=180, c="C0", zorder=4,
                   edgecolors="k", label="paper design (leroux2025)")
    fin = x[np.isfinite(x) & (x > 0)]
    if fin.size and paper is not None and paper[0]:
        fin = np.append(fin, paper[0])
    if fin.size and fin.max() > 20 * fin.min():
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("relative RMS error vs ideal attention (mean over chips)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths = []
    for ext in ("png", "svg"):
        paths.append(save_figure(fig, path_stem.with_suffix(f".{ext}"), dpi=120))
    plt.close(fig)
    return paths


def write_report(out, *, figures: bool = True, top: int = 20) -> list[Path]:
    """Write ``report.md`` (and the front figures) from ``out/results.parquet`` and
    ``out/run.json``; returns the paths written."""
    out = Path(out)
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    study = run["study"]
    keys = list(study["space"])
    d = _read(out / "results.parquet", keys)
    ok = d["status"] == "ok"
    n, n_ok = len(d["index"]), int(ok.sum())
    paper = run.get("paper_point") or {}
    lines = [f"# gaincell explore: {study.get('name') or out.name}", "",
             f"- points: {n} evaluated of {run['n_points']} ({n_ok} ok, {n - n_ok} failed); "
             f"status: {run.get('status')}",
             f"- sample: {study['sample']}, seed {study['seed']}, chips per point "
             f"{study['chips']}, workload {json.dumps(study['workload'])}",
             f"- base design: {study.get('config') or 'built-in leroux2025'}",
             f"- swept: {', '.join(f'`{k}`' for k in keys)}", ""]
    paths: list[Path] = []
    has_acc = ERROR in d
    if has_acc:
        for stem, col, label, scale in FRONTS:
            x = np.where(ok, d[col].astype(float), np.nan)
            y = np.where(ok, d[ERROR].astype(float), np.nan)
            front = pareto_front(x, y)
            pp = ((paper.get(col), paper.get(ERROR)) if paper.get("status") == "ok" else None)
            title = (f"{col} vs {ERROR}: {front.size} point{'s' * (front.size != 1)} on the "
                     f"front")
            if figures and n_ok:
                paths += _figure(out / stem, x, y, front, scale, label, pp, title)
            lines += [f"## Pareto front: {col} vs {ERROR}", "",
                      f"Figure: `{stem}.png`, `{stem}.svg`." if figures and n_ok else "", ""]
            cols = ["index", *keys, col, ERROR]
            lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            for i in front:
                lines.append("| " + " | ".join(_fmt(d[c][i]) for c in cols) + " |")
            if pp is not None:
                lines.append("| paper (leroux2025) | " + " | ".join("" for _ in keys)
                             + f" | {_fmt(pp[0])} | {_fmt(pp[1])} |")
            lines.append("")
    else:
        col = "energy_model_J"
        order = [i for i in np.argsort(np.where(ok, d[col].astype(float), np.inf),
                                       kind="stable")[:top] if ok[i]]
        cols = ["index", *keys, col, "area_model_m2"]
        lines += [f"## Cost only (chips = 0): the {len(order)} lowest {col}", "",
                  "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(_fmt(d[c][i]) for c in cols) + " |" for i in order]
        lines.append("")
    failed = np.flatnonzero(~ok)
    if failed.size:
        lines += [f"## Failed points ({failed.size}; first {min(failed.size, top)})", ""]
        lines += [f"- {int(d['index'][i])}: {d['error'][i]}" for i in failed[:top]]
        lines.append("")
    lines += ["Tables: `results.parquet`, `results.csv` (rows in the order points finished; "
              "`index` is the point number); run record: `run.json`.", ""]
    paths.append(atomic_write_text(out / "report.md", "\n".join(lines)))
    return paths
