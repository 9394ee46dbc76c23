"""Validation loss with the NumPy simulator plugged into inference."""

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # tiny tensors: one thread is fastest on a shared 2-core machine

from gaincell.nn.adapt import init_from_float  # noqa: E402
from gaincell.nn.model import GPT, ModelConfig  # noqa: E402
from gaincell.nn.sensitivity import (  # noqa: E402
    ATTENTION_LAYER_S,
    LAYERS_PER_TOKEN,
    default_sweeps,
    evaluate_with_simulator,
    sensitivity_sweeps,
)
from gaincell.nn.train import evaluate  # noqa: E402


@pytest.fixture(scope="module")
def model_and_batches():
    cfg = ModelConfig(vocab_size=9, block_size=128, n_layer=1, n_head=1, n_embd=64,
                      window=64, attention="softmax")
    soft = GPT(cfg, seed=1)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 9, (3, 128), generator=g)
    batches = [(x, torch.roll(x, -1, 1))]
    nl = soft.with_variant("nonlinear")
    init_from_float(nl, soft, batches[0])
    return nl, batches


def test_simulator_in_the_loop_matches_torch_twin(model_and_batches):
    nl, batches = model_and_batches
    loss_torch = evaluate(nl, batches)
    loss_sim = evaluate_with_simulator(nl, batches)
    # float32 torch vs float64 simulator: equal up to rare rounding ties
    assert loss_sim == pytest.approx(loss_torch, abs=2e-3)
    assert all(a.simulator is None for a in nl.attentions())  # restored


def test_noise_is_seeded_and_changes_the_outputs(model_and_batches):
    nl, batches = model_and_batches
    sat = nl.attentions()[0].core.cfg.device.stage1_q_sat
    ov = {"sigma_read_noise": 0.2 * sat, "sigma_gain_mismatch": 0.2}
    a = evaluate_with_simulator(nl, batches, ov, seed=3)
    b = evaluate_with_simulator(nl, batches, ov, seed=3)
    c = evaluate_with_simulator(nl, batches, ov, seed=4)
    assert a == b
    assert a != c
    assert a != evaluate_with_simulator(nl, batches)


def test_sweeps_structure(model_and_batches):
    nl, batches = model_and_batches
    sw = {"retention": dict(default_sweeps()["retention"])}
    sw["retention"]["values"] = [0.0, 0.5]
    sw["retention"]["x"] = [float("inf"), 1.6e-6]
    out = sensitivity_sweeps(nl, batches, sw, progress=False)
    assert len(out["retention"]["loss"]) == 2
    assert out["retention"]["loss"][0] != out["retention"]["loss"][1]  # strong leak matters
    assert set(default_sweeps()) == {"retention", "kv_levels", "q_levels", "out_levels",
                                     "read_noise", "gain_mismatch", "temperature",
                                     "token_period"}
    assert out["retention"]["attn_err"][0] > 0   # leakage off differs from the design


def test_temperature_and_token_period_sweeps():
    sw = default_sweeps()
    t = sw["temperature"]
    assert t["x"][0] == 27.0 and t["x"][-1] == 85.0
    assert t["values"] == pytest.approx([300.15, 318.15, 338.15, 358.15])
    tp = sw["token_period"]
    assert tp["values"][0] == 800e-9          # the preset, exactly
    for p, o in zip(tp["values"], tp["overhead_per_layer_s"]):
        assert p == pytest.approx(LAYERS_PER_TOKEN * (ATTENTION_LAYER_S + o), rel=1e-12)
    assert tp["values"] == sorted(tp["values"]) and tp["values"][-1] > 1e-4


def test_attention_error_grows_with_temperature(model_and_batches):
    nl, batches = model_and_batches
    cfg = nl.attentions()[0].core.cfg
    hot = cfg.replace(temperature=358.15)
    assert hot.leak_per_step > 20 * cfg.leak_per_step   # tau(85 C) by Arrhenius
    l0, e0 = evaluate_with_simulator(nl, batches, return_error=True)
    l1, e1 = evaluate_with_simulator(nl, batches, {"temperature": 358.15}, return_error=True)
    l2, e2 = evaluate_with_simulator(nl, batches, {"token_period": 100e-6}, return_error=True)
    assert e0 < 1e-3 < e1 < e2   # the design itself: the twin equals the simulator
    assert l0 == evaluate_with_simulator(nl, batches)


def test_softmax_model_is_refused():
    soft = GPT(ModelConfig(vocab_size=5, block_size=64, n_layer=1, n_head=1, n_embd=64))
    with pytest.raises(ValueError, match="softmax"):
        evaluate_with_simulator(soft, [])
