"""Issue 15, defect 6 and 12: a dead cell is refused, an all-noise signal cannot pass, an absurd
rest voltage is a failed fit (never clamped)."""

import numpy as np
import pytest
from spice_support import require_spice

import gaincell as gc
from gaincell.cli import main
from gaincell.device.fit import MIN_FULL_SCALE_A, fit_cell
from gaincell.spice import characterize as C
from gaincell.spice.validate import Check


def _table(scale):
    vs = np.linspace(0, 0.9, 10)
    vi = np.array([0.45, 0.9])
    i = np.stack([np.zeros(10), scale * (vs - 0.45)], axis=1)
    return gc.IVTable.from_arrays(vs, vi, i)


@pytest.mark.parametrize("scale", [0.0, 1e-16])
def test_fit_refuses_a_dead_cell_with_a_clear_message(scale):
    # before: exactly 0 A fitted "fine" and CellFit.summary() raised ZeroDivisionError
    with pytest.raises(ValueError, match=r"allowed >= 1e-09 A.*dead cell"):
        fit_cell(_table(scale), v_in=0.9)
    with pytest.raises(ValueError, match="dead cell"):
        fit_cell(_table(scale))


def test_a_live_cell_still_fits_and_summarizes():
    f = fit_cell(_table(20e-6), v_in=0.9)
    assert "% of full scale" in f.summary() and f.full_scale > MIN_FULL_SCALE_A


def test_a_check_on_an_all_noise_signal_fails_whatever_its_error():
    c = Check("cell", 0.0, 0.02, "fraction of full-scale current", 4, 0.0, 0.0,
              errors=np.zeros(4), signal=1e-16, signal_floor=MIN_FULL_SCALE_A, signal_unit="A")
    assert not c.passed and not c.signal_ok
    s = c.summary()
    assert s["passed"] is False and s["signal_ok"] is False
    ok = Check("cell", 0.0, 0.02, "x", 4, 0.0, 0.0, signal=1e-5, signal_floor=1e-9)
    assert ok.passed


def _ret(v_rest):
    t = np.linspace(0, 1, 5)
    return C.RetentionFit(10.0, v_rest, np.array([0.2, 0.7]), np.array([0.2, 0.7]), t,
                          np.zeros((2, 5)), 0.0, 0.0, None)


def test_an_absurd_rest_voltage_is_a_failed_fit_not_clamped():
    # before: Characterization.device() clipped v_rest = 40 V silently to vdd
    with pytest.raises(C.FitError, match=r"retention fit failed: v_rest = 40 V"):
        C.checked_v_rest(_ret(40.0), 0.9)
    with pytest.raises(C.FitError):
        C.checked_v_rest(_ret(float("nan")), 0.9)
    assert C.checked_v_rest(_ret(-0.05), 0.9) == 0.0  # within the margin: a rail
    assert C.checked_v_rest(_ret(0.4), 0.9) == 0.4


DEAD_CELLS = {
    "zero": ".subckt dead wwl wbl rwl rwlb bl sn vss\ncs sn vss 1f\nmw wbl wwl sn vss my_n "
            "w=1u l=1u\ncb bl vss 1f\n.ends dead\n",
    "noise": ".subckt dead wwl wbl rwl rwlb bl sn vss\ncs sn vss 1f\nmw wbl wwl sn vss my_n "
             "w=1u l=1u\nrb rwl bl 1e16\n.ends dead\n",
}


@pytest.mark.spice
@pytest.mark.parametrize("kind", sorted(DEAD_CELLS))
def test_characterize_and_validate_refuse_a_dead_cell(kind, tmp_path, capsys):
    require_spice()
    lib = tmp_path / "m.lib"
    lib.write_text(".model my_n nmos level=1 vto=0.3 kp=100u\n")
    cell = tmp_path / "dead.cir"
    cell.write_text(DEAD_CELLS[kind])
    kit = ["--models", str(lib), "--cell", str(cell), "--subckt", "dead"]
    rc = main(["characterize", "--out", str(tmp_path / "c"), "--v-store-points", "6",
               "--v-in-points", "2", *kit])
    err = capsys.readouterr().err
    assert rc == 2 and "dead cell" in err and "Traceback" not in err
    assert not (tmp_path / "c" / "characterization.toml").exists()
    rc = main(["validate", "--out", str(tmp_path / "v"), "--checks", "cell", *kit])
    err = capsys.readouterr().err
    assert rc == 2 and "dead cell" in err
    assert not (tmp_path / "v" / "report.json").exists()


def test_characterization_device_refuses_the_failed_fit():
    # the path that clamped 40 V to vdd before the fix
    from types import SimpleNamespace

    iv = SimpleNamespace(fit=fit_cell(_table(20e-6), v_in=0.9))
    c2p = SimpleNamespace(q_sat=1.2e-12)
    ch = C.Characterization(iv, _ret(40.0), c2p, None)
    with pytest.raises(C.FitError, match="v_rest = 40 V"):
        ch.device()
    assert C.Characterization(iv, _ret(0.3), c2p, None).device().v_rest == 0.3


def test_check_summary_is_strict_json():
    import json

    c = Check("c2p", 1e-3, 0.02, "fraction of T_max", 3, 0.0, 0.0, errors=np.zeros(3))
    s = json.dumps(c.summary(), allow_nan=False)  # no Infinity for a check without a signal
    assert json.loads(s)["signal"] is None and json.loads(s)["passed"] is True


def test_a_report_without_finished_checks_is_still_written(tmp_path):
    # validate --full can end with every check past its time limit: the report says so
    from gaincell.spice.report import write_report

    p = write_report([], tmp_path / "r", {"did_not_finish": ["tile_written tt 27C"]})
    import json

    r = json.loads(open(p["json"]).read())
    assert r["checks"] == [] and r["context"]["did_not_finish"] == ["tile_written tt 27C"]
    assert r["all_passed"] is False


def test_report_keeps_the_decks_of_every_condition(tmp_path):
    # two conditions run decks of the same name and different text: both are written
    import json

    from gaincell.spice.netlist import Netlist
    from gaincell.spice.report import write_report
    from gaincell.spice.validate import Check

    def check(cond, corner):
        nl = Netlist(f"* column at {corner}\n.lib models.lib {corner}\n.end\n", "column.cir",
                     ["v(bl)"])
        return Check("column", 0.001, 0.01, "Q_sat", 4, 1.0, 0.1, netlists=[nl, nl],
                     condition=cond)

    p = write_report([check("tt 27C", "typical"), check("ff 27C", "ff"),
                      check("tt 27C", "typical")], tmp_path / "r", figures=False)
    decks = json.loads(open(p["json"]).read())["netlists"]
    assert len(decks) == 2 and decks[0] == "netlists/column.cir"
    texts = {open(tmp_path / "r" / d).read() for d in decks}
    assert texts == {"* column at typical\n.lib models.lib typical\n.end\n",
                     "* column at ff\n.lib models.lib ff\n.end\n"}
