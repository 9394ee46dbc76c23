"""Every netlist the SPICE layer writes sets gmin <= 1e-18 S (issue 11: ngspice's default
1e-12 S is a leakage of its own), for both kits, and so do the shipped example decks."""

import inspect
import re

import numpy as np
import pytest
from spice_support import require_pdk

from gaincell.spice import benches as B
from gaincell.spice import validate as V
from gaincell.spice.examples import example_decks
from gaincell.spice.kits import generic_kit, kit_design

_GMIN = re.compile(r"^\s*\.options\b.*\bgmin\s*=\s*([0-9.eE+-]+)", re.I | re.M)


def _builders(d):
    z2 = np.zeros((2, 2)) + d.v_weight_zero
    return {
        "cell_dc_bench": lambda k: B.cell_dc_bench(4, [d.v_read_idle, d.v_read], d, k),
        "retention_bench": lambda k: B.retention_bench([0.0, d.vdd], 1e-3, d, k),
        "column_bench": lambda k: B.column_bench([0.1, 0.2], [0.5, 1.0], d, k),
        "c2p_bench": lambda k: B.c2p_bench([1e-13], d, k),
        "c2p_signed_bench": lambda k: B.c2p_signed_bench([-1e-13], d, k),
        "tile_bench": lambda k: B.tile_bench(np.zeros(2), z2, z2, d, k),
        "column_written_bench": lambda k: B.column_written_bench([0.1, 0.2], [[0.5, 1.0]], d, k),
        "tile_written_bench": lambda k: B.tile_written_bench([[0.5, 1.0]], z2, z2, d, k),
        "leakage_bench": lambda k: B.leakage_bench([0.0, d.vdd], d, k),
        "disturb_bench": lambda k: B.disturb_bench([0.1, 0.2], [0.5, 1.0], d, k, q_probe=1e-15),
        "energy_bench": lambda k: B.energy_bench(d.vdd, d, k, 1e-15, 1e-15, 1e-15),
        "cell_points_bench": lambda k: V.cell_points_bench([0.1, 0.2], d, k),
        "tile_k_bench": lambda k: B.tile_k_bench([[0.5, 1.0]], z2, [1], d, k),
        "tile_v_bench": lambda k: B.tile_v_bench([([0.0, 1e-9], [0.0, 0.0])] * 2, z2, [0], d,
                                                 k),
        "ota_dc_bench": lambda k: B.ota_dc_bench(k, d, 1e-4),
        "ota_step_bench": lambda k: B.ota_step_bench(k, d, 1.0, 0.02, 1e-4),
        "conversion_energy_bench": lambda k: B.conversion_energy_bench(k, d, 1e-4, 1e-13,
                                                                       1e-13),
        "gate_energy_bench": lambda k: B.gate_energy_bench(k, d),
    }


def test_the_scan_covers_every_bench_builder():
    names = {n for n, f in inspect.getmembers(B, inspect.isfunction) if n.endswith("_bench")}
    names |= {n for n, f in inspect.getmembers(V, inspect.isfunction) if n.endswith("_bench")}
    assert names <= set(_builders(kit_design("generic").device)), names


def _check(nl):
    vals = [float(x) for x in _GMIN.findall(nl.text)]
    assert vals, f"{nl.name} does not set gmin"
    assert all(v <= 1e-18 for v in vals), (nl.name, vals)


@pytest.mark.parametrize("kit_name", ["generic", "gf180"])
def test_every_generated_netlist_sets_gmin(kit_name):
    kit = generic_kit() if kit_name == "generic" else require_pdk()
    d = kit_design(kit_name).device
    for build in _builders(d).values():
        _check(build(kit))


def test_shipped_example_decks_set_gmin():
    for nl in example_decks():
        _check(nl)


def test_a_deck_without_gmin_is_caught():
    from gaincell.spice.netlist import Netlist

    with pytest.raises(AssertionError):
        _check(Netlist("* x\n.options reltol=1e-3\n.end\n", "x.cir"))
    with pytest.raises(AssertionError):
        _check(Netlist("* x\n.options gmin=1e-12\n.end\n", "x.cir"))
