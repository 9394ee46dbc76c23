"""The chip's compact static draws: distributions, decoding, independence and memory."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gaincell as gc
from gaincell.array._draws import TAU_LEVELS_PER_SIGMA, Z_STEP, draw_chip, seed_entropy
from gaincell.array._state import Writer

CFG = gc.AttentionConfig.leroux2025(n_heads=3, head_dim=64, window=512, array_cols=64,
                                    sigma_gain_mismatch=0.05, sigma_tau_mismatch=0.3,
                                    sigma_comparator_offset=2e-15, sigma_vth_mismatch=0.01)


def test_decoded_draws_have_their_distributions():
    c = draw_chip(CFG, seed_entropy(4))
    d = CFG.device
    z_gain = np.concatenate([c.gain_k_code.ravel(), c.gain_v_code.ravel()]) * Z_STEP
    assert np.std(z_gain) == pytest.approx(1.0, rel=0.01) and abs(z_gain.mean()) < 0.01
    np.testing.assert_array_equal(c.gain_k, np.maximum(1 + 0.05 * c.gain_k_code * Z_STEP, 0))
    # ln tau_cell = ln tau + sigma z: the leak is leak_per_step exp(-sigma z)
    z_tau = np.log(CFG.leak_per_step / c.leak_k.ravel()) / d.sigma_tau_mismatch
    assert np.std(z_tau) == pytest.approx(1.0, rel=0.01) and abs(z_tau.mean()) < 0.01
    # on the level grid: sigma / 20
    np.testing.assert_allclose(z_tau * TAU_LEVELS_PER_SIGMA,
                               np.rint(z_tau * TAU_LEVELS_PER_SIGMA), atol=1e-9)
    assert np.std(c.vth_k) == pytest.approx(0.01, rel=0.02)
    sig_c = d.sigma_comparator_offset / (1e-6 * d.t_max)
    off = np.concatenate([c.off1.ravel(), c.off2.ravel()])
    assert np.std(off) == pytest.approx(sig_c, rel=0.03)
    # K and V draws, and heads, are independent streams
    assert abs(np.corrcoef(c.gain_k.ravel(), c.gain_v.ravel())[0, 1]) < 0.01
    assert abs(np.corrcoef(c.gain_k[0].ravel(), c.gain_k[1].ravel())[0, 1]) < 0.02


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32), H=st.integers(1, 3), W=st.sampled_from([8, 16, 24]),
       D=st.integers(1, 9))
def test_a_cells_draw_depends_only_on_its_seed_head_slot_and_row(seed, H, W, D):
    """Chip draws are counter-based: a smaller layer holds exactly the first heads, slots and
    rows of a larger one, and turning other draws on or off changes nothing."""
    small = gc.AttentionConfig.leroux2025(n_heads=H, head_dim=D, window=W, array_cols=8,
                                          array_rows=max(D, 1), sigma_tau_mismatch=0.2,
                                          sigma_gain_mismatch=0.1)
    big = gc.AttentionConfig.leroux2025(n_heads=4, head_dim=12, window=32, array_cols=8,
                                        array_rows=12, sigma_tau_mismatch=0.2,
                                        sigma_gain_mismatch=0.1, sigma_vth_mismatch=0.01)
    a, b = draw_chip(small, seed_entropy(seed)), draw_chip(big, seed_entropy(seed))
    for name in ("gain_k_code", "gain_v_code", "leak_k_level", "leak_v_level"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name)[:H, :W, :D])


def test_streaming_state_is_compact():
    """Gain and retention mismatch and write noise: 2 bytes per stored value (the uint16
    grid), 2 per gain code, 1 per ln-tau level."""
    cfg = CFG.replace(sigma_write_noise=5e-3, sigma_vth_mismatch=0.0)
    sim = gc.GainCellAttention(cfg)
    x = np.full((1, 3, 64), 0.5)
    sim.step(x, x, x)
    cells = 3 * 512 * 64
    offsets = 3 * 512 * 8 + 3 * 8 * 64 * 8
    assert sim.state_nbytes == 2 * cells * (2 + 2 + 1) + offsets + 256 * 8


def test_write_noise_grid():
    d = CFG.replace(sigma_write_noise=5e-3).device
    wr = Writer(CFG.replace(sigma_write_noise=5e-3))
    assert wr.grid == pytest.approx(d.vdd / 65535) and wr.dtype == np.uint16
    x = np.linspace(0.0, 0.9, 101)
    noise = np.random.default_rng(0).normal(0, 5e-3, x.shape)
    v = wr.voltage(wr.store(x, noise))
    exact = np.clip(np.rint(x / wr.step) * wr.step + noise, 0, d.vdd)
    assert np.abs(v - exact).max() <= wr.grid / 2 + 1e-15
    # a write noise below ten grid steps is stored in float32
    assert Writer(CFG.replace(sigma_write_noise=1e-4)).dtype == np.float32
