"""Sweep helper: grids, override dicts, CSV output."""

import csv

import pytest

import gaincell.system as gs
from gaincell.params import AttentionConfig
from gaincell.system.sweep import grid, sweep, write_csv


def test_grid_is_a_cartesian_product():
    g = grid(window=[512, 1024], n_heads=[8, 12, 16])
    assert len(g) == 6 and {"window": 1024, "n_heads": 16} in g
    with pytest.raises(ValueError, match="window"):
        grid(window=[])


def test_sweep_rows_follow_the_designs(tmp_path):
    ests = sweep(list(grid(window=[256, 512], tokens=[100])) + [AttentionConfig.leroux2025()],
                 progress=False, out_csv=tmp_path / "s.csv")
    assert [e.cfg.window for e in ests] == [256, 512, 1024]
    assert ests[0].spec.tokens == 100
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert len(rows) == 3
    # one cost mode for the whole sweep (auto -> predicted), so rows compare
    pred = gs.estimate(AttentionConfig.leroux2025(), mode="predicted").energy_head_j
    assert float(rows[2]["energy_head_J"]) == pytest.approx(pred, rel=1e-12)
    cal = sweep([AttentionConfig.leroux2025()], spec=gs.SystemSpec(mode="calibrated"),
                progress=False)
    assert cal[0].energy_head_j == pytest.approx(6.15e-9, rel=0.01)
    assert float(rows[1]["latency_layer_s"]) < float(rows[2]["latency_layer_s"])


def test_sweep_errors_name_the_design(tmp_path):
    with pytest.raises(ValueError, match=r"designs\[1\]"):
        sweep([{"window": 512}, {"window": 1000}], progress=False, out_csv=tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(ValueError, match="non-empty"):
        write_csv([], tmp_path / "y.csv")


def test_sweep_with_a_spec():
    ests = sweep([{"n_layers": 24}], spec=gs.SystemSpec(technology_nm=65), progress=False)
    assert ests[0].spec.technology_nm == 65 and ests[0].n_layers == 24
    assert ests[0].spec.mode == "predicted"
    with pytest.raises(ValueError, match=r"designs\[0\].*technology_nm = 14.0 is invalid for "
                                         r"the predicted mode"):
        sweep([{"n_layers": 24}], spec=gs.SystemSpec(technology_nm=14), progress=False)


# -- keys, overrides, lazy grids ---------------------------------------------------------------

import itertools  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gaincell.cli import main  # noqa: E402
from gaincell.system.sweep import SWEEPABLE, apply_overrides, canonical_key  # noqa: E402


def test_canonical_keys():
    assert canonical_key("window") == canonical_key("attention.window") == "window"
    assert canonical_key("tau") == canonical_key("device.tau") == "device.tau"
    assert canonical_key("n_layers") == "system.n_layers"
    assert canonical_key("system.array.cell_area") == "system.array.cell_area"
    assert all(canonical_key(k) == k for k in SWEEPABLE)
    for bad, allowed in (("windw", "AttentionConfig field"), ("device.window", "DeviceParams"),
                         ("system.array.nope", "system.array.FIELD"),
                         ("device.poly_c_ua", "DeviceParams")):
        with pytest.raises(ValueError, match=allowed):
            canonical_key(bad)


def test_overrides_reach_every_layer_and_name_the_range():
    cfg, spec = apply_overrides(AttentionConfig.leroux2025(), gs.SystemSpec(), {
        "window": 512, "device.kv_levels": 4, "system.technology_nm": 14,
        "system.array.cell_area": 2e-12})
    assert (cfg.window, cfg.device.kv_levels, spec.technology_nm) == (512, 4, 14.0)
    assert spec.components["array"]["cell_area"] == 2e-12
    with pytest.raises(ValueError, match=r"device.tau = -1.*allowed > 0 s"):
        apply_overrides(cfg, spec, {"device.tau": -1})
    with pytest.raises(ValueError, match=r"system.n_layers = 0.*\[1, 10000\]"):
        apply_overrides(cfg, spec, {"system.n_layers": 0})
    with pytest.raises(ValueError, match=r"window = 100.*multiple of array_cols"):
        apply_overrides(cfg, spec, {"window": 100})


@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_grid_index_equals_the_product(sizes, data):
    axes = {k: list(range(n)) for k, n in zip(("window", "n_heads", "head_dim", "tau"), sizes)}
    g = grid(axes)
    ref = [dict(zip(g.keys, c)) for c in itertools.product(*axes.values())]
    assert len(g) == len(ref) and list(g) == ref
    i = data.draw(st.integers(0, len(ref) - 1))
    assert g[i] == ref[i] and g[i - len(ref)] == ref[i]


def test_a_huge_grid_costs_no_memory():
    axes = {k: range(1000) for k in ("n_heads", "head_dim", "window", "array_rows")}
    g = grid(axes)
    assert len(g) == 10**12 and g[10**12 - 1]["array_rows"] == 999
    assert next(iter(g)) == {"n_heads": 0, "head_dim": 0, "window": 0, "array_rows": 0}
    with pytest.raises(ValueError, match="repeats the parameter 'device.kv_levels'"):
        grid({"kv_levels": [4], "device.kv_levels": [8]})


def test_swept_keys_get_their_own_columns(tmp_path):
    out = tmp_path / "s.csv"
    sweep(grid({"device.stage1_q_sat": [1e-12, 2e-12], "sigma_read_noise": [0.0, 1e-15]}),
          progress=False, out_csv=out, keep=False)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4
    assert {(r["device.stage1_q_sat"], r["device.sigma_read_noise"]) for r in rows} == {
        ("1e-12", "0.0"), ("1e-12", "1e-15"), ("2e-12", "0.0"), ("2e-12", "1e-15")}


def test_grid_values_are_checked_before_any_work(tmp_path):
    out = tmp_path / "x.csv"
    with pytest.raises(ValueError, match=r"system.technology_nm = 10: .*predicted mode"):
        sweep(grid({"window": [512, 1024], "system.technology_nm": [28, 10]}), progress=False,
              out_csv=out, base=AttentionConfig.leroux2025(window=512))
    with pytest.raises(ValueError, match=r"device.kv_levels = 1"):
        sweep(grid({"window": [512, 1024], "device.kv_levels": [8, 1]}), progress=False,
              out_csv=out)
    assert not out.exists() and not list(tmp_path.iterdir())


# -- issue 15, defect 12: a repeated --set key silently replaced the earlier one -----------------

def test_a_repeated_set_key_is_refused(tmp_path, capsys):
    out = tmp_path / "s.csv"
    rc = main(["sweep", "--set", "window=512", "--set", "window=1024", "--out", str(out),
               "--no-progress"])
    assert rc == 2 and "window" in capsys.readouterr().err and not out.exists()
    rc = main(["sweep", "--set", "kv_levels=4", "--set", "device.kv_levels=8", "--out",
               str(out), "--no-progress"])
    assert rc == 2 and "device.kv_levels" in capsys.readouterr().err and not out.exists()


# -- issue 15, defect 5: `gaincell sweep` built the whole grid in memory -------------------------

def _limit_memory():  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and /proc are Linux")
def test_sweep_streams_a_grid_of_a_trillion_designs(tmp_path):
    """Under a 3 GB address-space limit a 10^12-design sweep starts writing rows at once and
    Ctrl-C leaves the complete rows so far (the old code died with a MemoryError first)."""
    out = tmp_path / "big.csv"
    sets = []
    for k in ("n_layers", "tokens", "technology_nm", "device.q_levels", "device.kv_levels",
              "device.out_levels"):
        lo = {"technology_nm": 22, "device.out_levels": 3}.get(k, 2)
        sets += ["--set", f"{k}=" + ",".join(str(v) for v in range(lo, lo + 100))]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen([sys.executable, "-m", "gaincell", "sweep", *sets, "--out", str(out),
                             "--no-progress"], cwd=tmp_path, env=env,
                            preexec_fn=_limit_memory, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180   # a guard against a hang, not a speed goal
        while proc.poll() is None and time.monotonic() < deadline:
            parts = list(tmp_path.glob(".big.csv.*.part"))
            if parts and parts[0].read_text().count("\n") > 20:
                break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-2000:]
    rows = list(csv.DictReader(out.open()))
    assert len(rows) > 20 and all(None not in r.values() for r in rows)
    assert [int(r["device.out_levels"]) for r in rows[:3]] == [3, 4, 5]
    assert not list(tmp_path.glob(".big.csv.*.part"))
