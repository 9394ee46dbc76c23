import numpy as np
import pytest

import gaincell as gc
from gaincell.reference import hardsigmoid_attention, softmax_attention, window_mask


def test_softmax_attention_matches_loops():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(3, 1, 9, 4))
    y = softmax_attention(q, k, v, window=3)
    for t in range(9):
        js = [j for j in range(9) if t - 3 < j <= t]
        s = np.array([q[0, t] @ k[0, j] for j in js]) / 2.0
        p = np.exp(s - s.max())
        p /= p.sum()
        np.testing.assert_allclose(y[0, t], p @ v[0, js], atol=1e-12)


def test_hardsigmoid_reference_equals_ideal_linear_simulator():
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=8, window=16, array_cols=8,
                                        cell_model="linear", q_levels=None, kv_levels=None,
                                        out_levels=None, leak_per_step=0.0)
    rng = np.random.default_rng(1)
    q = rng.uniform(0, 1, (1, 1, 30, 8))
    k = rng.uniform(0.3, 0.9, (1, 1, 30, 8))
    v = rng.uniform(0.35, 0.55, (1, 1, 30, 8))
    y = gc.GainCellAttention(cfg).forward(q, k, v)
    np.testing.assert_allclose(hardsigmoid_attention(q, k, v, cfg), y, atol=1e-12)


def test_window_mask_and_errors():
    m = window_mask(4, 2)
    assert m.tolist() == [[1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    with pytest.raises(ValueError, match="window"):
        softmax_attention(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2)), window=0)
    with pytest.raises(ValueError, match="share a shape"):
        softmax_attention(np.zeros((2, 2)), np.zeros((3, 2)), np.zeros((2, 2)), window=1)


def test_reference_rejects_bad_parameters():
    x = np.zeros((1, 1, 3, 2))
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=2, window=64)
    with pytest.raises(ValueError, match="gain_ua_per_v"):
        hardsigmoid_attention(x, x, x, cfg, gain_ua_per_v=np.nan)
    with pytest.raises(ValueError, match="gain_ua_per_v"):
        hardsigmoid_attention(x, x, x, cfg, gain_ua_per_v=-1.0)
    with pytest.raises(ValueError, match="cfg"):
        hardsigmoid_attention(x, x, x, {"window": 4})
    with pytest.raises(ValueError, match="scale"):
        softmax_attention(x, x, x, window=2, scale=np.nan)
    assert softmax_attention(x, x, x, window=np.int64(2)).shape == x.shape


def dense_hardsigmoid(q, k, v, cfg):
    d = cfg.device
    g = d.linear_gain_ua_per_v
    s = g * (q @ np.swapaxes(k - d.v_weight_zero, -1, -2))
    m = window_mask(q.shape[-2], cfg.window)
    phi = np.where(m, np.clip(s / d.stage1_sat_ua_tmax, 0.0, 1.0), 0.0)
    return (phi @ (g * (v - d.v_weight_zero))) / d.stage2_sat_ua_tmax


def dense_softmax(q, k, v, window):
    s = (q @ np.swapaxes(k, -1, -2)) / np.sqrt(q.shape[-1])
    s = np.where(window_mask(q.shape[-2], window), s, -np.inf)
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    return (p / p.sum(axis=-1, keepdims=True)) @ v


@pytest.mark.parametrize("T, W", [(1, 4), (63, 8), (64, 64), (150, 16), (200, 256)])
def test_blocked_references_equal_dense_twins(T, W):
    cfg = gc.AttentionConfig.leroux2025(n_heads=2, head_dim=5, window=W, array_cols=4)
    rng = np.random.default_rng(T)
    q, k, v = rng.uniform(0, 0.9, (3, 2, 2, T, 5))
    np.testing.assert_allclose(hardsigmoid_attention(q, k, v, cfg),
                               dense_hardsigmoid(q, k, v, cfg), atol=1e-12)
    np.testing.assert_allclose(softmax_attention(q, k, v, window=W),
                               dense_softmax(q, k, v, W), atol=1e-12)


def test_reference_memory_is_linear_in_tokens():
    """Issue 15, defect 2: no (T, T) arrays (dense would need 8 * T^2 = 134 MB here)."""
    import tracemalloc

    T = 4096
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=4, window=64, array_cols=64)
    q = np.full((1, 1, T, 4), 0.5)
    tracemalloc.start()
    try:
        hardsigmoid_attention(q, q, q, cfg)
        softmax_attention(q, q, q, window=64)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8e6, peak


@pytest.mark.parametrize("fn", ["hardsigmoid", "softmax"])
def test_reference_refuses_complex_inputs(fn):
    """Issue 15, defect 12: complex inputs were silently truncated."""
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=2, window=4, array_cols=4)
    x = np.zeros((1, 1, 3, 2))
    z = x + 1j
    with pytest.raises(ValueError, match="k is complex"):
        if fn == "hardsigmoid":
            hardsigmoid_attention(x, z, x, cfg)
        else:
            softmax_attention(x, z, x, window=2)
