"""Technology table: a source per value, exact rows, log-space interpolation, refusal outside."""

import math

import pytest

from gaincell.system.technology import QUANTITIES, node_params, technology_table


def test_table_has_the_required_nodes_and_a_source_per_quantity():
    rows, sources = technology_table()
    nodes = {r["nm"] for r in rows}
    assert {180, 65, 28, 22} <= nodes
    assert set(sources) == set(QUANTITIES)
    for q, s in sources.items():
        assert len(s) > 20, q
    for r in rows:
        assert set(QUANTITIES) <= set(r)
        assert all(r[q] > 0 for q in QUANTITIES)


def test_exact_rows_are_returned_unchanged():
    p = node_params(28)
    assert (p.vdd, p.e_gate, p.c_mim, p.i_off) == (0.9, 0.7e-15, 2e-3, 3e-3)
    assert "[28 nm row]" in p.sources["e_gate"]
    assert node_params(180).c_mim == 1.5e-3          # GF180MCU PDK 1.5 fF/um^2 MIM option
    assert "GF180MCU" in node_params(180).sources["c_mim"]


def test_interpolation_is_linear_in_log_space():
    # the geometric mean of two nodes gives the geometric mean of every quantity
    node = math.sqrt(28 * 45)
    p = node_params(node)
    assert p.e_gate == pytest.approx(math.sqrt(0.7e-15 * 1.2e-15), rel=1e-12)
    assert p.gate_area == pytest.approx(math.sqrt(0.4e-12 * 0.8e-12), rel=1e-12)
    assert p.vdd == pytest.approx(math.sqrt(0.9 * 1.0), rel=1e-12)
    assert "log interpolation between 28 and 45 nm" in p.sources["fo4"]
    # and a general point by hand: t = ln(40/28) / ln(45/28)
    t = math.log(40 / 28) / math.log(45 / 28)
    assert node_params(40).i_off == pytest.approx(3e-3 ** (1 - t) * 2e-3 ** t, rel=1e-12)


@pytest.mark.parametrize("node", [14, 7.0, 250, float("nan"), "28", True])
def test_outside_the_table_is_refused(node):
    with pytest.raises(ValueError, match=r"technology_nm = .* allowed \[22, 180\] nm"):
        node_params(node)


def test_overrides_and_their_labels():
    p = node_params(28, {"c_mim": 1e-3})
    assert p.c_mim == 1e-3 and p.sources["c_mim"] == "design file override"
    assert p.c_mos == node_params(28).c_mos
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['c_mimm'\]"):
        node_params(28, {"c_mimm": 1e-3})
    with pytest.raises(ValueError, match="c_mim = -1.0 is invalid"):
        node_params(28, {"c_mim": -1.0})


def test_gate_energy_follows_the_supply_squared():
    p = node_params(28)
    assert p.e_gate_at(0.9) == pytest.approx(p.e_gate)
    assert p.e_gate_at(0.45) == pytest.approx(p.e_gate / 4)
    assert p.c_gate_load == pytest.approx(0.7e-15 / 0.81)
