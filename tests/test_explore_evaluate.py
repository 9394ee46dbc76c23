"""Point evaluation: cost by name, accuracy metrics against NumPy oracles, per-point seeds."""

import math

import numpy as np
import pytest

import gaincell.system as gs
from gaincell.array.attention import GainCellAttention
from gaincell.device import linear_equivalent_gain_ua_per_v
from gaincell.explore import evaluate as ev
from gaincell.explore.evaluate import PointContext, accuracy_columns, evaluate_point
from gaincell.explore.workload import Workload
from gaincell.params import AttentionConfig
from gaincell.reference import hardsigmoid_attention

BASE = AttentionConfig.leroux2025(n_heads=2, window=128)


def ctx(chips=3, **wl):
    return PointContext(BASE, gs.SystemSpec(), chips, 7, Workload(tokens=16, heads=1, **wl))


def test_cost_columns_come_from_the_estimate():
    row = evaluate_point(ctx(chips=0), 0, {"device.kv_levels": 4})
    est = gs.estimate(BASE.replace(kv_levels=4), mode="predicted")
    assert row["status"] == "ok" and row["device.kv_levels"] == 4
    assert row["energy_head_J"] == est.energy_head_j and row["area_model_m2"] == est.area_model_m2
    assert row["latency_layer_s"] == est.latency_layer_s
    assert not set(accuracy_columns()) & set(row) and row["estimate_mode"] == "predicted"
    cal = evaluate_point(ctx(chips=0), 0, {"system.mode": "calibrated"})
    assert cal["estimate_mode"] == "calibrated" and cal["system.mode"] == "calibrated"
    assert cal["energy_head_J"] == gs.estimate(BASE, mode="calibrated").energy_head_j


def test_metrics_equal_a_direct_simulation():
    point = {"device.sigma_read_noise": 1e-14, "device.sigma_gain_mismatch": 0.05}
    row = evaluate_point(ctx(chips=3), 5, point)
    assert row["status"] == "ok", row["error"]
    cfg = BASE.replace(n_heads=1, sigma_read_noise=1e-14, sigma_gain_mismatch=0.05)
    q, k, v = Workload(tokens=16, heads=1).arrays(cfg, 7)
    gain = linear_equivalent_gain_ua_per_v(cfg.device)
    ideal = hardsigmoid_attention(q, k, v, cfg, gain_ua_per_v=gain)
    clean = GainCellAttention(cfg.replace(sigma_read_noise=0.0, sigma_gain_mismatch=0.0)
                              ).forward(q, k, v)
    rel, cor, relc, fit = [], [], [], []
    for c in range(3):
        y = GainCellAttention(cfg, seed=np.random.SeedSequence(7, spawn_key=(2, 5, c))
                              ).forward(q, k, v)
        rel.append(np.sqrt(np.mean((y - ideal) ** 2) / np.mean(ideal ** 2)))
        cor.append(np.corrcoef(y.ravel(), ideal.ravel())[0, 1])
        a, b = np.polyfit(ideal.ravel(), y.ravel(), 1)
        fit.append(np.std(y.ravel() - a * ideal.ravel() - b) / np.std(y))
        relc.append(np.linalg.norm(y - clean) / np.linalg.norm(clean))
    assert row["rel_rms_ideal_mean"] == pytest.approx(np.mean(rel), rel=1e-12)
    assert row["rel_rms_ideal_std"] == pytest.approx(np.std(rel, ddof=1), rel=1e-9)
    assert row["corr_ideal_mean"] == pytest.approx(np.mean(cor), rel=1e-12)
    assert row["rel_rms_clean_mean"] == pytest.approx(np.mean(relc), rel=1e-12)
    assert row["fitted_rel_rms_ideal_mean"] == pytest.approx(np.mean(fit), rel=1e-9)
    assert row["rel_rms_clean_mean"] > 0 and row["rel_rms_clean_std"] > 0
    assert 0 <= row["sat_stage1_mean"] <= 1 and 0 <= row["sat_counter_mean"] <= 1


def test_a_clean_design_is_one_deterministic_chip(monkeypatch):
    calls = []
    real = ev._simulate_chips
    monkeypatch.setattr(ev, "_simulate_chips",
                        lambda *a: calls.append(len(a[-1])) or real(*a))
    row = evaluate_point(ctx(chips=5), 0, {})
    assert calls == [1] and row["chips"] == 5
    assert row["rel_rms_clean_mean"] == 0.0 and row["corr_clean_mean"] == 1.0
    assert row["rel_rms_ideal_std"] == 0.0


def test_seeds_follow_the_point_index_only():
    p = {"device.sigma_read_noise": 1e-14}
    a, b, c = (evaluate_point(ctx(), i, p) for i in (3, 3, 4))
    cols = [x for x in accuracy_columns() if x.startswith("rel_rms_clean")]
    assert all(a[x] == b[x] for x in cols) and any(a[x] != c[x] for x in cols)


def test_a_failing_point_is_a_row_with_its_error():
    row = evaluate_point(ctx(), 2, {"window": 64, "array_cols": 128})
    assert row["status"] == "error" and "multiple of array_cols = 128" in row["error"]
    assert row["window"] == 64 and "energy_head_J" not in row


def test_workloads_are_in_the_hardware_ranges(tmp_path):
    cfg = BASE.replace(n_heads=3)
    d = cfg.device
    for kind in ("uniform", "gaussian"):
        q, k, v = Workload(kind=kind, tokens=32, heads=3).arrays(cfg, 0)
        assert q.shape == (1, 3, 32, 64)
        assert d.q_lo <= q.min() and q.max() <= d.q_hi
        assert d.kv_lo <= min(k.min(), v.min()) and max(k.max(), v.max()) <= d.kv_hi
    # gaussian: per-head affine map puts each head's mean at the middle of the range
    q, k, v = Workload(kind="gaussian", tokens=512, heads=3).arrays(cfg, 0)
    assert np.allclose(k.mean(axis=(0, 2, 3)), 0.45, atol=0.01)
    assert np.allclose(q.std(axis=(0, 2, 3)), 1 / 6, rtol=0.05)
    rng = np.random.default_rng(0)
    arrs = {n: rng.uniform(0, 0.9, (2, 3, 20, 64)) for n in "qkv"}
    np.savez(tmp_path / "qkv.npz", **arrs)
    q, k, v = Workload(kind="npz", path=tmp_path / "qkv.npz", tokens=10, heads=2).arrays(
        BASE, 0)
    assert q.shape == (2, 2, 10, 64) and np.array_equal(k, arrs["k"][:, :2, :10])


def test_undefined_metrics_are_nan(tmp_path):
    """Zero weights (k = v = V0): the ideal output is zero, so the relative error and the
    correlation are undefined (NaN), not an exception and not a number."""
    z = np.full((1, 1, 8, 64), 0.45)
    np.savez(tmp_path / "z.npz", q=z + 0.2, k=z, v=z)
    c = PointContext(BASE, gs.SystemSpec(), 2, 0,
                     Workload(kind="npz", path=tmp_path / "z.npz", heads=1))
    row = evaluate_point(c, 0, {})
    assert row["status"] == "ok", row["error"]
    assert math.isnan(row["rel_rms_ideal_mean"]) and math.isnan(row["corr_ideal_mean"])
    assert math.isnan(row["rel_rms_ideal_std"]) and row["sat_stage1_mean"] == 0.0
