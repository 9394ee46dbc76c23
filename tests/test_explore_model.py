"""`--model RUN_DIR`: the validation loss of a trained model with the simulator in every layer."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gaincell.explore import build_study, run_study  # noqa: E402
from gaincell.explore.model_loss import _model_and_batches  # noqa: E402


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A model-demo run folder: the tiny settings and a (random-weight) nonlinear model."""
    from gaincell.nn.data import CharData
    from gaincell.nn.model import GPT
    from gaincell.nn.pipeline import PipelineSettings
    from gaincell.nn.train import save_torch

    d = tmp_path_factory.mktemp("run")
    s = PipelineSettings.tiny(sens_batches=1, sens_batch_size=2)
    vocab = CharData.from_file(s.data_path, max_chars=s.max_chars).vocab_size
    model = GPT(s.model_config(vocab).replace(attention="nonlinear"), seed=0)
    save_torch({"model": model.state_dict(), "model_cfg": model.cfg.to_dict()},
               d / "nonlinear.pt")
    (d / "state.json").write_text(json.dumps({"settings": s.to_dict()}))
    return d


def test_val_loss_equals_a_direct_evaluation(run_dir, tmp_path):
    from gaincell.nn.sensitivity import evaluate_with_simulator

    st = build_study({"study": {"chips": 0},
                      "space": {"device.kv_levels": [4, 8], "system.n_layers": [6]}},
                     overrides={"model": str(run_dir)})
    res = run_study(st, tmp_path / "o", workers=0, progress=False)
    assert res.complete and res.n_failed == 0
    import pyarrow.parquet as pq

    rows = pq.read_table(tmp_path / "o" / "results.parquet").sort_by("index").to_pylist()
    model, batches = _model_and_batches(str(run_dir))
    for r in rows:
        seed = int(np.random.SeedSequence(0, spawn_key=(4, r["index"])).generate_state(1)[0])
        ref = evaluate_with_simulator(model, batches, overrides={"kv_levels":
                                                                 r["device.kv_levels"]},
                                      seed=seed)
        assert r["val_loss"] == ref and np.isfinite(ref)
    assert rows[0]["val_loss"] != rows[1]["val_loss"]


def test_model_studies_refuse_geometry_axes_and_bad_folders(run_dir, tmp_path):
    with pytest.raises(ValueError, match=r"the axes \['window'\] change what the trained "
                                         r"model fixes"):
        build_study({"space": {"window": [64]}}, overrides={"model": str(run_dir)})
    with pytest.raises(ValueError, match="no state.json"):
        build_study({"space": {"device.kv_levels": [4]}}, overrides={"model": str(tmp_path)})
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['chipz'\]"):
        build_study({"space": {"device.kv_levels": [4]}}, overrides={"chipz": 2})


def test_recorded_qkv_feed_a_workload(run_dir, tmp_path):
    """gaincell.nn.record_qkv: the scaler outputs of a layer, saved as an explore workload."""
    from gaincell.explore.workload import Workload
    from gaincell.nn import record_qkv, save_qkv

    model, batches = _model_and_batches(str(run_dir))
    x = batches[0][0][:, :32]
    rec = record_qkv(model, x, layer=0)
    B, T = x.shape
    H, D = model.cfg.n_head, model.cfg.head_dim
    assert rec["q"].shape == rec["k"].shape == (B, H, T, D) and rec["q"].dtype == np.float64
    # oracle: layer 0's input projections and scalers, computed by hand
    with torch.no_grad():
        h = model.blocks[0].ln_1(model.wte(x) + model.wpe(torch.arange(T)))
        att = model.attentions()[0]
        for n, part in zip("qkv", att.c_attn(h).split(model.cfg.n_embd, dim=2)):
            want = att.scalers[n](part.view(B, T, H, D).transpose(1, 2)).double().numpy()
            assert np.array_equal(rec[n], want), n
    save_qkv(tmp_path / "qkv.npz", rec)
    cfg = model.attentions()[0].core.cfg
    q, k, v = Workload(kind="npz", path=tmp_path / "qkv.npz", heads=H).arrays(cfg, 0)
    assert np.array_equal(q, rec["q"]) and np.array_equal(v, rec["v"])
    with pytest.raises(ValueError, match="layer = 3 is invalid"):
        record_qkv(model, x, layer=3)
