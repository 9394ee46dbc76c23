"""What a wheel carries and what the core install needs: the netlists are package data, every
data file is named in the package data, PySpice is the ``spice`` extra and its absence is one
clear line naming the extra (the wheel itself is built and installed by scripts/check_wheel.sh,
run by CI)."""

import sys
from pathlib import Path

import pytest

import gaincell
from gaincell.params import tomllib
from gaincell.spice import runner
from gaincell.spice.errors import NgspiceNotFound
from gaincell.spice.netlist import Netlist, circuits_dir

PKG = Path(gaincell.__file__).parent
ROOT = PKG.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_data_file_of_the_package_is_package_data():
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]["gaincell"]
    data = [p.relative_to(PKG).as_posix() for p in PKG.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    shipped = {p.relative_to(PKG).as_posix() for g in globs for p in PKG.glob(g)}
    missed = sorted(set(data) - shipped)
    assert not missed, f"not in [tool.setuptools.package-data]: {missed}"
    assert any(d.startswith("circuits/models/") for d in data)


def test_netlists_live_in_the_package():
    c = circuits_dir()
    assert c.resolve() == (PKG / "circuits").resolve()
    assert not (ROOT / "circuits").exists(), "the netlists moved to gaincell/circuits/"
    for name in ("gaincell_cell.cir", "integrator.cir", "c2p.cir", "c2p_signed.cir",
                 "models/generic_bsim4.lib", "gf180/gf180_gaincell.cir", "README.md"):
        assert (c / name).is_file(), name


def test_pyspice_is_the_spice_extra_not_a_core_dependency():
    core = " ".join(PYPROJECT["project"]["dependencies"]).lower()
    assert "pyspice" not in core
    extra = PYPROJECT["project"]["optional-dependencies"]["spice"]
    assert any(d.lower().startswith("pyspice") for d in extra)


@pytest.fixture
def no_pyspice(monkeypatch):
    """PySpice not installed (an import of it fails)."""
    for m in [m for m in sys.modules if m == "PySpice" or m.startswith("PySpice.")]:
        monkeypatch.delitem(sys.modules, m)
    monkeypatch.setitem(sys.modules, "PySpice", None)


def test_without_pyspice_the_shared_backend_names_the_extra(no_pyspice):
    assert runner.ngspice_available()["shared"] is False
    nl = Netlist("* empty\n.end\n", "empty.cir", ())
    with pytest.raises(NgspiceNotFound) as e:
        runner.simulate(nl, backend="shared")
    msg = str(e.value)
    assert "pip install 'gaincell[spice]'" in msg and "\n" not in msg
    assert "subprocess" in msg   # and says what runs without it


def test_without_pyspice_auto_runs_ngspice_b(no_pyspice, monkeypatch):
    monkeypatch.setattr(runner.shutil, "which", lambda name: "/usr/bin/" + name)
    assert runner.default_backend() == "subprocess"
    monkeypatch.setattr(runner.shutil, "which", lambda name: None)
    with pytest.raises(NgspiceNotFound, match=r"gaincell\[spice\]"):
        runner.default_backend()


def test_validate_on_the_shared_backend_without_pyspice_is_one_line(no_pyspice, tmp_path,
                                                                   capsys):
    from gaincell.cli import main

    rc = main(["validate", "--backend", "shared", "--checks", "cell", "--out",
               str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and len(err.splitlines()) == 1
    assert "pip install 'gaincell[spice]'" in err
    assert not (tmp_path / "r").exists()
