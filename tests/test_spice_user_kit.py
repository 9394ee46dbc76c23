"""A user's own cell at 1.2 V characterizes and validates with nothing left at
the paper's 0.45 / 0.9 V; validate checks the design file it is given; the report names the
user's kit."""

import json

import numpy as np
import pytest
from spice_support import require_spice

import gaincell as gc
from gaincell.cli import main
from gaincell.commands.design import init_text
from gaincell.spice.characterize import sweep_iv
from gaincell.spice.kits import get_kit

pytestmark = pytest.mark.spice

LIB = ".model my_n nmos level=1 vto=-0.2 kp=100u\n.model my_p pmos level=1 vto=0.2 kp=40u\n"
CELL = (".subckt my_cell wwl wbl rwl rwlb bl sn vss\nmw wbl wwl sn vss my_n w=1u l=1u\n"
        "cs sn vss 20f\nmn rwl sn bl bl my_n w=1u l=8u\nmp rwlb sn bl bl my_p w=1u l=3u\n"
        ".ends my_cell\n")
#: The design a new user writes for a 1.2 V cell: `gaincell init --vdd 1.2` (every voltage
#: scaled, the cell stretched over the 1.2 V swing until it is characterized).
DESIGN = init_text(1.2)


@pytest.fixture
def user(tmp_path):
    require_spice()
    (tmp_path / "my.lib").write_text(LIB)
    (tmp_path / "my_cell.cir").write_text(CELL)
    (tmp_path / "design.toml").write_text(DESIGN)
    return tmp_path, ["--models", str(tmp_path / "my.lib"), "--cell",
                      str(tmp_path / "my_cell.cir"), "--subckt", "my_cell"]


def test_sweep_follows_the_design_not_the_paper(user):
    tmp, _ = user
    d = gc.load_toml(tmp / "design.toml").device
    kit = get_kit("generic", model_files=(str(tmp / "my.lib"),),
                  cell_file=str(tmp / "my_cell.cir"), cell_subckt="my_cell", name="user")
    # before: the default grid was the paper's 0.45..0.9 V and v_read = 1.2 V crashed
    iv = sweep_iv(d, kit, v_store_points=13)
    assert iv.table.v_in[0] == pytest.approx(0.6) and iv.table.v_in[-1] == pytest.approx(1.2)
    # before: the cubic was fitted around 0.45 V whatever v_weight_zero
    col = np.asarray(iv.table.i_out)[:, -1]
    i_wz = float(np.interp(0.6, np.asarray(iv.table.v_store), col))
    assert iv.fit.a_ua[0] * 1e-6 == pytest.approx(i_wz, abs=0.02 * np.abs(col).max())
    with pytest.raises(ValueError) as e:
        sweep_iv(d, kit, v_store_points=5, v_in=np.linspace(0.0, 0.5, 51))
    assert len(str(e.value)) < 200  # names the range, not 51 grid values


def test_user_cell_at_1v2_characterizes_and_validates(user, capsys):
    tmp, kit = user
    out = tmp / "ch"
    rc = main(["characterize", "--config", str(tmp / "design.toml"), "--out", str(out),
               "--v-store-points", "20", "--v-in-points", "3", "--t-float", "5", *kit])
    assert rc == 0, capsys.readouterr().err
    cfg = gc.load_toml(out / "characterization.toml")
    d = cfg.device
    assert (d.vdd, d.v_weight_zero, d.v_read, d.v_read_idle) == (1.2, 0.6, 1.2, 0.6)
    assert d.kv_hi == 1.2
    capsys.readouterr()
    rep = tmp / "rep"
    rc = main(["validate", "--config", str(out / "characterization.toml"), "--out", str(rep),
               "--checks", "cell", "c2p", "--seed", "2", *kit])
    text = capsys.readouterr()
    assert rc == 0, text
    r = json.loads((rep / "report.json").read_text())
    # the design file is checked as given (no re-fit), on the user's kit, named as such
    assert "not re-fitted" in r["context"]["cell_fit"]
    assert r["context"]["kit"].startswith("user kit")
    md = (rep / "report.md").read_text()
    assert "user kit" in md and "generic circuit kit" not in md
    assert all(c["distribution"]["n"] > 1 for c in r["checks"])
