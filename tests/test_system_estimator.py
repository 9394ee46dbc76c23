"""Estimator, calibrated mode: the paper's design point exactly, and scaling for physical
reasons (the predicted mode is in test_system_predicted.py)."""

import pytest

import gaincell.system as gs
from gaincell.params import AttentionConfig

PAPER_PJ = {"stage1": 1120.0, "stage2": 700.0, "digital": 4000.0, "dac": 330.0}


def est_cal(*args, **kw):
    """The calibrated component model (these tests pin its physics and scaling)."""
    return gs.estimate(*args, mode="calibrated", **kw)


@pytest.fixture(scope="module")
def est():
    return est_cal(AttentionConfig.leroux2025(), n_layers=12)


def test_design_point_latency_exact(est):
    assert est.mode == "calibrated"
    assert est.latency_layer_s == pytest.approx(65e-9, rel=1e-12)


@pytest.mark.parametrize("group", list(PAPER_PJ))
def test_design_point_energy_groups_exact(est, group):
    assert est.energy.group(group) * 1e12 == pytest.approx(PAPER_PJ[group], rel=1e-12)


def test_design_point_total_energy(est):
    assert est.energy_head_j == pytest.approx(6.15e-9, rel=1e-12)
    assert est.energy_layer_j == pytest.approx(12 * est.energy_head_j)
    assert est.energy_model_j == pytest.approx(12 * 12 * est.energy_head_j)


def test_area_per_head_has_a_breakdown(est):
    by = est.area.by_item()
    assert {"K gain cells", "V gain cells", "stage-1 integrators and converters",
            "controller", "routing channels"} <= set(by)
    assert all(v > 0 for v in by.values())
    assert est.area_head_m2 == pytest.approx(sum(by.values()))
    # cells: 2 arrays of 64 x 1024 cells at 1 um^2 (unconfirmed)
    assert by["K gain cells"] + by["V gain cells"] == pytest.approx(2 * 64 * 1024 * 1e-12)
    # bottom-up: the same order as the paper's unconfirmed 0.5 mm^2, not forced to it
    assert 0.2e-6 < est.area_head_m2 < 2e-6
    assert est.area_model_m2 == pytest.approx(est.area_head_m2 * 12 * 12)


def _no_leak(**kw):
    return AttentionConfig.leroux2025(leak_per_step=0.0, **kw)


def test_doubling_window_doubles_array_terms_and_area():
    a = est_cal(_no_leak(window=1024))
    b = est_cal(_no_leak(window=2048))
    ea, eb = a.energy.by_item(), b.energy.by_item()
    for item in ("K array read (cell charge)", "V array read (cell charge)",
                 "stage-1 converters", "query word lines", "stage-2 signed converters"):
        assert eb[item] == pytest.approx(2 * ea[item], rel=1e-6), item
    # the controller is clocked per tile for the (slightly longer) token time
    assert eb["controller"] == pytest.approx(
        2 * ea["controller"] * b.latency_layer_s / a.latency_layer_s)
    # per-token writes do not depend on the window
    assert b.energy.group("dac") == pytest.approx(a.energy.group("dac"))
    assert eb["query pulse generators"] == pytest.approx(ea["query pulse generators"])
    aa, ab = a.area.by_item(), b.area.by_item()
    for item in ("K gain cells", "V gain cells", "stage-1 integrators and converters",
                 "stage-2 signed converters", "signed counters"):
        assert ab[item] == pytest.approx(2 * aa[item]), item
    assert ab["write DACs"] == pytest.approx(aa["write DACs"])
    # latency: the analog phases are set by T_max; one more adder-tree stage
    assert b.latency_layer_s - a.latency_layer_s == pytest.approx(1.25e-9)
    la, lb = a.latency.by_item(), b.latency.by_item()
    assert lb["query pulses on K (stage-1 integration)"] == la[
        "query pulses on K (stage-1 integration)"]


def test_leakage_over_a_longer_window_lowers_the_cell_charge():
    a = est_cal(AttentionConfig.leroux2025(window=1024))
    b = est_cal(AttentionConfig.leroux2025(window=2048))
    ka = a.energy.by_item()["K array read (cell charge)"]
    kb = b.energy.by_item()["K array read (cell charge)"]
    assert ka < kb < 2 * ka


def test_more_heads_scale_energy_and_area_not_latency(est):
    b = est_cal(AttentionConfig.leroux2025(n_heads=24), n_layers=12)
    assert b.latency_layer_s == est.latency_layer_s
    assert b.energy_head_j == pytest.approx(est.energy_head_j)
    assert b.energy_layer_j == pytest.approx(2 * est.energy_layer_j)
    assert b.area_layer_m2 == pytest.approx(2 * est.area_layer_m2)


def test_layers_scale_token_period_and_model_energy(est):
    b = est_cal(AttentionConfig.leroux2025(), n_layers=24)
    assert b.latency_layer_s == est.latency_layer_s
    assert b.token_period_s == pytest.approx(2 * est.token_period_s)
    assert b.energy_model_j == pytest.approx(2 * est.energy_model_j)
    assert b.area_model_m2 == pytest.approx(2 * est.area_model_m2)


def test_levels_move_the_blocks_that_use_them(est):
    more_kv = est_cal(AttentionConfig.leroux2025(kv_levels=15))
    conv = est.energy.by_item()["DAC conversions and write bit lines"]
    conv2 = more_kv.energy.by_item()["DAC conversions and write bit lines"]
    assert conv2 == pytest.approx(2 * conv, rel=0.01)
    more_out = est_cal(AttentionConfig.leroux2025(out_levels=65))  # 32 counts, not 16
    assert more_out.latency_layer_s == pytest.approx(est.latency_layer_s + 15e-9)
    assert more_out.energy.by_item()["signed counters"] > est.energy.by_item()["signed counters"]


def test_subarray_size_moves_second_stage_and_tree():
    a = est_cal(_no_leak(array_cols=64))
    b = est_cal(_no_leak(array_cols=128))
    ea, eb = a.energy.by_item(), b.energy.by_item()
    assert eb["stage-2 signed converters"] == pytest.approx(ea["stage-2 signed converters"] / 2)
    assert eb["controller"] < ea["controller"]
    assert b.latency_layer_s == pytest.approx(a.latency_layer_s - 1.25e-9)
    # the first stage still converts every column
    assert eb["stage-1 converters"] == pytest.approx(ea["stage-1 converters"])


def test_head_dim_scales_rows_and_outputs():
    a = est_cal(_no_leak(head_dim=64))
    b = est_cal(_no_leak(head_dim=128))
    assert b.area.by_item()["K gain cells"] == pytest.approx(2 * a.area.by_item()["K gain cells"])
    assert b.energy.group("dac") == pytest.approx(2 * a.energy.group("dac"), rel=1e-3)
    assert b.energy.by_item()["stage-2 signed converters"] == pytest.approx(
        2 * a.energy.by_item()["stage-2 signed converters"])


def test_voltage_and_node_scaling():
    a = est_cal(AttentionConfig.leroux2025())
    b = est_cal(AttentionConfig.leroux2025(), spec=gs.SystemSpec(technology_nm=14))
    assert b.energy.by_item()["controller"] == pytest.approx(
        0.5 * a.energy.by_item()["controller"] * b.latency_layer_s / a.latency_layer_s)
    assert b.latency_layer_s == pytest.approx(a.latency_layer_s - 2.5e-9)  # faster adders
    assert b.energy.by_item()["K array read (cell charge)"] == pytest.approx(
        a.energy.by_item()["K array read (cell charge)"])
    assert b.area.by_item()["controller"] == pytest.approx(0.25 * a.area.by_item()["controller"])


def test_component_overrides_apply():
    spec = gs.SystemSpec(components={"array": {"cell_area": 2e-12}})
    b = est_cal(AttentionConfig.leroux2025(), spec=spec)
    assert b.area.by_item()["K gain cells"] == pytest.approx(2 * 64 * 1024 * 1e-12)


def test_estimate_to_dict_and_flat(est):
    d = est.to_dict()
    assert d["headline"]["latency_per_token_layer_s"] == pytest.approx(65e-9, rel=0.01)
    assert set(d) >= {"latency", "energy", "area", "gpu", "retention", "components"}
    assert "calibrated" in d["components"]["stage1"]["sources"]["energy_conv"]
    row = est.flat()
    assert row["window"] == 1024 and row["energy_head_J"] == est.energy_head_j


def test_bad_inputs():
    with pytest.raises(ValueError, match="cfg must be an AttentionConfig"):
        gs.estimate({"window": 1024})
    with pytest.raises(ValueError, match="n_layers"):
        gs.estimate(n_layers=0)
