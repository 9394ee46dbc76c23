"""The shipped circuits: documented headers, consistent ports, example decks in sync, benches."""

from pathlib import Path

import numpy as np
import pytest
from spice_support import require_spice

import gaincell as gc
from gaincell.spice import benches as B
from gaincell.spice.examples import example_decks
from gaincell.spice.netlist import CircuitKit, circuits_dir, preflight
from gaincell.spice.runner import simulate

SUBCIRCUITS = ["gaincell_cell.cir", "integrator.cir", "c2p.cir", "c2p_signed.cir"]


@pytest.mark.parametrize("name", SUBCIRCUITS + ["models/generic_bsim4.lib"])
def test_every_circuit_file_has_a_documented_header(name):
    text = (circuits_dir() / name).read_text()
    head = "\n".join(ln for ln in text.splitlines() if ln.startswith("*")).lower()
    assert "what it is" in head
    assert "source" in head
    if name.endswith(".cir"):
        assert "ports" in head and "parameters" in head and "model cards" in head


def test_model_cards_are_labelled_generic():
    text = (circuits_dir() / "models" / "generic_bsim4.lib").read_text()
    assert "GENERIC, UNCALIBRATED" in text and "level=54" in text


def test_cell_ports_are_the_documented_interface():
    text = (circuits_dir() / "gaincell_cell.cir").read_text()
    line = next(ln for ln in text.splitlines() if ln.lower().startswith(".subckt"))
    assert line.split()[1:9] == ["gaincell_cell", "wwl", "wbl", "rwl", "rwlb", "bl", "sn", "vss"]


def test_shipped_example_decks_match_the_builders():
    for nl in example_decks():
        shipped = (circuits_dir() / nl.name).read_text()
        assert shipped == nl.text, f"circuits/{nl.name} is stale: run python -m " \
                                   f"gaincell.spice.examples"


def test_benches_pass_preflight_and_validate_inputs():
    d = gc.DeviceParams()
    for nl in [B.cell_dc_bench(5, [0.45, 0.9]), B.retention_bench([0.0, 0.9], 1e-3),
               B.column_bench([0.1, 0.8], [0.5, 1.0]), B.c2p_bench([1e-13]),
               B.c2p_signed_bench([-1e-13]), B.tile_bench(np.zeros(2), np.zeros((2, 2)),
                                                          np.zeros((2, 2)))]:
        preflight(nl)
        assert nl.text.rstrip().endswith(".end") and len(nl.sha256()) == 64
    with pytest.raises(ValueError, match="v_store"):
        B.column_bench([1.5], [0.5], d)
    with pytest.raises(ValueError, match="pulse"):
        B.column_bench([0.5], [1.5], d)
    with pytest.raises(ValueError, match="shapes"):
        B.tile_bench(np.zeros(3), np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="out_levels"):
        B.c2p_signed_bench([1e-13], d.replace(out_levels=None))


def test_pwl_pulse_is_width_at_half_height():
    txt = B.pwl_pulse(1e-9, 2e-9, 0.45, 0.9, t_edge=20e-12)
    pts = np.array(txt[4:-1].split(), float).reshape(-1, 2)
    t_half = [pts[1, 0] + 10e-12, pts[3, 0] + 10e-12]
    assert t_half[1] - t_half[0] == pytest.approx(2e-9)


@pytest.mark.spice
def test_user_cell_and_model_cards_can_be_swapped_in(tmp_path):
    require_spice()
    lib = tmp_path / "my_pdk.lib"
    lib.write_text("* my cards\n.model my_n nmos level=1 vto=-0.3 kp=100u\n"
                   ".model my_p pmos level=1 vto=0.3 kp=40u\n")
    cell = tmp_path / "my_cell.cir"
    cell.write_text("* my cell\n.subckt my_cell wwl wbl rwl rwlb bl sn vss\n"
                    "mw wbl wwl sn vss my_n w=1u l=1u\ncs sn vss 5f\n"
                    "mn rwl sn bl bl my_n w=1u l=4u\nmp rwlb sn bl bl my_p w=1u l=2u\n"
                    ".ends my_cell\n")
    kit = CircuitKit.default(model_files=(str(lib),), cell_file=str(cell),
                             cell_subckt="my_cell")
    r = simulate(B.cell_dc_bench(10, [0.9], kit=kit))
    i = r["i(vbl0)"]
    assert i[0] < 0 < i[-1]
    assert Path(kit.model_files[0]).name == "my_pdk.lib"
