"""The torch gain-cell attention equals the NumPy simulator and a slow reference of docs/design.md;
its gradients are the documented straight-through / surrogate ones; bad settings fail fast."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from nn_support import assert_equal_but_ties, twin_inputs  # noqa: E402

torch.set_num_threads(1)  # small tensors: one thread is fastest on a shared 2-core machine

import gaincell  # noqa: E402
from gaincell.device.transfer import CellTransfer  # noqa: E402
from gaincell.nn.attention import (  # noqa: E402
    GainCellAttention,
    _Cells,
    softmax_attention,
    window_decay,
)
from gaincell.nn.model import GPT, ModelConfig  # noqa: E402
from gaincell.nn.quant import quantize_ste  # noqa: E402
from gaincell.params import AttentionConfig  # noqa: E402


def _qz(x, lo, hi, L):
    x = np.clip(x, lo, hi)
    if L is None:
        return x
    s = (hi - lo) / (L - 1)
    return np.round(x / s) * s


def _slow_reference(cfg, q, k, v):
    """Loop-by-loop docs/design.md semantics (independent of both implementations)."""
    d = cfg.device
    a = CellTransfer(d).read_poly_ua()
    B, H, T, D = q.shape
    W, C = cfg.window, cfg.array_cols
    qq = _qz(q, d.q_lo, d.q_hi, d.q_levels)
    wk = _qz(k, d.kv_lo, d.kv_hi, d.kv_levels) - d.v_weight_zero
    wv = _qz(v, d.kv_lo, d.kv_hi, d.kv_levels) - d.v_weight_zero
    out = np.zeros((B, H, T, D))
    for b in range(B):
        for h in range(H):
            for t in range(T):
                A = np.zeros((W // C, D))
                for j in range(max(0, t - W + 1), t + 1):
                    dec = np.exp(-(t - j) * cfg.leak_per_step)
                    S = sum(a[i] * dec**i * np.dot(qq[b, h, t], wk[b, h, j] ** i)
                            for i in range(4))
                    phi = min(max(S / d.stage1_sat_ua_tmax, 0.0), 1.0)
                    A[(j % W) // C] += sum(a[i] * phi * dec**i * wv[b, h, j] ** i
                                           for i in range(4))
                out[b, h, t] = _qz(A / d.stage2_sat_ua_tmax, d.out_lo, d.out_hi,
                                   d.out_levels).sum(0)
    return out




PRESETS = {
    "leroux2025": {},
    "no-quant-no-leak": dict(q_levels=None, kv_levels=None, out_levels=None, leak_per_step=0.0),
    "strong-leak": dict(leak_per_step=0.02),
    "linear-cell": dict(cell_model="linear"),
    "fine-quant": dict(q_levels=64, kv_levels=32, out_levels=128, leak_per_step=1e-3),
}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_forward_equals_numpy_simulator(name):
    # T > W: the sliding window and ring buffer act; W = 128: two sub-arrays per head
    cfg = AttentionConfig.leroux2025(n_heads=2, head_dim=64, window=128, **PRESETS[name])
    q, k, v = twin_inputs(np.random.default_rng(1), 2, 2, 200, 64)
    y = GainCellAttention(cfg)(*(torch.from_numpy(x) for x in (q, k, v))).numpy()
    r = gaincell.GainCellAttention(cfg, seed=0).forward(q, k, v)
    assert y.shape == r.shape == (2, 2, 200, 64)
    assert np.abs(r).max() > 0.1  # the comparison is not trivially between zeros
    assert_equal_but_ties(y, r, cfg, 1e-3)


@pytest.mark.parametrize("name", ["leroux2025", "no-quant-no-leak", "strong-leak"])
def test_forward_equals_slow_reference(name):
    cfg = AttentionConfig.leroux2025(n_heads=1, head_dim=64, window=64, **PRESETS[name])
    q, k, v = twin_inputs(np.random.default_rng(2), 1, 1, 90, 64)
    y = GainCellAttention(cfg)(*(torch.from_numpy(x) for x in (q, k, v))).numpy()
    assert_equal_but_ties(y, _slow_reference(cfg, q, k, v), cfg, 1e-3)


def test_float32_close_to_float64():
    cfg = AttentionConfig.leroux2025(n_heads=1, head_dim=64, window=64,
                                     q_levels=None, kv_levels=None, out_levels=None)
    q, k, v = (torch.from_numpy(x) for x in twin_inputs(np.random.default_rng(3), 1, 1, 64, 64))
    att = GainCellAttention(cfg)
    y64 = att(q, k, v)
    y32 = att(q.float(), k.float(), v.float())
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), y64, atol=1e-4, rtol=1e-4)


def test_quantizer_matches_numpy_and_is_straight_through():
    from gaincell.device.quantize import quantize

    x = torch.linspace(-0.3, 1.3, 1001, dtype=torch.float64, requires_grad=True)
    y = quantize_ste(x, 0.0, 1.0, 16)
    np.testing.assert_array_equal(y.detach().numpy(), quantize(x.detach().numpy(), 0, 1, 16))
    y.sum().backward()
    inside = ((x >= 0) & (x <= 1)).double()
    torch.testing.assert_close(x.grad, inside)
    # ties to even, like numpy: 0.5 and 1.5 steps round to 0 and 2 steps
    t = torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64) * (1 / 15)
    np.testing.assert_allclose(quantize_ste(t, 0.0, 1.0, 16).numpy(),
                               np.array([0, 2, 2]) / 15, atol=1e-15)
    with pytest.raises(ValueError, match="levels"):
        quantize_ste(x, 0.0, 1.0, 1)


def test_surrogate_gradients_are_the_linear_fit():
    """The nonlinear cell's backward is the gradient of g * q.w * d (g = 19.3 uA/V)."""
    cfg = AttentionConfig.leroux2025(n_heads=1, head_dim=64, window=64, array_cols=32,
                                     leak_per_step=0.01)
    g = cfg.device.linear_gain_ua_per_v
    assert g == 19.3
    att = GainCellAttention(cfg)
    a = tuple(CellTransfer(cfg.device).read_poly_ua())
    cells = _Cells(gain=None, c=0.0, b=list(a), leak=None)
    rng = np.random.default_rng(4)
    T, D = 70, 64
    dpow, dpow_g, groups, age, valid, _ = att._decay_tables(T, torch.float64, None)
    assert torch.equal(dpow, window_decay(T, 64, 0.01))
    q = torch.tensor(rng.uniform(0, 1, (1, 1, T, D)), requires_grad=True)
    w = torch.tensor(rng.uniform(-0.45, 0.45, (1, 1, T, D)), requires_grad=True)
    up = torch.tensor(rng.standard_normal((1, 1, T, T)))
    (att._dot1(q, w + 0.45, cells, dpow, age, valid) * up).sum().backward()  # V = w + v_rest
    q2, w2 = q.detach().clone().requires_grad_(), w.detach().clone().requires_grad_()
    ((g * (q2 @ w2.transpose(-1, -2)) * dpow[1]) * up).sum().backward()
    torch.testing.assert_close(q.grad, q2.grad)
    torch.testing.assert_close(w.grad, w2.grad)
    # second dot product, two sub-arrays
    assert groups.shape == (2, 1, T)
    phi = torch.tensor(rng.uniform(0, 1, (1, 1, T, T)), requires_grad=True)
    up = torch.tensor(rng.standard_normal((1, 1, 2, T, D)))
    (att._dot2(phi, w + 0.45, cells, dpow_g, age, valid, groups) * up).sum().backward()
    p2, w3 = phi.detach().clone().requires_grad_(), w.detach().clone().requires_grad_()
    ((g * (p2.unsqueeze(2) * dpow_g[1]) @ w3.unsqueeze(2)) * up).sum().backward()
    torch.testing.assert_close(phi.grad, p2.grad)
    torch.testing.assert_close(w.grad - w2.grad, w3.grad)  # w.grad accumulated QK's part


def test_linear_cell_gradient_is_exact():
    cfg = AttentionConfig.leroux2025(n_heads=1, head_dim=64, window=64, cell_model="linear",
                                     q_levels=None, kv_levels=None, out_levels=None)
    rng = np.random.default_rng(5)
    q = torch.tensor(rng.uniform(0.05, 0.3, (1, 1, 8, 64)), requires_grad=True)
    k = torch.tensor(rng.uniform(0.5, 0.7, (1, 1, 8, 64)), requires_grad=True)  # S > 0
    v = torch.tensor(rng.uniform(0.1, 0.8, (1, 1, 8, 64)), requires_grad=True)
    att = GainCellAttention(cfg)
    assert torch.autograd.gradcheck(lambda *x: att(*x), (q, k, v), eps=1e-6, atol=1e-5)


def test_softmax_attention_sliding_window():
    rng = np.random.default_rng(6)
    q, k, v = (torch.tensor(rng.standard_normal((1, 1, 10, 4))) for _ in range(3))
    y = softmax_attention(q, k, v, window=3)
    for t in range(10):
        js = range(max(0, t - 2), t + 1)
        s = torch.stack([q[0, 0, t] @ k[0, 0, j] / 2.0 for j in js])
        ref = (torch.softmax(s, 0)[:, None] * v[0, 0, list(js)]).sum(0)
        torch.testing.assert_close(y[0, 0, t], ref)


def test_model_variants_train_and_share_weights():
    cfg = ModelConfig(vocab_size=11, block_size=64, n_layer=1, n_head=1, n_embd=64,
                      window=64, attention="softmax")
    soft = GPT(cfg)
    x = torch.randint(0, 11, (2, 64), generator=torch.Generator().manual_seed(0))
    for variant in ("linear", "nonlinear"):
        m = soft.with_variant(variant)
        assert m.cfg.attention == variant
        torch.testing.assert_close(m.wte.weight, soft.wte.weight)
        _, loss = m(x, x)
        loss.backward()
        sc = m.attentions()[0].scalers
        for n in ("q", "k", "v", "out"):
            assert torch.isfinite(sc[n].a.grad).all()
        assert sc["out"].a.grad.abs().sum() > 0


def test_bad_settings_fail_fast():
    with pytest.raises(ValueError, match="window = 256 is larger than the context"):
        ModelConfig(block_size=128, window=256)
    with pytest.raises(ValueError, match="head_dim = 64"):
        ModelConfig(n_embd=96, n_head=3, window=64, block_size=64)
    with pytest.raises(ValueError, match="multiple of array_cols"):
        ModelConfig(window=96, block_size=128)
    with pytest.raises(ValueError, match="attention"):
        ModelConfig(attention="flash")
    cfg = AttentionConfig.leroux2025(n_heads=2, head_dim=64, window=64)
    att = GainCellAttention(cfg)
    z = torch.zeros(1, 2, 8, 32)
    with pytest.raises(ValueError, match="head_dim = 64"):
        att(z, z, z)
    z = torch.zeros(1, 3, 8, 64)
    with pytest.raises(ValueError, match="n_heads = 2"):
        att(z, z, z)
    m = GPT(ModelConfig(vocab_size=5, block_size=64, n_layer=1, n_head=1, n_embd=64))
    with pytest.raises(ValueError, match="block_size"):
        m(torch.zeros(1, 65, dtype=torch.long))


def test_refuses_what_it_does_not_model_and_nan_inputs():
    from gaincell.nn import GainCellAttention as TorchAttention

    with pytest.raises(ValueError, match="AttentionConfig"):
        TorchAttention({"window": 64})
    att = TorchAttention(AttentionConfig.leroux2025(n_heads=1, head_dim=4, window=64))
    x = torch.full((1, 1, 3, 4), 0.5, dtype=torch.float64)
    bad = x.clone()
    bad[0, 0, 1, 2] = float("nan")
    with pytest.raises(ValueError, match="q contains NaN"):
        att(bad, x, x)
