"""Workloads: the analytic average case against a Monte Carlo of the same semantics, and the
data-dependent energy from activity counts (hand-built and from a real simulation trace)."""

from dataclasses import replace

import numpy as np
import pytest

import gaincell.system as gs
from gaincell.array.activity import Activity
from gaincell.device import CellTransfer
from gaincell.params import AttentionConfig
from gaincell.system.workload import Workload


def _monte_carlo(cfg, n_queries=200, seed=1):
    """Direct simulation of one query read per sample (docs/design.md semantics, i.i.d. levels)."""
    d = cfg.device
    rng = np.random.default_rng(seed)
    D, W, C = cfg.head_dim, cfg.window, cfg.array_cols
    tr = CellTransfer(d)
    ql = np.arange(d.q_levels) / (d.q_levels - 1)
    vl = np.arange(d.kv_levels) * d.kv_hi / (d.kv_levels - 1)
    step = 2.0 / (d.out_levels - 1)
    decay = np.exp(-np.arange(W) * cfg.leak_per_step)
    sums = dict(k=0.0, v=0.0, phi=0.0, phip=0.0, counts=0.0)
    for _ in range(n_queries):
        q = rng.choice(ql, D)
        ik = tr.current(0.45 + (rng.choice(vl, (D, W)) - 0.45) * decay)
        iv = tr.current(0.45 + (rng.choice(vl, (W, D)) - 0.45) * decay[:, None])
        s = (q[:, None] * d.t_max * ik).sum(0)
        phi = np.clip(s / d.stage1_q_sat, 0, 1)
        a = (phi[:, None] * d.t_max * iv).reshape(W // C, C, D).sum(1)
        out = np.clip(a / d.stage2_q_sat, -1, 1)
        sums["k"] += (q[:, None] * d.t_max * np.abs(ik)).sum()
        sums["v"] += (phi[:, None] * d.t_max * np.abs(iv)).sum()
        sums["phi"] += phi.sum()
        sums["phip"] += (phi > 0).sum()
        sums["counts"] += np.abs(np.round(out / step)).sum()
    return {k: v / n_queries for k, v in sums.items()}


def test_average_case_matches_a_monte_carlo():
    cfg = AttentionConfig.leroux2025(window=256)
    w = Workload.average_case(cfg)
    mc = _monte_carlo(cfg)
    assert w.k_charge_abs == pytest.approx(mc["k"], rel=0.02)
    assert w.phi_pulse_width_sum == pytest.approx(mc["phi"], rel=0.05)
    assert w.phi_pulses == pytest.approx(mc["phip"], rel=0.05)
    assert w.v_charge_abs == pytest.approx(mc["v"], rel=0.06)
    assert w.counter_counts_abs == pytest.approx(mc["counts"], rel=0.10)


def test_average_case_counts():
    cfg = AttentionConfig.leroux2025()
    w = Workload.average_case(cfg)
    assert w.q_pulses == pytest.approx(64 * 15 / 16)
    assert w.stage1_conversions == 1024
    assert w.stage2_conversions == 16 * 64
    assert w.cells_written == 128
    assert w.write_voltage_sum == pytest.approx(128 * 0.45)


def _activity(queries=10, **kw):
    base = dict(tokens=10, batch=1, n_heads=12, queries=queries, cells_written=128 * queries,
                write_voltage_sum=57.6 * queries, q_pulses=60 * queries,
                q_pulse_width_sum=32.0 * queries, k_cells_read=61440 * queries,
                k_charge_abs=2e-9 * queries, stage1_conversions=1024 * queries,
                phi_pulses=600 * queries, phi_pulse_width_sum=200.0 * queries,
                phi_saturated=0, v_cells_read=38400 * queries, v_charge_abs=8e-10 * queries,
                stage2_conversions=1024 * queries, counter_counts_abs=4000.0 * queries,
                counter_saturated=0)
    base.update(kw)
    return Activity(**base)


def test_from_activity_is_per_query():
    w = Workload.from_activity(_activity(queries=10))
    assert w.k_charge_abs == pytest.approx(2e-9)
    assert w.stage1_conversions == 1024 and w.source == "activity"


def test_data_dependent_energy_follows_pulse_widths_and_stored_values():
    cfg = AttentionConfig.leroux2025()
    e1 = gs.estimate(cfg, activity=_activity())
    e2 = gs.estimate(cfg, activity=_activity(k_charge_abs=4e-9 * 10, v_charge_abs=0.0,
                                             phi_pulses=0))
    k1 = e1.data_energy.by_item()["K array read (cell charge)"]
    k2 = e2.data_energy.by_item()["K array read (cell charge)"]
    assert k1 == pytest.approx(2e-9 * 0.45)
    assert k2 == pytest.approx(2 * k1)
    assert e2.data_energy.by_item()["V array read (cell charge)"] == 0.0
    assert e2.data_energy.by_item()["phi word lines"] == 0.0
    # the average case is reported beside it, unchanged
    assert e1.energy_head_j == pytest.approx(6.15e-9, rel=0.01)
    assert e1.data_energy_head_j != e1.energy_head_j
    # writes follow the stored voltages
    e3 = gs.estimate(cfg, activity=_activity(write_voltage_sum=0.0))
    assert e3.data_energy.group("dac") < e1.data_energy.group("dac")


def test_activity_from_another_design_is_refused():
    with pytest.raises(ValueError, match="8-head design.*n_heads = 12"):
        gs.estimate(AttentionConfig.leroux2025(), activity=_activity(n_heads=8))
    with pytest.raises(ValueError, match="window = 512"):
        gs.estimate(AttentionConfig.leroux2025(window=512), activity=_activity())
    with pytest.raises(ValueError, match="head_dim = 256"):
        gs.estimate(AttentionConfig.leroux2025(head_dim=128), activity=_activity())


def test_activity_errors():
    with pytest.raises(ValueError, match="queries"):
        Workload.from_activity(Activity())
    with pytest.raises(ValueError, match="Activity"):
        Workload.from_activity({"queries": 1})
    with pytest.raises(ValueError, match=r"Workload.k_charge_abs = -1"):
        replace(Workload.average_case(AttentionConfig.leroux2025()), k_charge_abs=-1.0)


def test_real_simulation_trace():
    import gaincell as gc

    cfg = AttentionConfig.leroux2025(n_heads=1, window=64)
    rng = np.random.default_rng(0)
    shape = (1, 1, 96, 64)
    q, k, v = rng.uniform(0, 1, shape), rng.uniform(0, 0.9, shape), rng.uniform(0, 0.9, shape)
    _, trace = gc.GainCellAttention(cfg, seed=0).forward(q, k, v, trace=True)
    est = gs.estimate(cfg, activity=trace.activity)
    wl = est.data_workload
    assert wl.source == "activity"
    assert wl.cells_written == pytest.approx(128)
    assert 0 < wl.stage1_conversions <= 64
    assert est.data_energy.total > 0
    # same components, same order of magnitude as the average case
    assert 0.3 < est.data_energy.group("stage1") / est.energy.group("stage1") < 1.5
