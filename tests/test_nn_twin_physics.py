"""The torch twin with the device's static effects and noise equals the NumPy simulator.

With the same seed the twin holds the simulator's static draws (gain mismatch, retention
spread, comparator offsets) as fixed per-cell tensors of ring-buffer slot ``j mod W`` and uses
the simulator's per-token noise streams; its forward equals the reference engine's to 1e-9
(float64) for hypothesis-drawn designs. Noise-aware training samples fresh noise instead.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from nn_support import assert_equal_but_ties, twin_inputs  # noqa: E402

torch.set_num_threads(1)  # small tensors: one thread is fastest on a shared 2-core machine

import gaincell as gc  # noqa: E402
from gaincell.array._draws import draw_chip, seed_entropy  # noqa: E402
from gaincell.nn.attention import GainCellAttention  # noqa: E402

SAT1 = gc.DeviceParams().stage1_q_sat
IV = gc.IVTable.leroux2025()


def _table(v_rest=0.1, tau=2e-5):
    """A non-exponential retention table (level-dependent speed), 4 levels x 6 times."""
    t_s = (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2)
    v0 = (0.0, 0.3, 0.6, 0.9)
    v = tuple(tuple(x - (x - v_rest) * (1 - np.exp(-t / tau)) * (0.5 + 0.5 * x) for t in t_s)
              for x in v0)
    return gc.RetentionTable(t_s=t_s, v0=v0, v=v, t_ref=300.15, source="test: synthetic")




@st.composite
def designs(draw):
    cols = draw(st.sampled_from([4, 8]))
    n_sub = draw(st.integers(1, 3))
    D = draw(st.integers(1, 8))
    o = dict(n_heads=draw(st.integers(1, 2)), head_dim=D, window=cols * n_sub,
             array_cols=cols, array_rows=D,
             cell_model=draw(st.sampled_from(["poly", "linear", "table"])),
             leak_per_step=draw(st.sampled_from([0.0, 1.6e-4, 3e-2])),
             v_rest=draw(st.sampled_from([0.45, 0.02, 0.3, 0.8])))
    if o["cell_model"] == "table":
        o["iv_table"] = IV
    if not draw(st.booleans()):
        o.update(q_levels=None, kv_levels=None, out_levels=None)
    if draw(st.booleans()):
        o["write_pedestal_coef_v"] = draw(st.sampled_from([(-0.03,), (-0.025, 0.02, 0.01)]))
    if draw(st.booleans()):
        o["sigma_vth_mismatch"] = draw(st.sampled_from([0.005, 0.03]))
    if draw(st.booleans()):
        o["retention_table"] = _table()
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
        o.update(read_disturb_coupling=-0.04, read_current_tempco=0.003, temperature=330.0)
    return gc.AttentionConfig.leroux2025(**o)


@settings(max_examples=30)
@given(cfg=designs(), seed=st.integers(0, 10**6), B=st.integers(1, 2),
       t_factor=st.floats(0.3, 2.6))
def test_twin_equals_simulator_with_static_effects_and_noise(cfg, seed, B, t_factor):
    T = max(1, int(cfg.window * t_factor))
    q, k, v = twin_inputs(np.random.default_rng(seed), B, cfg.n_heads, T, cfg.head_dim)
    twin = GainCellAttention(cfg, seed=seed).eval()
    y = twin(*(torch.from_numpy(x) for x in (q, k, v))).numpy()
    r = gc.GainCellAttention(cfg, seed=seed, engine="reference").forward(q, k, v)
    assert_equal_but_ties(y, r, cfg, 2e-3)


def test_twin_equals_simulator_on_a_larger_noisy_design():
    """Every effect at once, T > W (ring buffer wraps), two sub-arrays, the fast engine."""
    cfg = gc.AttentionConfig.leroux2025(
        n_heads=2, head_dim=16, window=128, v_rest=0.05, sigma_gain_mismatch=0.05,
        sigma_tau_mismatch=0.3, leak_per_step=2e-3, sigma_read_noise=0.01 * SAT1,
        sigma_write_noise=0.005, write_noise_ktc=True, sigma_comparator_offset=0.01 * SAT1,
        read_disturb_coupling=-0.03)
    q, k, v = twin_inputs(np.random.default_rng(7), 2, 2, 300, 16)
    y = GainCellAttention(cfg, seed=11)(*(torch.from_numpy(x) for x in (q, k, v))).numpy()
    r = gc.GainCellAttention(cfg, seed=11).forward(q, k, v)
    assert np.abs(r).max() > 0.1
    assert_equal_but_ties(y, r, cfg, 2e-3)
    # another seed is another chip
    r2 = gc.GainCellAttention(cfg, seed=12).forward(q, k, v)
    assert np.abs(r2 - y).max() > 0.05


def test_twin_runs_the_shipped_gf180_design_like_the_simulator():
    """Table cell, write pedestal, measured retention table, Pelgrom threshold mismatch."""
    cfg = gc.load_toml(gc.__path__[0] + "/data/gf180/characterization.toml")
    d = cfg.device
    assert d.cell_model == "table" and d.has_pedestal and d.vth_sigma > 0
    assert d.retention_table is not None
    cfg = cfg.replace(n_heads=1, window=64, token_period=50e-6)   # the table's slope matters
    rng = np.random.default_rng(8)
    shape = (1, 1, 100, 64)
    q, k, v = rng.uniform(0, 1, shape), rng.uniform(0, d.vdd, shape), rng.uniform(0, d.vdd, shape)
    y = GainCellAttention(cfg, seed=2)(*(torch.from_numpy(x) for x in (q, k, v))).numpy()
    r = gc.GainCellAttention(cfg, seed=2).forward(q, k, v)
    assert np.abs(r).max() > 0.1
    assert_equal_but_ties(y, r, cfg, 2e-3)


def test_static_draws_are_the_simulators_and_follow_the_slot():
    cfg = gc.AttentionConfig.leroux2025(n_heads=2, head_dim=4, window=8, array_cols=4,
                                        sigma_gain_mismatch=0.1, sigma_tau_mismatch=0.5,
                                        sigma_comparator_offset=1e-14, pelgrom_avt=5e-9)
    twin = GainCellAttention(cfg, seed=(5, 2))
    chip = draw_chip(cfg, seed_entropy((5, 2)))
    for name in ("gain_k", "gain_v", "leak_k", "leak_v", "off1", "off2", "vth_k", "vth_v"):
        np.testing.assert_array_equal(getattr(twin, name).numpy(), getattr(chip, name))
    # key token j uses the cells of slot j mod W
    cells = twin._cells("k", torch.arange(20) % 8, torch.float64)
    np.testing.assert_array_equal(cells.gain[:, 13].numpy(), chip.gain_k[:, 5])
    np.testing.assert_array_equal(cells.leak[:, 19].numpy(), chip.leak_k[:, 3])
    np.testing.assert_array_equal(cells.vth[:, 10].numpy(), chip.vth_k[:, 2])
    assert "gain_k" not in twin.state_dict()   # derived from (cfg, seed), not checkpointed


def test_noise_aware_training_samples_fresh_noise_eval_uses_the_simulators():
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=8, window=16, array_cols=8,
                                        sigma_read_noise=0.02 * SAT1, sigma_write_noise=0.01,
                                        out_levels=None)
    q, k, v = (torch.from_numpy(x) for x in twin_inputs(np.random.default_rng(3), 2, 1, 20, 8))
    twin = GainCellAttention(cfg, seed=4)
    twin.noise_aware = True
    twin.generator = torch.Generator().manual_seed(0)
    twin.train()
    y1, y2 = twin(q, k, v), twin(q, k, v)
    assert (y1 - y2).abs().max() > 1e-3                      # fresh noise per forward
    twin.generator = torch.Generator().manual_seed(0)
    torch.testing.assert_close(twin(q, k, v), y1, rtol=0, atol=0)   # reproducible
    twin.eval()
    r = gc.GainCellAttention(cfg, seed=4).forward(q.numpy(), k.numpy(), v.numpy())
    np.testing.assert_allclose(twin(q, k, v).numpy(), r, atol=1e-9, rtol=0)
    # not noise-aware: training mode uses the simulator's noise too
    twin.noise_aware = False
    twin.train()
    np.testing.assert_allclose(twin(q, k, v).numpy(), r, atol=1e-9, rtol=0)


def test_gradients_flow_with_every_static_effect():
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=8, window=16, array_cols=8,
                                        v_rest=0.05, sigma_gain_mismatch=0.1,
                                        sigma_tau_mismatch=0.5, leak_per_step=0.01,
                                        sigma_comparator_offset=1e-14, sigma_vth_mismatch=0.01,
                                        write_pedestal_coef_v=(-0.03, 0.02))
    rng = np.random.default_rng(2)
    q = torch.tensor(rng.uniform(0.05, 0.3, (1, 1, 20, 8)), requires_grad=True)
    k = torch.tensor(rng.uniform(0.5, 0.7, (1, 1, 20, 8)), requires_grad=True)
    v = torch.tensor(rng.uniform(0.1, 0.8, (1, 1, 20, 8)), requires_grad=True)
    GainCellAttention(cfg)(q, k, v).sum().backward()
    for x in (q, k, v):
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # the linear cell with per-cell retention is differentiated exactly
    lin = GainCellAttention(cfg.replace(cell_model="linear", q_levels=None, kv_levels=None,
                                        out_levels=None))
    qs, ks, vs = (x.detach()[:, :, :10].clone().requires_grad_() for x in (q, k, v))
    assert torch.autograd.gradcheck(lambda *x: lin(*x), (qs, ks, vs), eps=1e-6, atol=1e-5)
    # ... and with a retention table
    lin_t = GainCellAttention(lin.cfg.replace(retention_table=_table()))
    qs, ks, vs = (x[:, :, :5].detach().clone().requires_grad_() for x in (qs, ks, vs))
    assert torch.autograd.gradcheck(lambda *x: lin_t(*x), (qs, ks, vs), eps=1e-6, atol=1e-5)


def test_noise_aware_training_runs_resumes_and_needs_noise(tmp_path):
    from gaincell.nn.data import CharData
    from gaincell.nn.model import GPT, ModelConfig
    from gaincell.nn.sensitivity import evaluate_with_simulator
    from gaincell.nn.train import TrainSettings, evaluate, train

    rng = np.random.default_rng(0)
    data = CharData("".join(rng.choice(list("abcd efg\n"), size=4000)))
    noise = {"sigma_read_noise": 0.05 * SAT1, "sigma_write_noise": 0.02,
             "sigma_gain_mismatch": 0.05}
    cfg = ModelConfig(vocab_size=data.vocab_size, block_size=64, n_layer=1, n_head=1,
                      n_embd=64, window=64, attention="nonlinear", hw_overrides=noise,
                      hw_seed=3)
    val = data.fixed_batches("val", 1, 2, 64, 0)
    st = TrainSettings(iters=4, lr=1e-3, min_lr=1e-4, warmup=1, batch_size=2, eval_every=2,
                       ckpt_every=2)
    ref = GPT(cfg)
    h = train(ref, data, st, val, tmp_path / "a.pt", progress=False, noise_aware=True)
    assert all(np.isfinite(v) for _, v in h["train"])
    assert "noise_generator" in torch.load(tmp_path / "a.pt", weights_only=False)
    assert not ref.attentions()[0].core.noise_aware   # switched off after training

    def stop(desc, it):
        if it == 3:
            raise KeyboardInterrupt
    m = GPT(cfg)
    with pytest.raises(KeyboardInterrupt):
        train(m, data, st, val, tmp_path / "b.pt", progress=False, noise_aware=True,
              callback=stop)
    h2 = train(m, data, st, val, tmp_path / "b.pt", progress=False, noise_aware=True)
    # resumed: the same batches and the same sampled noise as the uninterrupted run
    assert [v for _, v in h2["train"]] == pytest.approx([v for _, v in h["train"]], abs=1e-6)
    # its loss under the simulator's noise and draws (chips hw_seed + layer) is the twin's
    assert evaluate_with_simulator(ref, val) == pytest.approx(evaluate(ref, val), abs=2e-3)
    quiet = GPT(cfg.replace(hw_overrides={"sigma_gain_mismatch": 0.05}))
    with pytest.raises(ValueError, match="no read or write noise"):
        train(quiet, data, st, val, tmp_path / "c.pt", progress=False, noise_aware=True)
