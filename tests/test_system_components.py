"""Component library: each action's physics, scaling and validation."""

import math

import pytest

from gaincell.system.components import (
    AdderTree,
    ChargeToPulse,
    Controller,
    GainCellArray,
    PWMDriver,
    Routing,
    SignedCounter,
    Technology,
    WriteDAC,
)
from gaincell.system.components.base import Action, wordline_energy

ALL = [GainCellArray, WriteDAC, PWMDriver, ChargeToPulse, SignedCounter, AdderTree,
       Controller, Routing]


@pytest.mark.parametrize("cls", ALL)
def test_every_default_has_a_source_and_tunables_exist(cls):
    comp = cls()
    names = set(comp.params())
    assert set(cls.SOURCES) <= names
    for n in names - {"tech"}:
        assert n in cls.SOURCES, f"{cls.__name__}.{n} has no source"
    for s in cls.SOURCES.values():
        assert s.split(":")[0] in ("paper", "code", "unconfirmed", "calibrated", "derived",
                                   "assumption", "design", "paper Methods / I-V sweep")
    assert set(cls.TUNABLE) <= names


def test_action_repeats_in_parallel():
    a = Action(2e-12, 5e-9) * 3
    assert a.energy == pytest.approx(6e-12) and a.latency == 5e-9


def test_array_read_is_charge_times_voltage():
    arr = GainCellArray(v_read=0.9, v_bitline=0.45)
    assert arr.read(1e-12).energy == pytest.approx(0.45e-12)
    assert arr.read(2e-12).energy == pytest.approx(2 * arr.read(1e-12).energy)
    assert GainCellArray(v_read=0.9, v_bitline=0.3).read(1e-12).energy == pytest.approx(0.6e-12)


def test_array_write_and_area_scale_with_cells():
    arr = GainCellArray(rows=64, cols=1024, c_store=1e-15, c_wwl_per_cell=0.1e-15, vdd=0.9)
    e = arr.write(128, 57.6).energy
    assert e == pytest.approx(1e-15 * 0.9 * 57.6 + 128 * 0.1e-15 * 0.81)
    assert arr.area() == pytest.approx(64 * 1024 * 1e-12)
    assert GainCellArray(rows=64, cols=2048).area() == pytest.approx(2 * arr.area())


def test_wordline_energy_formula():
    assert wordline_energy(10e-15, 0.9, 0.45, 0.9) == pytest.approx(10e-15 * 0.9 * 0.45)


def test_pwm_pulse_scales_with_line_length_and_generator_with_levels():
    p = PWMDriver(line_cells=1024)
    assert PWMDriver(line_cells=2048).pulse(1).energy == pytest.approx(2 * p.pulse(1).energy)
    assert p.pulse(1).latency == pytest.approx(15e-9)
    assert PWMDriver(levels=31).generate(1).energy == pytest.approx(2 * p.generate(1).energy)
    assert p.clock_hz == pytest.approx(1e9)


def test_dac_levels_scaling():
    d8, d16 = WriteDAC(levels=8), WriteDAC(levels=15)
    assert d16.convert(1, 0.0).energy == pytest.approx(2 * d8.convert(1, 0.0).energy)
    assert d16.area() == pytest.approx(2 * d8.area())
    # write bit line charged to the output voltage
    assert d8.convert(0, 1.0).energy == pytest.approx(64 * 0.1e-15 * 0.9 * 1.0)


def test_converter_capacitor_area_follows_full_scale_charge():
    c1 = ChargeToPulse(q_sat=1.2e-12, v_swing=0.45, cap_density=1e-2, area_comparator=0.0)
    assert c1.c_int == pytest.approx(1.2e-12 / 0.45)
    assert c1.area() == pytest.approx(c1.c_int / 1e-2)
    c2 = ChargeToPulse(signed=True, q_sat=0.6e-12, area_comparator=10e-12)
    assert c2.area() == pytest.approx(0.6e-12 / 0.45 / 1e-2 + 20e-12)


def test_counter_counts_and_time():
    c = SignedCounter(levels=32)
    assert c.full_scale_counts == 16
    assert c.conversion_time == pytest.approx(15e-9)
    assert SignedCounter(levels=64).conversion_time == pytest.approx(30e-9)
    e0 = c.count(1, 0).energy
    assert c.count(1, 5).energy - e0 == pytest.approx(5 * c.e_increment)


def test_adder_tree_depth_and_work():
    a = AdderTree(n_inputs=16, width=64, in_bits=6)
    assert a.stages == 4 and a.out_bits == 10
    assert a.bit_ops == 15 * 64 * 10
    assert AdderTree(n_inputs=32).add().latency - a.add().latency == pytest.approx(1.25e-9)
    assert AdderTree(n_inputs=1).add().latency == 0.0


def test_controller_energy_is_power_times_time():
    c = Controller(n_tiles=16, power_per_tile=1e-3)
    assert c.run(65e-9).energy == pytest.approx(16e-3 * 65e-9)
    assert Controller(n_tiles=32, power_per_tile=1e-3).run(65e-9).energy == pytest.approx(
        2 * c.run(65e-9).energy)


def test_routing_energy_per_bit_metre():
    r = Routing(c_wire=2e-10, activity=0.5, vdd=0.9)
    assert r.move(1.0).energy == pytest.approx(0.5 * 2e-10 * 0.81)


def test_technology_scaling_rules():
    t = Technology(node=14e-9, vdd=0.9)
    assert t.energy_scale == pytest.approx(0.5)
    assert t.area_scale == pytest.approx(0.25)
    assert t.delay_scale == pytest.approx(0.5)
    assert Technology(vdd=0.45).energy_scale == pytest.approx(0.25)
    a28 = AdderTree()
    a14 = AdderTree(tech=t)
    assert a14.add().energy == pytest.approx(0.5 * a28.add().energy)
    assert a14.area() == pytest.approx(0.25 * a28.area())


@pytest.mark.parametrize("make, name", [
    (lambda: GainCellArray(rows=0), "GainCellArray.rows"),
    (lambda: GainCellArray(cell_area=-1e-12), "GainCellArray.cell_area"),
    (lambda: WriteDAC(levels=1), "WriteDAC.levels"),
    (lambda: PWMDriver(t_max=0.0), "PWMDriver.t_max"),
    (lambda: ChargeToPulse(v_swing=2.0), "ChargeToPulse.v_swing"),
    (lambda: SignedCounter(clock_hz=float("nan")), "SignedCounter.clock_hz"),
    (lambda: Routing(activity=1.5), "Routing.activity"),
    (lambda: Technology(node=1e-6), "Technology.node"),
    (lambda: Controller(n_tiles=2.5), "Controller.n_tiles"),
])
def test_bad_parameters_name_the_parameter_and_range(make, name):
    with pytest.raises(ValueError, match=name.replace(".", r"\.") + r" = .* allowed"):
        make()


def test_no_component_returns_nan():
    for cls in ALL:
        comp = cls()
        for v in comp.params().values():
            if isinstance(v, float):
                assert math.isfinite(v)
