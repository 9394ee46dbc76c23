"""The ngspice runner: backends, results, and clear errors (file:line) instead of hangs."""

import time

import pytest
from spice_support import require_spice

from gaincell.spice import runner
from gaincell.spice.errors import (
    ConvergenceError,
    ModelCardError,
    NetlistError,
    NgspiceNotFound,
    SpiceTimeout,
)
from gaincell.spice.netlist import CircuitKit, Netlist, preflight

BACKENDS = ["shared", "subprocess"]

DIVIDER = "* divider\nv1 a 0 0.9\nr1 a b 1k\nr2 b 0 2k\n.op\n.end\n"
SYNTAX = "* bad\nv1 a 0 1\nr1 a 0 1k 1k foo=\n.op\n.end\n"
# a current step into a node whose only load saturates at 1 mA: no transient solution
NONCONV = ("* no solution\nv1 in 0 pulse(0 1 1n 1n 1n 5n 20n)\n"
           "b1 a 0 i=1e-3*tanh(v(a))\nb2 0 a i=2e-3*v(in)\n.tran 10p 10n\n.end\n")


@pytest.mark.spice
@pytest.mark.parametrize("backend", BACKENDS)
def test_divider_operating_point(backend):
    require_spice(backend)
    r = runner.simulate(Netlist(DIVIDER, "divider.cir", ["v(b)", "i(v1)"]), backend=backend)
    assert r.backend == backend
    assert r["v(b)"][0] == pytest.approx(0.6, rel=1e-9)
    assert r["i(v1)"][0] == pytest.approx(-0.9 / 3e3, rel=1e-9)


@pytest.mark.spice
@pytest.mark.parametrize("backend", BACKENDS)
def test_syntax_error_names_file_and_line(backend):
    require_spice(backend)
    with pytest.raises(NetlistError) as e:
        runner.simulate(Netlist(SYNTAX, "bad.cir", ["v(a)"]), backend=backend, timeout_s=20)
    assert "bad.cir:3" in str(e.value) and "r1 a 0 1k 1k foo=" in str(e.value)
    assert "Traceback" not in str(e.value)


@pytest.mark.spice
@pytest.mark.parametrize("backend", BACKENDS)
def test_nonconvergence_is_a_convergence_error(backend):
    require_spice(backend)
    with pytest.raises(ConvergenceError, match="nonconv.cir.*(?i:timestep too small)"):
        runner.simulate(Netlist(NONCONV, "nonconv.cir", ["v(a)"]), backend=backend,
                        timeout_s=20)


@pytest.mark.spice
@pytest.mark.parametrize("backend", BACKENDS)
def test_hang_becomes_timeout(backend):
    require_spice(backend)
    # a 1 s transient at 1 ps resolution would run for hours
    slow = ("* slow\nv1 a 0 sin(0 1 1e9)\nr1 a b 1k\nc1 b 0 1p\n.tran 1p 1 0 1p\n.end\n")
    t0 = time.monotonic()
    with pytest.raises(SpiceTimeout, match="slow.cir.*2 s limit"):
        runner.simulate(Netlist(slow, "slow.cir", ["v(b)"]), backend=backend, timeout_s=2)
    assert time.monotonic() - t0 < 15


def test_missing_include_is_a_model_card_error_with_line(tmp_path):
    deck = f"* t\n.include {tmp_path}/nosuch.lib\nv1 a 0 1\nr1 a 0 1k\n.op\n.end\n"
    with pytest.raises(ModelCardError, match=r"deck.cir:2: .*nosuch.lib does not exist"):
        preflight(Netlist(deck, "deck.cir"))


def test_missing_model_card_names_instance_file_and_line(tmp_path):
    lib = tmp_path / "mine.lib"
    lib.write_text("* my cards\n.model nfet nmos level=1\n")
    deck = f"* t\n.include {lib}\nv1 a 0 1\nm1 a a 0 0 pfet w=1u l=1u\n.op\n.end\n"
    with pytest.raises(ModelCardError, match=r"deck.cir:4: model card 'pfet' used by m1"):
        preflight(Netlist(deck, "deck.cir"))


def test_model_card_missing_from_a_user_cell_names_that_file(tmp_path):
    cell = tmp_path / "mycell.cir"
    cell.write_text("* my cell\n.subckt mycell wwl wbl rwl rwlb bl sn vss\n"
                    "m1 rwl sn bl bl my_nch w=1u l=1u\n.ends mycell\n")
    kit = CircuitKit.default(cell_file=str(cell), cell_subckt="mycell")
    from gaincell.spice.benches import cell_dc_bench

    with pytest.raises(ModelCardError, match=r"mycell.cir:3: model card 'my_nch'"):
        preflight(cell_dc_bench(5, [0.9], kit=kit))


def test_unknown_subcircuit(tmp_path):
    with pytest.raises(NetlistError, match=r"deck.cir:3: sub-circuit 'nosub'"):
        preflight(Netlist("* t\nv1 a 0 1\nx1 a 0 nosub\n.op\n.end\n", "deck.cir"))


def test_missing_ngspice_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(runner, "ngspice_available",
                        lambda: {"shared": False, "subprocess": False, "executable": None})
    with pytest.raises(NgspiceNotFound, match="ngspice not found.*apt-get install ngspice"):
        runner.simulate(Netlist(DIVIDER, "divider.cir", ["v(b)"]))


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="timeout_s"):
        runner.simulate(Netlist(DIVIDER, "d.cir"), timeout_s=0)
    with pytest.raises(ValueError, match="backend"):
        runner.simulate(Netlist(DIVIDER, "d.cir"), backend="xyce")


@pytest.mark.spice
def test_parallel_runs_keep_input_order():
    require_spice()
    decks = [Netlist(DIVIDER.replace("0.9", str(v)), f"d{k}.cir", ["v(b)"])
             for k, v in enumerate([0.3, 0.6, 0.9, 1.2])]
    res = runner.simulate_many(decks, workers=2)
    assert [r["v(b)"][0] for r in res] == pytest.approx([0.2, 0.4, 0.6, 0.8], rel=1e-9)


@pytest.mark.spice
def test_version_string():
    require_spice()
    assert runner.ngspice_version().startswith("ngspice-")


@pytest.mark.spice
@pytest.mark.parametrize("backend", BACKENDS)
def test_ngspice_own_missing_model_message_is_mapped_to_file_and_line(backend):
    require_spice(backend)
    deck = "* t\nv1 a 0 1\nm1 a a 0 0 nosuch w=1u l=1u\n.op\n.end\n"
    with pytest.raises(ModelCardError, match=r"nomodel.cir:3: m1 a a 0 0 nosuch"):
        runner.simulate(Netlist(deck, "nomodel.cir", ["v(a)"]), backend=backend,
                        timeout_s=20, check=False)


@pytest.mark.spice
@pytest.mark.parametrize("backend", BACKENDS)
def test_ngspice_own_missing_include_message(backend, tmp_path):
    require_spice(backend)
    deck = f"* t\n.include {tmp_path}/gone.lib\nv1 a 0 1\nr1 a 0 1k\n.op\n.end\n"
    with pytest.raises(ModelCardError, match=r"inc.cir:2: .include .*gone.lib"):
        runner.simulate(Netlist(deck, "inc.cir", ["v(a)"]), backend=backend, timeout_s=20,
                        check=False)


def test_missing_ngspice_skips_or_fails_as_ci_requires(monkeypatch):
    import spice_support

    monkeypatch.setattr(spice_support, "ngspice_available",
                        lambda: {"shared": False, "subprocess": False, "executable": None})
    monkeypatch.delenv("GAINCELL_REQUIRE_SPICE", raising=False)
    with pytest.raises(pytest.skip.Exception, match="not available"):
        spice_support.require_spice()
    monkeypatch.setenv("GAINCELL_REQUIRE_SPICE", "1")
    with pytest.raises(pytest.fail.Exception, match="GAINCELL_REQUIRE_SPICE=1"):
        spice_support.require_spice()
