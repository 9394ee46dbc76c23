"""The fast engine against the reference engine, for every device option (hypothesis-drawn).

With and without noise: fast == reference to 1e-12, ``forward`` == T calls of ``step``, and the
results do not depend on ``GAINCELL_THREADS``. The reference engine is the vectorized NumPy
twin of the Numba kernels in ``gaincell/array/_kernels_full.py``.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gaincell as gc
from gaincell.array import _kernels_full

TABLE = gc.IVTable.leroux2025()
#: retention tables: one level (the change since the write only), and a non-exponential one
#: (a plateau, then a slide, faster from higher levels), in table seconds
RETENTION = (
    gc.RetentionTable(t_s=(0.0, 1e-6, 2e-5, 1e-3), v0=(0.5,), v=((0.5, 0.49, 0.45, 0.3),),
                      t_ref=300.0),
    gc.RetentionTable(t_s=(0.0, 2e-6, 1e-5, 3e-4), v0=(0.1, 0.45, 0.9),
                      v=((0.1, 0.1, 0.09, 0.08), (0.45, 0.44, 0.4, 0.2),
                         (0.9, 0.88, 0.7, 0.3)), t_ref=330.0),
)


def stream(attn, q, k, v, trace=False):
    attn.reset()
    out = [attn.step(q[:, :, t], k[:, :, t], v[:, :, t], trace=trace) for t in range(q.shape[2])]
    if not trace:
        return np.stack(out, axis=2)
    return np.stack([o[0] for o in out], axis=2), [o[1] for o in out]


@st.composite
def designs(draw):
    cols = draw(st.sampled_from([2, 4, 8]))
    n_sub = draw(st.integers(1, 3))
    D = draw(st.integers(1, 9))
    cell = draw(st.sampled_from(["poly", "linear", "table"]))
    quant = draw(st.booleans())
    o = dict(n_heads=draw(st.integers(1, 2)), head_dim=D, window=cols * n_sub,
             array_cols=cols, array_rows=max(D, 1), cell_model=cell,
             leak_per_step=draw(st.sampled_from([0.0, 1.6e-4, 3e-2])),
             v_rest=draw(st.sampled_from([0.45, 0.3, 0.8])))
    if cell == "table":
        o["iv_table"] = TABLE
    if not quant:
        o.update(q_levels=None, kv_levels=None, out_levels=None)
    if draw(st.booleans()):
        o["sigma_gain_mismatch"] = draw(st.sampled_from([0.02, 0.2]))
    if draw(st.booleans()):
        o["sigma_tau_mismatch"] = draw(st.sampled_from([0.2, 1.0]))
    if draw(st.booleans()):
        o["sigma_read_noise"] = draw(st.sampled_from([1e-15, 3e-14]))
    if draw(st.booleans()):
        o["sigma_write_noise"] = draw(st.sampled_from([1e-3, 0.05]))
    if draw(st.booleans()):
        o["sigma_comparator_offset"] = draw(st.sampled_from([1e-15, 3e-14]))
    if draw(st.booleans()):
        o["sigma_vth_mismatch"] = draw(st.sampled_from([0.005, 0.03]))
    if draw(st.booleans()):
        o["write_pedestal_coef_v"] = draw(st.sampled_from([(-0.02,), (-0.02, 0.015, -0.004)]))
    if draw(st.booleans()):
        o["retention_table"] = draw(st.sampled_from(RETENTION))
    return gc.AttentionConfig.leroux2025(**o)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=designs(), seed=st.integers(0, 10**6), B=st.integers(1, 2),
       t_factor=st.floats(0.3, 2.6))
def test_fast_equals_reference_and_forward_equals_steps(cfg, seed, B, t_factor):
    T = max(1, int(cfg.window * t_factor))
    rng = np.random.default_rng(seed)
    shape = (B, cfg.n_heads, T, cfg.head_dim)
    q, k, v = rng.uniform(0, 1, shape), rng.uniform(0, 0.9, shape), rng.uniform(0, 0.9, shape)
    fast = gc.GainCellAttention(cfg, seed=seed)
    ref = gc.GainCellAttention(cfg, seed=seed, engine="reference")
    assert fast.engine == "fast"
    y = fast.forward(q, k, v)
    np.testing.assert_allclose(ref.forward(q, k, v), y, atol=1e-12, rtol=0)
    ys = stream(fast, q, k, v)
    # the batched passes are BLAS (preset family) or go sub-array by sub-array (full path)
    np.testing.assert_allclose(ys, y, atol=1e-12, rtol=0)
    if not fast._design.is_preset:
        # the traced forward runs the streaming kernel in blocks of tokens: bit for bit
        np.testing.assert_array_equal(fast.forward(q, k, v, trace=True)[0], ys)
    np.testing.assert_allclose(stream(ref, q, k, v), y, atol=1e-12, rtol=0)


@pytest.mark.parametrize("vth", [0.01, 0.0])   # the generic path; the poly-tau heads' path
def test_traces_and_activity_agree_with_every_option(vth):
    cfg = gc.AttentionConfig.leroux2025(
        n_heads=2, head_dim=6, window=8, array_cols=4, v_rest=0.3, sigma_gain_mismatch=0.1,
        sigma_tau_mismatch=0.5, sigma_read_noise=2e-14, sigma_write_noise=0.01,
        sigma_comparator_offset=1e-14, leak_per_step=1e-2, sigma_vth_mismatch=vth,
        write_pedestal_coef_v=(-0.02, 0.015))
    rng = np.random.default_rng(3)
    q, k, v = (rng.uniform(0, 0.9, (2, 2, 19, 6)) for _ in range(3))
    yf, tf = gc.GainCellAttention(cfg, seed=4).forward(q, k, v, trace=True)
    yr, tr = gc.GainCellAttention(cfg, seed=4, engine="reference").forward(q, k, v, trace=True)
    np.testing.assert_allclose(yf, yr, atol=1e-12)
    np.testing.assert_allclose(tf.charge1, tr.charge1, atol=1e-24)
    np.testing.assert_allclose(tf.phi, tr.phi, atol=1e-12)
    np.testing.assert_allclose(tf.subarray_out, tr.subarray_out, atol=1e-12)
    a, b = tf.activity.to_dict(), tr.activity.to_dict()
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-9), key
    ys, trs = stream(gc.GainCellAttention(cfg, seed=4), q, k, v, trace=True)
    np.testing.assert_allclose(ys, yf, atol=1e-12)
    act = trs[0].activity
    for t in trs[1:]:
        act = act + t.activity
    for key, val in act.to_dict().items():
        if key != "tokens":
            assert val == pytest.approx(a[key], rel=1e-9), key


@pytest.mark.parametrize("cell", ["table", "poly"])
@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_results_do_not_depend_on_the_thread_count(monkeypatch, threads, cell):
    table = {"cell_model": "table", "iv_table": TABLE} if cell == "table" else {}
    cfg = gc.AttentionConfig.leroux2025(
        n_heads=3, head_dim=5, window=8, array_cols=4, sigma_gain_mismatch=0.1,
        sigma_read_noise=2e-14, sigma_tau_mismatch=0.3, **table)
    from gaincell.array import _fast

    rng = np.random.default_rng(5)
    q, k, v = (rng.uniform(0, 0.9, (2, 3, 13, 5)) for _ in range(3))
    y1 = gc.GainCellAttention(cfg, seed=9).forward(q, k, v)
    traced = gc.GainCellAttention(cfg, seed=9).forward(q, k, v, trace=True)
    monkeypatch.setenv("GAINCELL_THREADS", threads)
    np.testing.assert_array_equal(gc.GainCellAttention(cfg, seed=9).forward(q, k, v), y1)
    np.testing.assert_allclose(stream(gc.GainCellAttention(cfg, seed=9), q, k, v), y1,
                               atol=1e-12)
    # the streaming kernel on every thread (the poly cell's heads in groups, one per thread)
    monkeypatch.setattr(_fast, "_PARALLEL_MIN_WORK", 1)
    y, tr = gc.GainCellAttention(cfg, seed=9).forward(q, k, v, trace=True)
    np.testing.assert_array_equal(y, traced[0])
    np.testing.assert_array_equal(tr.phi, traced[1].phi)
    assert tr.activity.to_dict() == traced[1].activity.to_dict()


def test_retention_spread_tiles_in_column_blocks_equal_the_reference():
    """A sub-array wider than the tile kernel's column block (_kernels_tiles.CB) runs in
    blocks, a last partial one included; its outputs equal the reference engine's."""
    from gaincell.array import _kernels_tiles
    cols = _kernels_tiles.CB + _kernels_tiles.CB // 2
    cfg = gc.AttentionConfig.leroux2025(
        n_heads=2, head_dim=3, window=2 * cols, array_cols=cols, sigma_tau_mismatch=0.4,
        sigma_gain_mismatch=0.1, sigma_read_noise=2e-14, sigma_comparator_offset=1e-14,
        leak_per_step=3e-3, v_rest=0.3)
    rng = np.random.default_rng(11)
    q, k, v = (rng.uniform(0, 0.9, (1, 2, 2 * cols + 37, 3)) for _ in range(3))
    y = gc.GainCellAttention(cfg, seed=2).forward(q, k, v)
    yr = gc.GainCellAttention(cfg, seed=2, engine="reference").forward(q, k, v)
    assert np.abs(y).max() > 0
    np.testing.assert_allclose(y, yr, atol=1e-12, rtol=0)


def test_decay_table_twin():
    """The kernels' decay by age and ln-tau level (the design's table) against numpy.exp of
    the decoded per-cell leak."""
    from numba import njit

    @njit
    def rows(chip, lvl, s, age, out):
        _kernels_full._decay_row(chip, lvl, 0, s, age, out)

    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=50, window=1000, array_cols=8,
                                        array_rows=50, leak_per_step=3e-3,
                                        sigma_tau_mismatch=0.8)
    sim = gc.GainCellAttention(cfg, seed=3)
    chip = sim._engine._chip
    draws = sim._design.chip
    lvl = draws.leak_k_level
    assert lvl.dtype == np.uint8 and lvl.min() < 100 and lvl.max() > 156
    out = np.empty(50)
    for age in (0, 1, 31, 517, 999):
        for s in (0, 5, 999):
            rows(chip, lvl, s, age, out)
            # a few ulps: mostly the rounding of the direct exponential's argument
            np.testing.assert_allclose(out, np.exp(-age * draws.leak_k[0, s]), rtol=4e-15,
                                       atol=0)


def test_preset_family_keeps_its_path_and_noise_changes_numbers():
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=4, window=8, array_cols=4)
    assert gc.GainCellAttention(cfg)._design.is_preset
    noisy = cfg.replace(sigma_read_noise=3e-14)
    x = np.random.default_rng(0).uniform(0, 0.9, (1, 1, 10, 4))
    a = gc.GainCellAttention(noisy, seed=1).forward(x, x, x)
    b = gc.GainCellAttention(noisy, seed=2).forward(x, x, x)
    assert not np.array_equal(a, b)
