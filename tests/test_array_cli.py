import json

import numpy as np
import pytest

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


def test_simulate_chips_writes_csv_and_spread(tmp_path, capsys):
    cfg = gc.AttentionConfig.leroux2025(n_heads=2, head_dim=8, window=16, array_cols=8,
                                        sigma_gain_mismatch=0.05, sigma_read_noise=1e-14)
    design = gc.save_toml(cfg, tmp_path / "noisy.toml")
    out = tmp_path / "mc"
    assert main(["simulate", "--config", str(design), "--tokens", "20", "--chips", "3",
                 "--seed", "4", "--out", str(out)]) == 0
    import csv
    rows = list(csv.DictReader((out / "chips.csv").open()))
    assert [r["chip"] for r in rows] == ["0", "1", "2"]
    s = json.loads((out / "summary.json").read_text())
    spread = s["chips"]["spread"]["rel_rms_vs_clean"]
    vals = np.array([float(r["rel_rms_vs_clean"]) for r in rows])
    assert spread["mean"] == pytest.approx(vals.mean())
    assert spread["std"] == pytest.approx(vals.std(ddof=1))
    assert (out / "outputs.npz").is_file() and (out / "activity.json").is_file()
    assert main(["simulate", "--tokens", "4", "--chips", "-1", "--out", str(tmp_path / "x")]) == 2
    assert "--chips" in capsys.readouterr().err


def test_simulate_inputs_truncated_npz_and_npy_are_one_line_errors(tmp_path, capsys):
    """Issue 15, defect 9: BadZipFile and TypeError tracebacks before."""
    design, _ = small_design(tmp_path)
    x = np.zeros((1, 2, 4, 8))
    np.savez(tmp_path / "good.npz", q=x, k=x, v=x)
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    np.save(tmp_path / "one.npy", x)
    out = tmp_path / "sim"
    for name, expect in (("cut.npz", "cut.npz: cannot read"), ("one.npy", "one.npy: holds a "
                                                                          "single array")):
        assert main(["simulate", "--config", str(design), "--inputs", str(tmp_path / name),
                     "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert expect in err and "expected an .npz file with arrays q, k, v" in err
        assert err.count("\n") == 1
    assert not out.exists()


def test_simulate_refuses_a_run_that_exceeds_memory_before_starting(tmp_path, capsys,
                                                                    monkeypatch):
    """Issue 15, defect 2: the run failed after the simulation, writing nothing."""
    from gaincell.commands import simulate as acli

    monkeypatch.setattr(acli, "available_memory", lambda: 300 * 2**20)
    out = tmp_path / "sim"
    assert main(["simulate", "--tokens", "4096", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "needs about" in err and "GiB" in err and "--stream" in err
    assert not out.exists()


@pytest.mark.slow
def test_simulate_stream_8192_tokens_stays_under_1_gb(tmp_path):
    """Issue 15, defect 2: the ideal reference built dense (B, H, T, T) arrays.

    One head of the preset (window 1024) keeps the run short; the dense reference alone
    would need 8 * 8192^2 = 0.5 GB per array.
    """
    import subprocess
    import sys

    cfg = gc.AttentionConfig.leroux2025(n_heads=1)
    design = gc.save_toml(cfg, tmp_path / "one_head.toml")
    code = ("import resource, sys\n"
            "from gaincell.cli import main\n"
            "rc = main(['simulate', '--stream', '--tokens', '8192', '--config', sys.argv[1], "
            "'--out', sys.argv[2]])\n"
            "print(rc, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    env = {**__import__("os").environ, "GAINCELL_THREADS": "1", "TQDM_DISABLE": "1"}
    r = subprocess.run([sys.executable, "-c", code, str(design), str(tmp_path / "s")],
                       capture_output=True, text=True, env=env, check=True)
    rc, kib = r.stdout.split()[-2:]
    assert rc == "0"
    assert int(kib) * 1024 < 2**30, f"peak RSS {int(kib) / 1024:.0f} MiB"
    with np.load(tmp_path / "s" / "outputs.npz") as f:
        assert f["y"].shape == (1, 1, 8192, 64)
