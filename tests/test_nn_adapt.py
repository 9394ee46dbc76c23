"""The adaptation algorithm: the paper's update rules and schedule, convergence report."""

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # small tensors: one thread is fastest on a shared 2-core machine

from gaincell.nn.adapt import adapt, init_from_float, record_targets, scaler_stats  # noqa: E402
from gaincell.nn.model import GPT, ModelConfig  # noqa: E402


def _models(n_layer=2):
    cfg = ModelConfig(vocab_size=13, block_size=64, n_layer=n_layer, n_head=2, n_embd=128,
                      window=64, attention="softmax")
    soft = GPT(cfg, seed=3)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 13, (4, 64), generator=g)
    batch = (x, torch.roll(x, -1, 1))
    lin = soft.with_variant("linear")
    init_from_float(lin, soft, batch)
    return soft, lin, batch


def test_adapt_recovers_a_perturbed_input_scaler_exactly():
    """Layer 0's q input is the same in both models, so its statistics are affine in (a, b):
    one full step (alpha = 1) restores the reference gain and offset."""
    _, lin, batch = _models(n_layer=1)
    targets = record_targets(lin, [batch], scalers=("q",))
    ref_a = lin.attentions()[0].scalers["q"].a.detach().clone()
    ref_b = lin.attentions()[0].scalers["q"].b.detach().clone()
    other = lin.with_variant("linear")
    other.attentions()[0].scalers["q"].a.data *= torch.tensor([2.0, 0.5])
    other.attentions()[0].scalers["q"].b.data += torch.tensor([0.3, -0.2])
    rep = adapt(other, targets, batch, scalers=("q",))
    assert rep.converged
    assert rep.history[0]["alpha"] == 1.0
    torch.testing.assert_close(other.attentions()[0].scalers["q"].a.data, ref_a, atol=1e-5,
                               rtol=1e-5)
    torch.testing.assert_close(other.attentions()[0].scalers["q"].b.data, ref_b, atol=1e-4,
                               rtol=0)


def test_adapt_nonlinear_to_linear_statistics_and_schedule():
    _, lin, batch = _models()
    nl = lin.with_variant("nonlinear")
    targets = record_targets(lin, [batch])
    before, loss0 = scaler_stats(nl, batch)
    rep = adapt(nl, targets, batch, max_iter=60)
    after, _ = scaler_stats(nl, batch)
    err = {k: float((after[k][1] - targets[k][1]).abs().max()) for k in targets}
    err0 = {k: float((before[k][1] - targets[k][1]).abs().max()) for k in targets}
    # the output scalers are where the linear and nonlinear models differ
    for li in range(2):
        assert err[(li, "out")] < 0.1 * err0[(li, "out")] + 1e-4
    h = rep.history
    assert h[0]["iter"] == 0 and len(h) >= 2
    if len(h) > 3:  # linear schedule 1 -> 0.1 over 50 iterations
        assert h[1]["alpha"] == pytest.approx(1 - 0.9 / 49)
    assert h[-1]["max_std_err"] < h[0]["max_std_err"]
    assert "adaptation" in rep.summary()
    assert rep.to_dict()["tol"] == 1e-4


def test_adapt_reports_non_convergence_honestly():
    _, lin, batch = _models(n_layer=1)
    nl = lin.with_variant("nonlinear")
    targets = record_targets(lin, [batch])
    rep = adapt(nl, targets, batch, tol=1e-12, max_iter=3)
    assert not rep.converged
    assert rep.iterations == 3
    assert len(rep.history) == 4  # 3 updates, then the state they left
    assert "not converged" in rep.summary()


def test_adapt_bad_arguments():
    soft, lin, batch = _models(n_layer=1)
    targets = record_targets(lin, [batch])
    with pytest.raises(ValueError, match="scalers"):
        adapt(lin, targets, batch, scalers=("w",))
    with pytest.raises(ValueError, match="softmax"):
        adapt(soft, targets, batch)
    with pytest.raises(ValueError, match="max_iter"):
        adapt(lin, targets, batch, max_iter=0)
    with pytest.raises(ValueError, match="targets lack"):
        adapt(lin, {}, batch)
    with pytest.raises(ValueError, match="batches is empty"):
        record_targets(lin, [])
