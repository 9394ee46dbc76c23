"""Running studies: serial and on a real two-worker Dask LocalCluster, bit for bit; resume
after an interruption; failing points recorded; tables valid at every exit."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import gaincell.system as gs
from gaincell.explore import Space, Study, Workload, explore, run_study
from gaincell.explore.space import parse_axis
from gaincell.params import AttentionConfig

BASE = AttentionConfig.leroux2025(n_heads=2, window=128)


def study(chips=2, seed=0):
    axes = [parse_axis("window", [64, 128]), parse_axis("array_cols", [64, 128]),
            parse_axis("device.kv_levels", [4, 8]),
            parse_axis("device.sigma_read_noise", [0.0, 1e-14])]
    return Study(space=Space(axes, seed=seed), cfg=BASE, spec=gs.SystemSpec(), chips=chips,
                 workload=Workload(tokens=16, heads=1))


def table(out) -> pa.Table:
    return pq.read_table(Path(out) / "results.parquet").sort_by("index").drop(["eval_s"])


def assert_bit_equal(a: pa.Table, b: pa.Table):
    assert a.schema == b.schema and a.num_rows == b.num_rows
    for name in a.column_names:
        x, y = a.column(name), b.column(name)
        if pa.types.is_floating(x.type):
            xv = x.to_numpy(zero_copy_only=False)
            yv = y.to_numpy(zero_copy_only=False)
            assert np.array_equal(xv.view(np.int64), yv.view(np.int64)), name
        else:
            assert x.to_pylist() == y.to_pylist(), name


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    res = run_study(study(), out, workers=0, progress=False)
    return out, res


def test_serial_run_records_failures_and_goes_on(serial):
    out, res = serial
    assert res.complete and res.n_done == 16 and res.n_failed == 4
    t = table(out)
    assert t.column("index").to_pylist() == list(range(16))
    bad = [r for r in t.to_pylist() if r["status"] != "ok"]
    assert {(r["window"], r["array_cols"]) for r in bad} == {(64, 128)}
    assert all("multiple of array_cols" in r["error"] for r in bad)
    assert all(r["energy_head_J"] is None for r in bad)
    ok = [r for r in t.to_pylist() if r["status"] == "ok"]
    assert all(r["rel_rms_ideal_mean"] > 0 and r["chips"] == 2 for r in ok)
    rec = json.loads((out / "run.json").read_text())
    assert rec["status"] == "complete" and rec["done"] == 16 and rec["failed"] == 4
    assert set(rec["versions"]) >= {"gaincell", "numpy", "numba", "dask", "pyarrow"}
    assert rec["study"]["space"]["window"] == [64, 128] and rec["seeds"]["study"] == 0
    csv_rows = (out / "results.csv").read_text().splitlines()
    assert len(csv_rows) == 17 and csv_rows[0].startswith('"index","status","error","window"')


def test_two_worker_cluster_equals_serial_bit_for_bit_and_resumes(serial, tmp_path):
    """Interrupted after 5 points on a LocalCluster of two worker processes (workers=2),
    resumed on another two-worker cluster through its scheduler address: the table equals
    the serial run bit for bit, and no point was evaluated twice."""
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "cluster"
    seen = []

    def stop_after_five(row):
        seen.append(row["index"])
        if len(seen) == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study(study(), out, workers=2, progress=False, on_row=stop_after_five)
    part = table(out)
    assert part.num_rows == 5 and sorted(part.column("index").to_pylist()) == sorted(seen)
    rec = json.loads((out / "run.json").read_text())
    assert rec["status"] == "interrupted" and rec["runs"][0]["mode"] == "LocalCluster(2)"
    again = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        res = run_study(study(), out, scheduler=cluster.scheduler_address, progress=False,
                        on_row=lambda r: again.append(r["index"]))
    assert res.complete and res.n_new == 11 and not set(again) & set(seen)
    assert_bit_equal(table(out), table(serial[0]))


def test_a_folder_of_another_study_is_refused(serial, tmp_path):
    out, _ = serial
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(ValueError, match="did not write"):
        run_study(study(), tmp_path / "mine", workers=0, progress=False)
    (tmp_path / "link").symlink_to(out)
    with pytest.raises(ValueError, match="symbolic link"):
        run_study(study(), tmp_path / "link", workers=0, progress=False)
    with pytest.raises(ValueError, match="holds the results of another study"):
        run_study(study(seed=1), out, workers=0, progress=False)
    res = run_study(study(), out, workers=0, progress=False)   # same study: nothing to do
    assert res.n_new == 0 and res.complete


def test_resume_skips_finished_points_serially(tmp_path):
    n = []

    def stop(row):
        n.append(row["index"])
        if len(n) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study(study(), tmp_path, workers=0, progress=False, flush_s=0.0, on_row=stop)
    assert table(tmp_path).column("index").to_pylist() == [0, 1, 2]
    assert len(list((tmp_path / "parts").glob("part-*.parquet"))) == 3   # one per point
    # a killed run's temporaries are cleaned up by the next run
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / "parts" / f".part-000009.parquet.{dead}.abc.part").write_bytes(b"junk")
    later = []
    res = run_study(study(), tmp_path, workers=0, progress=False,
                    on_row=lambda r: later.append(r["index"]))
    assert later == list(range(3, 16)) and res.n_done == 16
    assert not list((tmp_path / "parts").glob(".*.part"))


def test_explore_writes_the_report_with_the_paper_point(tmp_path):
    res = explore(study(), tmp_path, progress=False)
    assert res.complete
    rec = json.loads((tmp_path / "run.json").read_text())
    assert rec["paper_point"]["status"] == "ok"
    # one cost mode for the whole study: 'auto' would make only the paper's design calibrated
    pred = gs.estimate(AttentionConfig.leroux2025(), mode="predicted")
    assert rec["paper_point"]["estimate_mode"] == "predicted"
    assert rec["paper_point"]["energy_head_J"] == pred.energy_head_j
    assert set(table(tmp_path).column("estimate_mode").to_pylist()) <= {"predicted", None}
    for stem in ("pareto_energy", "pareto_area"):
        for ext in ("png", "svg"):
            assert (tmp_path / f"{stem}.{ext}").stat().st_size > 1000
    md = (tmp_path / "report.md").read_text()
    assert "## Pareto front: energy_model_J vs rel_rms_ideal_mean" in md
    assert "paper (leroux2025)" in md and "## Failed points (4" in md


def test_ctrl_c_leaves_a_valid_table_and_the_command_resumes(tmp_path):
    """A real SIGINT to `gaincell explore`: exit 130, valid partial tables; the rerun
    finishes the rest."""
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "gaincell", "explore", "--set", "device.tau=1e-4:1e-2:3000:log",
           "--chips", "0", "--workers", "0", "--out", str(out), "--no-progress", "--no-figures"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180   # a guard against a hang, not a speed goal
        while proc.poll() is None and time.monotonic() < deadline:
            if list((out / "parts").glob("part-*.parquet")) if (out / "parts").exists() else []:
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    part = pq.read_table(out / "results.parquet")
    assert 0 < part.num_rows < 3000
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    done = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    full = pq.read_table(out / "results.parquet")
    assert sorted(full.column("index").to_pylist()) == list(range(3000))
    assert full.column("device.tau").to_pylist()[0] == pytest.approx(1e-4)


def test_a_trillion_point_space_needs_no_memory_per_point(tmp_path):
    """Issue 15, defect 5 applied to explore: the space, the finished-point set and the first
    points cost nothing per point of the space."""
    from gaincell.explore.storage import ResultStore, schema_for

    sp = Space([parse_axis(k, list(range(1000))) for k in
                ("device.q_levels", "device.kv_levels", "device.out_levels", "n_heads")])
    assert len(sp) == 10**12
    store = ResultStore(tmp_path, schema_for(sp, accuracy=False), len(sp))
    i, p = next(iter(sp))
    store.add({"index": 10**12 - 1, "status": "ok", **sp.point(10**12 - 1)})
    store.add({"index": i, "status": "error", "error": "x", **p})
    assert store.is_done(10**12 - 1) and store.is_done(0) and not store.is_done(1)
    store.compact()
    again = ResultStore(tmp_path, schema_for(sp, accuracy=False), len(sp))
    assert again.n_done == 2 and again.n_failed == 1 and again.is_done(10**12 - 1)


def test_the_bitmap_of_finished_points(tmp_path):
    from gaincell.explore import storage

    d = storage._Done(100)
    d.add_many(np.array([3, 3, 64, 99]))
    assert d.count == 3 and 64 in d and 65 not in d
    assert d.add(65) and not d.add(65) and d.count == 4
    assert [i for i in range(100) if i in d] == [3, 64, 65, 99]


def test_an_unreachable_scheduler_fails_before_anything_is_written(tmp_path, monkeypatch):
    from gaincell.explore import runner

    monkeypatch.setattr(runner, "CONNECT_TIMEOUT_S", 1)
    with pytest.raises(ValueError, match="cannot connect"):
        run_study(study(), tmp_path / "o", scheduler="tcp://127.0.0.1:9", progress=False)
    with pytest.raises(ValueError, match="no such scheduler file"):
        run_study(study(), tmp_path / "o", scheduler=str(tmp_path / "s.json"), progress=False)
    assert not (tmp_path / "o").exists()
