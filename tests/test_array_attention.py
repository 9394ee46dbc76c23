"""GainCellAttention against the paper's model, streaming vs batched, seeds, bad input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paper_model import paper_attention

import gaincell as gc

NOISY = dict(sigma_read_noise=2e-14, sigma_gain_mismatch=0.05, sigma_tau_mismatch=0.5,
             sigma_write_noise=0.01, sigma_comparator_offset=1e-14)


def rand_qkv(rng, B, H, T, D, spread=1.0):
    q = rng.uniform(0, 1, (B, H, T, D))
    k = 0.45 + spread * rng.uniform(-0.45, 0.45, (B, H, T, D))
    v = 0.45 + spread * rng.uniform(-0.45, 0.45, (B, H, T, D))
    return q, k, v


def stream(attn, q, k, v):
    attn.reset()
    return np.stack([attn.step(q[:, :, t], k[:, :, t], v[:, :, t]) for t in range(q.shape[2])],
                    axis=2)


@given(seed=st.integers(0, 10**6), H=st.integers(1, 2), D=st.integers(1, 12),
       cols=st.sampled_from([4, 8, 16]), n_sub=st.integers(1, 3),
       t_factor=st.floats(0.2, 2.8), quant=st.booleans(),
       leak=st.sampled_from([0.0, 1.6e-4, 3e-2]))
def test_equals_paper_model(seed, H, D, cols, n_sub, t_factor, quant, leak):
    W = cols * n_sub
    T = max(1, int(W * t_factor))
    rng = np.random.default_rng(seed)
    q, k, v = rand_qkv(rng, 1, H, T, D)
    levels = dict(q_levels=16, kv_levels=8, out_levels=32) if quant else \
        dict(q_levels=None, kv_levels=None, out_levels=None)
    cfg = gc.AttentionConfig.leroux2025(n_heads=H, head_dim=D, window=W, array_cols=cols,
                                        array_rows=max(D, 1), leak_per_step=leak, **levels)
    ref = paper_attention(q, k, v, window=W, leak=leak, array_len=cols, **levels)
    attn = gc.GainCellAttention(cfg, seed=seed)
    np.testing.assert_allclose(attn.forward(q, k, v), ref, atol=1e-9, rtol=0)
    np.testing.assert_allclose(stream(attn, q, k, v), ref, atol=1e-9, rtol=0)


def test_preset_gpt2_head_window_slides():
    rng = np.random.default_rng(11)
    cfg = gc.AttentionConfig.leroux2025(n_heads=1)
    q, k, v = rand_qkv(rng, 1, 1, 1300, 64, spread=0.6)
    q *= 0.25
    ref = paper_attention(q, k, v)
    y = gc.GainCellAttention(cfg).forward(q, k, v)
    np.testing.assert_allclose(y, ref, atol=1e-9, rtol=0)
    assert np.abs(y).max() > 0.1   # a non-trivial case


def test_streaming_equals_batched_with_batch_and_reference_engine():
    rng = np.random.default_rng(5)
    cfg = gc.AttentionConfig.leroux2025(n_heads=2, head_dim=8, window=32, array_cols=8,
                                        leak_per_step=1e-2)
    q, k, v = rand_qkv(rng, 3, 2, 90, 8)
    fast = gc.GainCellAttention(cfg)
    gen = gc.GainCellAttention(cfg, engine="reference")
    y = fast.forward(q, k, v)
    np.testing.assert_allclose(stream(fast, q, k, v), y, atol=1e-12)
    np.testing.assert_allclose(gen.forward(q, k, v), y, atol=1e-12)
    np.testing.assert_allclose(stream(gen, q, k, v), y, atol=1e-12)


def test_noise_and_mismatch_are_seeded_and_streaming_equals_batched():
    rng = np.random.default_rng(6)
    cfg = gc.AttentionConfig.leroux2025(n_heads=2, head_dim=8, window=16, array_cols=8, **NOISY)
    q, k, v = rand_qkv(rng, 2, 2, 40, 8)
    a = gc.GainCellAttention(cfg, seed=1)
    assert a.engine == "fast"
    y = a.forward(q, k, v)
    np.testing.assert_allclose(gc.GainCellAttention(cfg, seed=1, engine="reference")
                               .forward(q, k, v), y, atol=1e-12)
    np.testing.assert_array_equal(gc.GainCellAttention(cfg, seed=1).forward(q, k, v), y)
    np.testing.assert_allclose(stream(a, q, k, v), y, atol=1e-12)
    assert not np.array_equal(gc.GainCellAttention(cfg, seed=2).forward(q, k, v), y)
    clean = gc.GainCellAttention(cfg.replace(**{n: 0.0 for n in NOISY})).forward(q, k, v)
    assert not np.array_equal(clean, y)


def test_each_noise_option_changes_the_output():
    rng = np.random.default_rng(8)
    base = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=16, window=16, array_cols=8,
                                         out_levels=None, leak_per_step=1e-2)
    q, k, v = rand_qkv(rng, 1, 1, 30, 16)
    y0 = gc.GainCellAttention(base).forward(q, k, v)
    for name, val in NOISY.items():
        y = gc.GainCellAttention(base.replace(**{name: val}), seed=0).forward(q, k, v)
        assert np.abs(y - y0).max() > 1e-6, name
    y = gc.GainCellAttention(base.replace(v_rest=0.3)).forward(q, k, v)
    assert np.abs(y - y0).max() > 1e-6


def test_table_and_linear_cells():
    rng = np.random.default_rng(9)
    q, k, v = rand_qkv(rng, 1, 1, 20, 8)
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=8, window=16, array_cols=8,
                                        cell_model="linear")
    lin = paper_attention(q, k, v, window=16, array_len=8, a=np.array([0, 19.3, 0, 0]))
    np.testing.assert_allclose(gc.GainCellAttention(cfg).forward(q, k, v), lin, atol=1e-9)
    tab = gc.GainCellAttention(cfg.replace(cell_model="table", iv_table=gc.IVTable.leroux2025()))
    assert tab.engine == "fast"
    y = tab.forward(q, k, v)
    np.testing.assert_allclose(stream(tab, q, k, v), y, atol=1e-12)
    assert np.isfinite(y).all()


def test_trace_is_consistent():
    rng = np.random.default_rng(10)
    cfg = gc.AttentionConfig.leroux2025(n_heads=2, head_dim=8, window=16, array_cols=8)
    q, k, v = rand_qkv(rng, 1, 2, 40, 8)
    attn = gc.GainCellAttention(cfg)
    y, tr = attn.forward(q, k, v, trace=True)
    d = cfg.device
    assert tr.charge1.shape == (1, 2, 40, 16) and tr.subarray_out.shape == (1, 2, 40, 2, 8)
    np.testing.assert_allclose(tr.subarray_out.sum(axis=3), y, atol=1e-12)
    np.testing.assert_allclose(tr.phi, np.clip(tr.charge1 / d.stage1_q_sat, 0, 1), atol=1e-12)
    assert np.all(tr.phi[:, :, 0, 1:] == 0)   # only slot 0 is filled at t = 0
    _, tg = gc.GainCellAttention(cfg, engine="reference").forward(q, k, v, trace=True)
    np.testing.assert_allclose(tg.charge1, tr.charge1, atol=1e-24)
    a, b = tr.activity.to_dict(), tg.activity.to_dict()
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-9), key
    yt, st_tr = attn.step(q[:, :, 0], k[:, :, 0], v[:, :, 0], trace=True)
    assert st_tr.phi.shape == (1, 2, 16)


def test_activity_counts():
    rng = np.random.default_rng(12)
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=4, window=8, array_cols=4,
                                        leak_per_step=0.0)
    q, k, v = rand_qkv(rng, 2, 1, 12, 4)
    q[..., 0] = 0.0
    _, tr = gc.GainCellAttention(cfg).forward(q, k, v, trace=True)
    a = tr.activity
    qq = gc.device.pwm(q, cfg.device)
    cols = np.minimum(np.arange(1, 13), 8)
    assert a.queries == 24 and a.tokens == 12 and a.batch == 2
    assert a.cells_written == 2 * 12 * 2 * 4
    assert a.q_pulses == int((qq > 0).sum())
    assert a.q_pulse_width_sum == pytest.approx(qq.sum())
    assert a.stage1_conversions == 2 * cols.sum()
    assert a.k_cells_read == int(((qq > 0).sum(-1) * cols).sum())
    assert a.phi_pulses == int((tr.phi > 0).sum())
    assert a.stage2_conversions == 2 * 12 * 2 * 4
    # brute-force charge through the K cells
    tr_ = gc.device.CellTransfer(cfg.device)
    kq = gc.device.dac(k, cfg.device)
    tot = 0.0
    for b in range(2):
        for t in range(12):
            for j in range(max(0, t - 7), t + 1):
                tot += np.sum(qq[b, 0, t] * cfg.device.t_max * np.abs(tr_.current(kq[b, 0, j])))
    assert a.k_charge_abs == pytest.approx(tot, rel=1e-9)


def test_long_stream_is_exact():
    """6,000 streamed tokens (leakage and quantization on) equal the batched forward over the
    whole sequence, and, at checkpoints, a fresh run over the window-aligned recent tokens."""
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=8, window=32, array_cols=16,
                                        leak_per_step=1e-2)
    rng = np.random.default_rng(0)
    T, W = 6000, 32
    q, k, v = rand_qkv(rng, 1, 1, T, 8)
    attn = gc.GainCellAttention(cfg)
    ys = stream(attn, q, k, v)
    assert attn.tokens_seen == T
    np.testing.assert_array_equal(ys, attn.forward(q, k, v))
    for t in (W - 1, 777, 4321, T - 1):
        t0 = max(0, (t - W + 1) // W * W)     # a fresh buffer fills slots from 0
        fresh = gc.GainCellAttention(cfg).forward(q[:, :, t0:t + 1], k[:, :, t0:t + 1],
                                                  v[:, :, t0:t + 1])
        np.testing.assert_allclose(ys[:, :, t], fresh[:, :, -1], atol=1e-12)
    assert np.abs(ys).max() > 0.1


def test_long_noisy_stream_equals_forward():
    cfg = gc.AttentionConfig.leroux2025(n_heads=2, head_dim=4, window=8, array_cols=4,
                                        leak_per_step=1e-2, **NOISY)
    rng = np.random.default_rng(1)
    q, k, v = rand_qkv(rng, 1, 2, 1000, 4)
    attn = gc.GainCellAttention(cfg, seed=3)
    np.testing.assert_allclose(stream(attn, q, k, v), attn.forward(q, k, v), atol=1e-12)
    no_tau = gc.GainCellAttention(cfg.replace(sigma_tau_mismatch=0.0), seed=3)
    np.testing.assert_array_equal(stream(no_tau, q, k, v), no_tau.forward(q, k, v))


def test_state_memory_of_the_preset():
    cfg = gc.AttentionConfig.leroux2025()
    attn = gc.GainCellAttention(cfg)
    x = np.full((1, 12, 64), 0.5)
    attn.step(x, x, x)
    kv_f32 = 2 * 12 * 1024 * 64 * 4
    assert attn.state_nbytes <= 1.5 * kv_f32
    assert attn.state_nbytes < 0.3 * kv_f32   # one byte per cell


@pytest.mark.parametrize("make, match", [
    (lambda x: x[0], "4-D"),
    (lambda x: x[:, :1], "n_heads"),
    (lambda x: x[..., :3], "head_dim"),
    (lambda x: np.where(x > 0.5, np.nan, x), "NaN"),
    (lambda x: np.where(x > 0.5, np.inf, x), "NaN or infinite"),
    (lambda x: x[:, :, :0], "non-empty"),
])
def test_forward_rejects_bad_input(make, match):
    cfg = gc.AttentionConfig.leroux2025(n_heads=2, head_dim=4, window=8, array_cols=4)
    x = np.random.default_rng(0).uniform(0, 0.9, (1, 2, 5, 4))
    with pytest.raises(ValueError, match=match):
        gc.GainCellAttention(cfg).forward(make(x), x if make(x).shape == x.shape else make(x),
                                          make(x))


def test_forward_rejects_mismatched_shapes():
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=4, window=8, array_cols=4)
    x = np.zeros((1, 1, 5, 4))
    with pytest.raises(ValueError, match="shapes differ"):
        gc.GainCellAttention(cfg).forward(x, x[:, :, :4], x)


def test_failed_step_leaves_state_unchanged():
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=4, window=8, array_cols=4)
    rng = np.random.default_rng(1)
    q, k, v = rand_qkv(rng, 1, 1, 20, 4)
    a, b = gc.GainCellAttention(cfg), gc.GainCellAttention(cfg)
    for t in range(10):
        a.step(q[:, :, t], k[:, :, t], v[:, :, t])
        b.step(q[:, :, t], k[:, :, t], v[:, :, t])
    bad = k[:, :, 10].copy()
    bad[0, 0, 1] = np.nan
    with pytest.raises(ValueError, match="k contains"):
        a.step(q[:, :, 10], bad, v[:, :, 10])
    with pytest.raises(ValueError, match="batch size"):
        a.step(np.zeros((2, 1, 4)), np.zeros((2, 1, 4)), np.zeros((2, 1, 4)))
    with pytest.raises(ValueError, match="3-D"):
        a.step(q[:, :, 10:12], k[:, :, 10:12], v[:, :, 10:12])
    assert a.tokens_seen == b.tokens_seen == 10
    for t in range(10, 20):
        np.testing.assert_array_equal(a.step(q[:, :, t], k[:, :, t], v[:, :, t]),
                                      b.step(q[:, :, t], k[:, :, t], v[:, :, t]))


def test_bad_construction():
    with pytest.raises(ValueError, match="cfg"):
        gc.GainCellAttention({"window": 8})
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=4, window=8, array_cols=4)
    with pytest.raises(ValueError, match="seed"):
        gc.GainCellAttention(cfg, seed=-1)
    with pytest.raises(ValueError, match="engine"):
        gc.GainCellAttention(cfg, engine="gpu")
    assert gc.GainCellAttention(cfg.replace(sigma_read_noise=1e-15), engine="fast").engine \
        == "fast"
    with pytest.warns(DeprecationWarning, match="reference"):
        assert gc.GainCellAttention(cfg, engine="general").engine == "reference"


def test_offset_converter_ranges_agree_across_engines():
    rng = np.random.default_rng(13)
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=8, window=16, array_cols=8,
                                        kv_lo=0.1, kv_hi=0.8, kv_levels=6, q_lo=0.2,
                                        leak_per_step=1e-2)
    q, k, v = rand_qkv(rng, 1, 1, 30, 8)
    fast = gc.GainCellAttention(cfg)
    y = fast.forward(q, k, v)
    np.testing.assert_allclose(gc.GainCellAttention(cfg, engine="reference").forward(q, k, v), y,
                               atol=1e-12)
    np.testing.assert_allclose(stream(fast, q, k, v), y, atol=1e-12)
    head = gc.array.TiledHead(cfg)
    ys = np.array([head.step(q[0, 0, t], k[0, 0, t], v[0, 0, t]) for t in range(30)])
    np.testing.assert_allclose(ys, y[0, 0], atol=1e-9)


def test_generator_seed_and_independent_streams():
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=4, window=8, array_cols=4,
                                        sigma_read_noise=3e-14)
    x = np.random.default_rng(0).uniform(0, 0.9, (1, 1, 6, 4))
    a = gc.GainCellAttention(cfg, seed=np.random.default_rng(5)).forward(x, x, x)
    b = gc.GainCellAttention(cfg, seed=np.random.default_rng(5)).forward(x, x, x)
    np.testing.assert_array_equal(a, b)
    s7 = gc.GainCellAttention(cfg, seed=7)
    s71 = gc.GainCellAttention(cfg, seed=(7, 1))
    assert not np.array_equal(s7._rng(1, 0).random(4), s71._rng(0).random(4))


def test_thread_setting_is_validated(monkeypatch):
    cfg = gc.AttentionConfig.leroux2025(n_heads=2, head_dim=4, window=8, array_cols=4)
    x = np.full((1, 2, 5, 4), 0.5)
    y1 = gc.GainCellAttention(cfg).forward(x, x, x)
    monkeypatch.setenv("GAINCELL_THREADS", "1")
    np.testing.assert_array_equal(gc.GainCellAttention(cfg).forward(x, x, x), y1)
    monkeypatch.setenv("GAINCELL_THREADS", "0")
    with pytest.raises(ValueError, match="GAINCELL_THREADS"):
        gc.GainCellAttention(cfg).forward(x, x, x)


def test_state_memory_with_mismatch():
    """Gain mismatch keeps one-byte codes; its static draws are float32."""
    cfg = gc.AttentionConfig.leroux2025(sigma_gain_mismatch=0.05)
    attn = gc.GainCellAttention(cfg)
    x = np.full((1, 12, 64), 0.5)
    attn.step(x, x, x)
    assert attn.state_nbytes <= 1.5 * 2 * 12 * 1024 * 64 * 4


def test_complex_inputs_are_refused():
    """Issue 15, defect 12: complex inputs were silently truncated."""
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=4, window=8, array_cols=4)
    x = np.full((1, 1, 3, 4), 0.5)
    for engine in ("fast", "reference"):
        attn = gc.GainCellAttention(cfg, engine=engine)
        with pytest.raises(ValueError, match="v is complex"):
            attn.forward(x, x, x + 0j)
        with pytest.raises(ValueError, match="q is complex"):
            attn.step(x[:, :, 0] + 1j, x[:, :, 0], x[:, :, 0])
        assert attn.tokens_seen == 0


def test_batched_buffers_are_sized_by_the_work():
    """Issue 15, defect 12: a (64, W/64, D) block per 64 queries whatever T."""
    import tracemalloc

    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=64, window=2**16)
    x = np.full((1, 1, 64, 64), 0.5)
    attn = gc.GainCellAttention(cfg)
    attn.forward(x, x, x)
    tracemalloc.start()
    try:
        y = attn.forward(x, x, x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8e6, peak      # a (64, 1024, 64) block alone is 33 MB
    np.testing.assert_array_equal(y, gc.GainCellAttention(cfg).forward(x, x, x))


@pytest.mark.parametrize("over", [dict(poly_c_ua=((1e300, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0),
                                                   (1e300, 0, 0, 0))),
                                  dict(cell_model="linear", linear_gain_ua_per_v=1e305)])
def test_overflowing_cell_coefficients_are_refused(over):
    """Issue 15, defect 12: overflowing coefficients gave silent NaN outputs."""
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=4, window=8, array_cols=4, **over)
    with pytest.raises(ValueError, match="overflow"):
        gc.GainCellAttention(cfg)


def test_cfg_is_read_only():
    """Issue 15, defect 12: reassigning attn.cfg was silently ignored."""
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=4, window=8, array_cols=4)
    attn = gc.GainCellAttention(cfg)
    with pytest.raises(AttributeError):
        attn.cfg = cfg.replace(window=4)
    assert attn.cfg is cfg
