"""gaincell.monte_carlo: chips from spawn keys, workers, spread, memory and bad input."""

import numpy as np
import pytest

import gaincell as gc
from gaincell.array.montecarlo import METRICS

NOISY = dict(sigma_read_noise=2e-14, sigma_gain_mismatch=0.05, sigma_tau_mismatch=0.3,
             sigma_write_noise=0.01, sigma_comparator_offset=1e-14)


def small(**kw):
    return gc.AttentionConfig.leroux2025(n_heads=2, head_dim=6, window=8, array_cols=4,
                                         leak_per_step=1e-2, **kw)


def inputs(T=14, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.uniform(0, 1, (1, 2, T, 6))
    k, v = rng.uniform(0, 0.9, (2, 1, 2, T, 6))
    return q, k, v


def test_chips_do_not_depend_on_n_chips_or_workers():
    cfg = small(**NOISY)
    q, k, v = inputs()
    a = gc.monte_carlo(cfg, q, k, v, 5, seed=3, workers=1, progress=False)
    b = gc.monte_carlo(cfg, q, k, v, 3, seed=3, workers=2, progress=False)
    assert set(a.metrics) == set(METRICS) and a.n_chips == 5
    for m in METRICS:
        assert a.metrics[m].shape == (5,)
        np.testing.assert_array_equal(a.metrics[m][:3], b.metrics[m], err_msg=m)
    np.testing.assert_array_equal(a.outputs[:3], b.outputs)
    # chip i is the simulator seeded with spawn key i
    y2 = gc.GainCellAttention(cfg, seed=np.random.SeedSequence(3, spawn_key=(2,))).forward(q, k, v)
    np.testing.assert_array_equal(a.outputs[2], y2)
    assert len({float(x) for x in a.metrics["rel_rms_vs_clean"]}) == 5   # chips differ
    assert np.all(a.metrics["rel_rms_vs_clean"] > 0)
    ideal = gc.reference.hardsigmoid_attention(q, k, v, cfg)
    err = np.sqrt(np.mean((y2 - ideal) ** 2) / np.mean(ideal**2))
    assert a.metrics["rel_rms_vs_ideal"][2] == pytest.approx(err, rel=1e-12)
    s = a.summary()
    r = s["rel_rms_vs_clean"]
    x = a.metrics["rel_rms_vs_clean"]
    assert r["mean"] == pytest.approx(x.mean()) and r["std"] == pytest.approx(x.std(ddof=1))
    assert r["ci95_lo"] < r["mean"] < r["ci95_hi"]
    assert r["p5"] <= r["p50"] <= r["p95"]
    assert a.rows()[4]["chip"] == 4


def test_spread_is_zero_without_sigmas():
    cfg = small(v_rest=0.3)
    q, k, v = inputs()
    r = gc.monte_carlo(cfg, q, k, v, 4, seed=1, progress=False, keep_outputs=False)
    assert r.outputs is None
    np.testing.assert_array_equal(r.metrics["rel_rms_vs_clean"], 0.0)
    np.testing.assert_allclose(r.metrics["corr_vs_clean"], 1.0, atol=1e-12)
    s = r.summary()
    assert s["rel_rms_vs_ideal"]["std"] == 0.0
    assert s["counter_saturated"]["std"] == 0.0


def test_saturation_counts_match_the_trace():
    cfg = small(**NOISY, stage1_q_sat=2e-13)   # a first stage that saturates
    q, k, v = inputs()
    r = gc.monte_carlo(cfg, q, k, v, 2, seed=0, progress=False)
    _, tr = gc.GainCellAttention(cfg, seed=np.random.SeedSequence(0, spawn_key=(1,))).forward(
        q, k, v, trace=True)
    assert r.metrics["phi_saturated"][1] == tr.activity.phi_saturated > 0
    assert r.metrics["counter_saturated"][1] == tr.activity.counter_saturated
    # preset path too
    p = gc.monte_carlo(small(stage1_q_sat=2e-13), q, k, v, 1, progress=False)
    _, tp = gc.GainCellAttention(small(stage1_q_sat=2e-13),
                                 seed=np.random.SeedSequence(0, spawn_key=(0,))).forward(
        q, k, v, trace=True)
    assert p.metrics["phi_saturated"][0] == tp.activity.phi_saturated > 0
    assert p.metrics["counter_saturated"][0] == tp.activity.counter_saturated


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "3"])
def test_bad_n_chips(n):
    q, k, v = inputs(4)
    with pytest.raises(ValueError, match="n_chips"):
        gc.monte_carlo(small(), q, k, v, n)


def test_outputs_over_the_memory_limit_are_refused_with_the_memory_needed():
    q, k, v = inputs(4)
    with pytest.raises(ValueError, match=r"needs .* GiB.*keep_outputs=False"):
        gc.monte_carlo(small(), q, k, v, 10, keep_outputs=True, memory_limit=1000)
    r = gc.monte_carlo(small(), q, k, v, 10, memory_limit=1000, progress=False)
    assert r.outputs is None and r.n_chips == 10
    with pytest.raises(ValueError, match="seed"):
        gc.monte_carlo(small(), q, k, v, 1, seed=-1)
    with pytest.raises(ValueError, match="workers"):
        gc.monte_carlo(small(), q, k, v, 1, workers=0)
    with pytest.raises(ValueError, match="q has shape"):
        gc.monte_carlo(small(), q[0], k, v, 1)


def test_simulate_chips_runs_the_given_seeds_on_any_number_of_workers():
    from gaincell.array.montecarlo import simulate_chips

    cfg = small(**NOISY)
    q, k, v = inputs()
    seeds = [np.random.SeedSequence(5, spawn_key=(2, 7, c)) for c in range(3)]
    one = simulate_chips(cfg, q, k, v, seeds, workers=1)
    two = simulate_chips(cfg, q, k, v, seeds, workers=2)
    for (y1, a1, b1), (y2, a2, b2), s in zip(one, two, seeds):
        np.testing.assert_array_equal(y1, y2)
        assert (a1, b1) == (a2, b2)
        y, tr = gc.GainCellAttention(cfg, seed=s).forward(q, k, v, trace=True)
        np.testing.assert_allclose(y1, y, atol=1e-12, rtol=0)
        assert a1 == tr.activity.phi_saturated and b1 == tr.activity.counter_saturated
