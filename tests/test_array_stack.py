import numpy as np
import pytest

import gaincell as gc


def test_stack_layers_are_independent_and_seeded():
    cfg = gc.AttentionConfig.leroux2025(n_heads=2, head_dim=4, window=8, array_cols=4,
                                        sigma_read_noise=3e-14)
    st = gc.AttentionStack(cfg, n_layers=3, seed=7)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 0.9, (3, 1, 2, 6, 4))
    y = st.forward(x, x, x)
    assert y.shape == (3, 1, 2, 6, 4)
    # same inputs, different layer seeds -> different noise
    assert not np.array_equal(y[0], y[1])
    # layer l equals a lone simulator seeded (seed, l)
    lone = gc.GainCellAttention(cfg, seed=(7, 2)).forward(x[2], x[2], x[2])
    np.testing.assert_array_equal(y[2], lone)
    st.reset()
    ys = np.stack([st.step(x[:, :, :, t], x[:, :, :, t], x[:, :, :, t]) for t in range(6)], 3)
    np.testing.assert_allclose(ys, y, atol=1e-12)
    assert st.state_nbytes > 0


def test_gpt2_sized_attention_streams():
    cfg = gc.AttentionConfig.leroux2025()          # 12 heads, window 1024
    st = gc.AttentionStack(cfg, n_layers=12)
    x = np.full((12, 1, 12, 64), 0.6)
    for _ in range(3):
        y = st.step(x, x, x)
    assert y.shape == (12, 1, 12, 64) and np.isfinite(y).all()
    y0 = st.step_layer(0, x[0], x[0], x[0])
    assert y0.shape == (1, 12, 64)


def test_stack_bad_input():
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=4, window=8, array_cols=4)
    with pytest.raises(ValueError, match="n_layers"):
        gc.AttentionStack(cfg, n_layers=0)
    st = gc.AttentionStack(cfg, n_layers=2)
    with pytest.raises(ValueError, match="n_layers = 2"):
        st.step(np.zeros((3, 1, 1, 4)), np.zeros((3, 1, 1, 4)), np.zeros((3, 1, 1, 4)))
    with pytest.raises(ValueError, match="layer"):
        st.step_layer(5, np.zeros((1, 1, 4)), np.zeros((1, 1, 4)), np.zeros((1, 1, 4)))
    # issue 15, defect 12: a float layer index raised TypeError
    with pytest.raises(ValueError, match="layer = 1.5"):
        st.step_layer(1.5, np.zeros((1, 1, 4)), np.zeros((1, 1, 4)), np.zeros((1, 1, 4)))
    assert st.step_layer(np.int64(1), np.zeros((1, 1, 4)), np.zeros((1, 1, 4)),
                         np.zeros((1, 1, 4))).shape == (1, 1, 4)
