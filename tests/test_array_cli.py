import json

import numpy as np

import gaincell as gc
from gaincell.cli import main


def small_design(tmp_path):
    cfg = gc.AttentionConfig.leroux2025(n_heads=2, head_dim=8, window=16, array_cols=8)
    return gc.save_toml(cfg, tmp_path / "small.toml"), cfg


def test_simulate_writes_outputs_activity_and_summary(tmp_path, capsys):
    design, cfg = small_design(tmp_path)
    rng = np.random.default_rng(0)
    q, k, v = rng.uniform(0, 0.9, (3, 1, 2, 20, 8))
    np.savez(tmp_path / "qkv.npz", q=q, k=k, v=v)
    out = tmp_path / "sim"
    assert main(["simulate", "--config", str(design), "--inputs", str(tmp_path / "qkv.npz"),
                 "--out", str(out), "--save-trace"]) == 0
    with np.load(out / "outputs.npz") as f:
        np.testing.assert_array_equal(f["y"], gc.GainCellAttention(cfg).forward(q, k, v))
        assert f["phi"].shape == (1, 2, 20, 16)
    act = json.loads((out / "activity.json").read_text())
    assert act["queries"] == 40 and act["tokens"] == 20
    assert "correlation" in (out / "summary.md").read_text()
    # streaming gives the same outputs, and the report reads the activity back
    assert main(["simulate", "--config", str(design), "--inputs", str(tmp_path / "qkv.npz"),
                 "--out", str(tmp_path / "sim2"), "--stream"]) == 0
    with np.load(out / "outputs.npz") as a, np.load(tmp_path / "sim2" / "outputs.npz") as b:
        np.testing.assert_allclose(a["y"], b["y"], atol=1e-12)
    assert main(["report", "--config", str(design), "--activity", str(out / "activity.json"),
                 "--out", str(tmp_path / "rep"), "--no-figures"]) == 0
    assert "data-dependent" in (tmp_path / "rep" / "report.md").read_text()


def test_simulate_bad_inputs_exit_2_and_write_nothing(tmp_path, capsys):
    design, _ = small_design(tmp_path)
    np.savez(tmp_path / "bad.npz", q=np.zeros((1, 2, 4, 8)), k=np.zeros((1, 2, 4, 8)))
    out = tmp_path / "sim"
    assert main(["simulate", "--config", str(design), "--inputs", str(tmp_path / "bad.npz"),
                 "--out", str(out)]) == 2
    assert "missing array(s) ['v']" in capsys.readouterr().err
    np.savez(tmp_path / "nan.npz", q=np.full((1, 2, 4, 8), np.nan), k=np.zeros((1, 2, 4, 8)),
             v=np.zeros((1, 2, 4, 8)))
    assert main(["simulate", "--config", str(design), "--inputs", str(tmp_path / "nan.npz"),
                 "--out", str(out)]) == 2
    assert main(["simulate", "--tokens", "0", "--out", str(out)]) == 2
    assert not out.exists()


def test_simulate_unreadable_config_exits_2(tmp_path, capsys):
    assert main(["simulate", "--config", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "cannot read" in capsys.readouterr().err
