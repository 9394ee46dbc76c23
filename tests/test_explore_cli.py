"""`gaincell explore` and `gaincell sweep` on the command line."""

import csv
import json

import numpy as np
import pyarrow.parquet as pq

import gaincell
from gaincell.cli import build_parser, main


def test_commands_are_registered():
    sub = build_parser()._subparsers._group_actions[0]
    assert {"explore", "sweep"} <= set(sub.choices)
    assert callable(gaincell.explore) and gaincell.explore.Study is not None


def test_explore_lhs_with_a_recorded_workload(tmp_path, capsys):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "qkv.npz", q=rng.uniform(0, 1, (1, 2, 12, 64)),
             k=rng.uniform(0, 0.9, (1, 2, 12, 64)), v=rng.uniform(0, 0.9, (1, 2, 12, 64)))
    (tmp_path / "d.toml").write_text("[attention]\nn_heads = 2\nwindow = 128\n")
    out = tmp_path / "o"
    rc = main(["explore", "--config", str(tmp_path / "d.toml"), "--set",
               "device.sigma_read_noise=0:2e-14", "--set", "device.kv_levels=4,8",
               "--sample", "lhs", "--n", "6", "--chips", "2", "--workload",
               str(tmp_path / "qkv.npz"), "--workers", "0", "--out", str(out),
               "--no-progress"])
    assert rc == 0, capsys.readouterr().err
    assert "6 of 6 points" in capsys.readouterr().out
    t = pq.read_table(out / "results.parquet").to_pylist()
    assert len(t) == 6 and all(r["status"] == "ok" for r in t)
    assert all(0 <= r["device.sigma_read_noise"] <= 2e-14 for r in t)
    assert {r["device.kv_levels"] for r in t} == {4, 8}
    rec = json.loads((out / "run.json").read_text())
    assert rec["study"]["workload"]["kind"] == "npz" and rec["study"]["sample"] == "lhs"
    assert (out / "pareto_energy.svg").exists() and (out / "report.md").exists()
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["index"] for r in rows] == [str(r["index"]) for r in t]


def test_sweep_is_cost_only_and_streams_its_csv(tmp_path):
    out = tmp_path / "s.csv"
    assert main(["sweep", "--set", "device.sigma_read_noise=0,1e-15", "--set",
                 "system.technology_nm=28,65", "--out", str(out), "--no-progress"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4
    assert [r["device.sigma_read_noise"] for r in rows] == ["0", "0", "1e-15", "1e-15"]
    assert [r["technology_nm"] for r in rows] == ["28.0", "65.0", "28.0", "65.0"]
    assert main(["sweep", "--set", "device.tau=1e-3:1e-2", "--out", str(out)]) == 2


def test_run_json_keeps_the_study_file(tmp_path):
    text = '[study]\nchips = 0\n[space]\nwindow = [128, 256]\n"system.n_layers" = [6, 12]\n'
    (tmp_path / "s.toml").write_text(text)
    out = tmp_path / "o"
    assert main(["explore", str(tmp_path / "s.toml"), "--workers", "0", "--out", str(out),
                 "--no-progress"]) == 0
    rec = json.loads((out / "run.json").read_text())
    assert rec["study_file"]["text"] == text and rec["n_points"] == 4
    assert rec["git_commit"] is None or len(rec["git_commit"]) == 40
    md = (out / "report.md").read_text()
    assert "## Cost only (chips = 0)" in md and "system.n_layers" in md
    t = pq.read_table(out / "results.parquet")
    assert "rel_rms_ideal_mean" not in t.column_names
    assert sorted(t.column("system.n_layers").to_pylist()) == [6, 6, 12, 12]
