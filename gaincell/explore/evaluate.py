"""Evaluation of one point: cost from the system layer, accuracy over Monte Carlo chips.

Accuracy of the attention output ``y`` (units of one counter's full scale) of each chip, on the
study's workload:

- ``rel_rms_ideal``, ``corr_ideal``: relative RMS error ``rms(y - y_ideal) / rms(y_ideal)``
  and Pearson correlation against ideal float attention of the same dataflow
  (:func:`gaincell.reference.hardsigmoid_attention` with the design's own cell as a linear one,
  the least-squares slope of its read current over the stored range, as ``gaincell demo``:
  no leakage, no quantization, no noise);
- ``fitted_rel_rms_ideal``: the error against the ideal left after the least-squares affine
  map ``y ~ a y_ideal + b`` (``sqrt(1 - corr^2)``), what per-head scalers cannot remove;
- ``rel_rms_clean``, ``corr_clean``: the same against this design without noise or mismatch
  (every ``sigma_*`` = 0; quantization, cell model and leakage kept), which isolates what the
  noise costs;
- ``sat_stage1``, ``sat_counter``: fractions of first-stage conversions and of sub-array
  counter reads that saturated.

Each is reported as ``_mean`` and ``_std`` (sample standard deviation) over the chips. A chip
is a ``GainCellAttention(cfg, seed=chip_seed)`` with ``chip_seed =
SeedSequence(study_seed, spawn_key=(2, point_index, chip))``: independent of worker count and
order. A design without noise or mismatch is deterministic: one simulation stands for all
chips (``_std`` = 0). Undefined values are NaN: a correlation or relative error against a
constant or zero reference, the ``_std`` of a single noisy chip.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from gaincell.params import AttentionConfig
from gaincell.system.spec import SystemSpec
from gaincell.system.sweep import apply_overrides, cost_row, one_mode

__all__ = ["PointContext", "evaluate_point", "COST_COLUMNS", "ACCURACY_METRICS",
           "accuracy_columns"]

_CHIP_DOMAIN = 2
COST_COLUMNS = ("latency_layer_s", "token_period_s", "energy_head_J", "energy_layer_J",
                "energy_model_J", "power_W", "area_head_m2", "area_layer_m2", "area_model_m2",
                "leak_per_step_implied")
#: String column beside the cost: the system layer's estimate mode.
COST_MODE_COLUMN = "estimate_mode"
ACCURACY_METRICS = ("rel_rms_ideal", "corr_ideal", "fitted_rel_rms_ideal", "rel_rms_clean",
                    "corr_clean", "sat_stage1", "sat_counter")


def accuracy_columns() -> tuple[str, ...]:
    return tuple(f"{m}_{s}" for m in ACCURACY_METRICS for s in ("mean", "std"))


@dataclass(frozen=True)
class PointContext:
    """Everything a worker needs to evaluate points (small, picklable)."""

    cfg: AttentionConfig
    spec: SystemSpec
    chips: int
    seed: int
    workload: Any   # gaincell.explore.workload.Workload (None when chips == 0)
    model: Any = None   # gaincell.explore.model_loss.ModelLoss (optional)


def evaluate_point(ctx: PointContext, index: int, point: Mapping[str, Any]) -> dict[str, Any]:
    """The result row of point ``index``: ``status`` "ok", or "error" with the exception in
    ``error`` (the study goes on). Columns: ``index``, ``status``, ``error``, the swept keys,
    ``COST_COLUMNS``, ``chips`` and ``accuracy_columns()`` when ``ctx.chips > 0``, ``val_loss``
    with a model, ``eval_s``."""
    t0 = time.perf_counter()
    row: dict[str, Any] = {"index": int(index), "status": "ok", "error": None}
    row.update(point)
    try:
        cfg, spec = apply_overrides(ctx.cfg, ctx.spec, point)
        row.update(_cost(cfg, spec))
        if ctx.chips > 0:
            row.update(_accuracy(ctx, cfg, index))
        if ctx.model is not None:
            row["val_loss"] = ctx.model.loss(point, ctx.seed, index)
    except Exception as e:   # recorded; the study goes on
        row["status"] = "error"
        tb = traceback.extract_tb(e.__traceback__)
        where = f" ({tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno})" if tb else ""
        row["error"] = f"{type(e).__name__}: {e}{where}"
    row["eval_s"] = time.perf_counter() - t0
    return row


def _cost(cfg: AttentionConfig, spec: SystemSpec) -> dict[str, Any]:
    """Cost in one mode for every point (:func:`gaincell.system.sweep.one_mode`: ``auto``
    would make the paper's design calibrated and its neighbours predicted)."""
    from gaincell.system.estimator import estimate

    return cost_row(estimate(cfg, spec=one_mode(spec)))


def _simulate_chips(cfg: AttentionConfig, q, k, v, chip_seeds) -> list[tuple]:
    """``(y, activity)`` of each chip, run side by side by the Monte Carlo engine
    (:func:`gaincell.array.montecarlo.simulate_chips`); ``activity`` holds the saturation
    counts and the number of conversions of each stage."""
    from gaincell.array.montecarlo import simulate_chips

    B, H, T, D = np.shape(q)
    W = cfg.window
    conv1 = B * H * int(np.minimum(np.arange(1, T + 1), W).sum())
    conv2 = B * H * T * cfg.n_subarrays * D
    return [(y, ChipActivity(n1, conv1, n2, conv2))
            for y, n1, n2 in simulate_chips(cfg, q, k, v, chip_seeds)]


@dataclass(frozen=True)
class ChipActivity:
    """Saturation counts of a chip's forward, with the conversions they are counted over."""

    phi_saturated: int
    stage1_conversions: int
    counter_saturated: int
    stage2_conversions: int


def _ratio(n: int, d: int) -> float:
    return n / d if d > 0 else math.nan


def _accuracy(ctx: PointContext, cfg: AttentionConfig, index: int) -> dict[str, Any]:
    from gaincell.device import linear_equivalent_gain_ua_per_v
    from gaincell.metrics import Reference
    from gaincell.reference import hardsigmoid_attention

    wl = ctx.workload
    cfg_sim = wl.sim_config(cfg)
    q, k, v = wl.arrays(cfg_sim, ctx.seed)
    ideal = hardsigmoid_attention(q, k, v, cfg_sim,
                                  gain_ua_per_v=linear_equivalent_gain_ua_per_v(cfg_sim.device))
    noisy = cfg_sim.device.has_noise
    n_sim = ctx.chips if noisy else 1
    seeds = [np.random.SeedSequence(ctx.seed, spawn_key=(_CHIP_DOMAIN, int(index), c))
             for c in range(n_sim)]
    chips = _simulate_chips(cfg_sim, q, k, v, seeds)
    if noisy:
        clean_cfg = cfg_sim.replace(device=cfg_sim.device.noiseless())
        clean = _simulate_chips(clean_cfg, q, k, v, [0])[0][0]
    else:
        clean = chips[0][0]
    per = {m: [] for m in ACCURACY_METRICS}
    ref_ideal, ref_clean = Reference(ideal), Reference(clean)   # prepared once for the chips
    for y, act in chips:
        ci, cc = ref_ideal.compare(y), ref_clean.compare(y)
        per["rel_rms_ideal"].append(ci.rel_rms)
        per["corr_ideal"].append(ci.corr)
        per["fitted_rel_rms_ideal"].append(ci.fitted_rel_rms)
        per["rel_rms_clean"].append(cc.rel_rms)
        per["corr_clean"].append(cc.corr)
        per["sat_stage1"].append(_ratio(act.phi_saturated, act.stage1_conversions))
        per["sat_counter"].append(_ratio(act.counter_saturated, act.stage2_conversions))
    row: dict[str, Any] = {"chips": int(ctx.chips)}
    for m, vals in per.items():
        a = np.asarray(vals, dtype=np.float64)
        row[f"{m}_mean"] = float(a.mean())
        if not noisy:
            row[f"{m}_std"] = 0.0 if math.isfinite(row[f"{m}_mean"]) else math.nan
        else:
            row[f"{m}_std"] = float(a.std(ddof=1)) if a.size > 1 else math.nan
    return row
