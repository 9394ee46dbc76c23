"""A netlist is code: interpreter blocks and bad names are refused (issue 15, defect 4).

On commit f5ba4a6 the issue's example (``--subckt $'gaincell_cell\\n.control\\nshell touch
FILE\\n.endc'``) and a cell file holding a ``.control`` block ran ``shell`` on both backends:
``test_cli_subckt_injection_is_refused`` and ``test_control_block_in_deck_is_refused`` fail
there (FILE is created, or no UnsafeNetlist is raised).
"""

from __future__ import annotations

import os

import pytest
from spice_support import require_spice

from gaincell.cli import main
from gaincell.spice import runner
from gaincell.spice.errors import NetlistError, UnsafeNetlist
from gaincell.spice.netlist import Netlist
from gaincell.spice.trust import check_name, permit_control, screen_deck

BACKENDS = ["shared", "subprocess"]


def _deck(touch) -> str:
    return ("* injected\nv1 a 0 1\nr1 a 0 1k\n.op\n.control\nshell touch " + str(touch)
            + "\n.endc\n.end\n")


@pytest.mark.spice
@pytest.mark.parametrize("backend", BACKENDS)
def test_control_block_in_deck_is_refused(backend, tmp_path):
    require_spice(backend)
    touch = tmp_path / "FILE"
    with pytest.raises(UnsafeNetlist, match=r"inj\.cir:5: '\.control'"):
        runner.simulate(Netlist(_deck(touch), "inj.cir", ["v(a)"]), backend=backend)
    assert not touch.exists()


@pytest.mark.spice
@pytest.mark.parametrize("backend", BACKENDS)
def test_control_block_in_included_cell_file_is_refused(backend, tmp_path):
    require_spice(backend)
    touch = tmp_path / "FILE"
    cell = tmp_path / "evil_cell.cir"
    cell.write_text(".subckt foo a b\nr1 a b 1k\n.ends foo\n* looks harmless\n"
                    f" .CONTROL\nshell touch {touch}\n.endc\n")
    deck = f"* t\n.include {cell}\nv1 a 0 1\nx1 a 0 foo\n.op\n.end\n"
    with pytest.raises(UnsafeNetlist, match=r"evil_cell\.cir:5:"):
        runner.simulate(Netlist(deck, "t.cir", ["v(a)"]), backend=backend)
    assert not touch.exists()


@pytest.mark.spice
def test_allow_control_runs_a_trusted_deck(tmp_path):
    """The switch is real: with it, ngspice executes the block (so the screen above is what
    stopped it)."""
    require_spice("subprocess")
    touch = tmp_path / "FILE"
    with permit_control(True):
        runner.simulate(Netlist(_deck(touch), "inj.cir", ["v(a)"]), backend="subprocess")
    assert touch.exists()
    with pytest.raises(UnsafeNetlist):   # and it ends with the block
        screen_deck(_deck(touch), "inj.cir")


@pytest.mark.spice
@pytest.mark.parametrize("command", ["characterize", "validate"])
def test_cli_subckt_injection_is_refused(command, tmp_path, capsys):
    """The issue's reproduction, on the command line: exit 2, one line, nothing runs."""
    require_spice()
    touch = tmp_path / "FILE"
    argv = [command, "--subckt", f"gaincell_cell\n.control\nshell touch {touch}\n.endc",
            "--out", str(tmp_path / "out"), "--timeout", "30"]
    argv += (["--v-store-points", "5", "--v-in-points", "1", "--t-float", "1e-6"]
             if command == "characterize" else ["--checks", "cell"])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "sub-circuit name" in err and len(err.strip().splitlines()) == 1
    assert not touch.exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.spice
def test_cli_cell_file_with_control_block_refused_unless_allowed(tmp_path, capsys):
    require_spice()
    touch = tmp_path / "FILE"
    cell = tmp_path / "cell.cir"
    from gaincell.spice.netlist import circuits_dir

    cell.write_text((circuits_dir() / "gaincell_cell.cir").read_text()
                    + f".control\nshell touch {touch}\n.endc\n")
    argv = ["characterize", "--cell", str(cell), "--out", str(tmp_path / "out"),
            "--v-store-points", "5", "--v-in-points", "1", "--t-float", "1e-6"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{cell}:" in err and ".control" in err and "--allow-control" in err
    assert not touch.exists()
    assert main(argv + ["--allow-control", "--backend", "subprocess"]) == 0
    assert touch.exists()   # the user vouched for the file: its block ran


@pytest.mark.parametrize("text, line", [
    ("* t\n.exec\nshell ls\n.endc\n.end\n", 2),
    ("* t\nr1 a 0 1\n+ .control\n.end\n", 3),
    ("*ng_script\nshell ls\n", 1),
    ("* t\n  .pre_set x=1\n.end\n", 2),
    ("* t\n.codemodel evil.cm\n.end\n", 2),
])
def test_screen_refuses_interpreter_lines(text, line):
    with pytest.raises(UnsafeNetlist, match=rf"deck\.cir:{line}:"):
        screen_deck(text, "deck.cir")


def test_screen_accepts_shipped_circuits_and_comments():
    from gaincell.spice.netlist import circuits_dir

    for f in sorted(circuits_dir().glob("*.cir")):
        screen_deck(f.read_text(), str(f))
    screen_deck("* a comment mentioning .control and shell\nv1 a 0 1 ; .control\n.end\n",
                "c.cir")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_include_of_a_device_is_refused(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for target in ("/dev/zero", str(fifo)):
        with pytest.raises(UnsafeNetlist, match="not a regular file"):
            screen_deck(f"* t\n.include {target}\n.end\n", "d.cir")
    assert issubclass(UnsafeNetlist, NetlistError) and issubclass(UnsafeNetlist, ValueError)


@pytest.mark.parametrize("name", ["gaincell_cell", "sky130_fd_pr__nfet_01v8", "nch.1", "_x$1"])
def test_valid_names(name):
    assert check_name("subckt", name) == name


@pytest.mark.parametrize("name", ["a\nb", "cell .control", "", "1cell", "a;b", "x" * 129,
                                  "a{b}", 3])
def test_invalid_names(name):
    with pytest.raises(ValueError, match="subckt name"):
        check_name("subckt", name)


def test_node_names_may_start_with_a_digit():
    assert check_name("node", "0") == "0"
    with pytest.raises(ValueError, match="node name"):
        check_name("node", "0 1")


@pytest.mark.parametrize("text, line", [
    ("* t\n.subckt bad{name} a b\n.ends\n.end\n", 2),
    ("* t\n.subckt ok a b{c}\n.ends\n.end\n", 2),
    ("* t\n.model m'x nmos level=1\n.end\n", 2),
    ("* t\nx1 a b cell`id`\n.end\n", 2),
])
def test_screen_refuses_bad_names_in_files(text, line):
    with pytest.raises(UnsafeNetlist, match=rf"deck\.cir:{line}: .*name"):
        screen_deck(text, "deck.cir")
    with pytest.raises(UnsafeNetlist):   # names are checked even when control is allowed
        screen_deck(text, "deck.cir", allow_control=True)


def test_screen_accepts_instance_parameters_and_titles():
    screen_deck("x title line is ignored {}\n.subckt c a b cs=50f params: k=1\n.ends c\n"
                "x1 a 0 c cs={2*k} m=1\nx2 a 0 c params: k=2\n+ j=3\n"
                "xr1 d d1 b c wr='w' lr='(d_sab==0) ? 1e-15 : d_sab'\n"
                "xr2 d d1 b c lr={ (s==0) ? 1 : s }\n.end\n", "deck.cir")


def test_included_file_changes_are_seen_despite_the_cache(tmp_path):
    inc = tmp_path / "m.lib"
    inc.write_text(".model ok nmos level=1\n")
    deck = f"* t\n.include {inc}\n.end\n"
    screen_deck(deck, "d.cir")
    inc.write_text(".model ok nmos level=1\n.control\nshell ls\n.endc\n")
    with pytest.raises(UnsafeNetlist, match=r"m\.lib:2:"):
        screen_deck(deck, "d.cir")
