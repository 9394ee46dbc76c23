"""Circuit assumptions of the predicted mode: the design choices no table or paper fixes.

Each field is a circuit-design quantity (an amplifier's efficiency, a gate count, a sizing
rule), never a constant fitted to a published total. Override any of them in a design file's
``[system.circuit]`` table; reports then label it "design file override".
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from gaincell.system.components.base import check_param

__all__ = ["CircuitAssumptions"]


@dataclass(frozen=True)
class CircuitAssumptions:
    """Sizing rules and gate counts of the predicted mode (SI units; F = the node, m).

    Attributes
    ----------
    gm_over_id : float
        Transconductance per unit supply current of an amplifier, 1/V. Default 15.
    l_analog_f : float
        Channel length of analog devices in units of the node. Default 4.
    j_analog : float
        Drain current per width of a biased analog device, A/m. Default 5 (5 uA/um).
    amp_area_factor : float
        Amplifier layout area over the width x length of its bias-carrying devices. Default 8.
    comp_c_load : float
        Capacitance a comparator slews by vdd within one time step, F. Default 10 fF.
    comp_area_f2 : float
        Area of one comparator with its pulse logic, in F^2. Default 2e4.
    ref_share : float
        Converters sharing one reference-current bias branch. Default 64 (one per sub-array).
    dac_c_unit : float
        Unit capacitor of the write DAC core, F. Default 2 fF.
    i_bias_min : float
        Smallest practical bias current of an amplifier, A. Default 1 uA.
    ff_gates, fa_gates : float
        NAND2 equivalents of a flip-flop and of a full adder. Default 6 and 7.
    ff_clock_gates : float
        NAND2-equivalent toggles a flip-flop's clock input costs per cycle. Default 1.5.
    data_activity : float
        Probability that a data bit toggles (adders, routing, comparators), in [0, 1]. 0.5.
    logic_activity : float
        Toggle probability per cycle of control logic, in [0, 1]. Default 0.1.
    ctrl_gates_tile, ctrl_gates_head : float
        Control gates per sub-array tile and per head. Default 400 and 2000.
    ctrl_ff_fraction : float
        Fraction of the control gates that are flip-flops (clocked every cycle). 0.3.
    handshake_cycles : float
        Controller clock cycles of the output handshake. Default 2.
    cycle_fo4 : float
        Shortest clock period of a counter or pulse generator, in FO4 delays. Default 20.
    adder_fo4_per_bit, reg_fo4 : float
        Ripple-carry delay per bit and register overhead of an adder-tree stage, FO4. 2 and 4.
    t_reset : float
        Bit-line / integrator reset and amplifier wake-up before a read, s. Default 5 ns.
    t_write : float
        Write phase (DAC buffer settles the write bit line, then the write pulse), s. 5 ns.
    cell_f2 : float
        Gain-cell area in F^2. Default 1276 (1 um^2 at 28 nm).
    access_w_f : float
        Width of a cell's word-line-loaded gate in F (length F). Default 2.
    w_leak_gate_f, w_leak_cell_f : float
        Leaking transistor width per NAND2 equivalent and per gain cell, in F. 6 and 2.
    sleep_width_fraction : float
        Width of a power-gating header over the width of the devices it gates. Default 0.1.
    clock_tree_factor : float
        Clock wire length over the head's length (H-tree). Default 2.
    routing_area_fraction : float
        Routing channels as a fraction of the routed blocks. Default 0.1.
    mac_rate : float
        Digital throughput for the projections and MLP between attention layers, MAC/s.
        Default 4.59e13 (65,536 MACs at 700 MHz).
    """

    gm_over_id: float = 15.0
    l_analog_f: float = 4.0
    j_analog: float = 5.0
    amp_area_factor: float = 8.0
    comp_c_load: float = 10e-15
    comp_area_f2: float = 2e4
    ref_share: float = 64.0
    dac_c_unit: float = 2e-15
    i_bias_min: float = 1e-6
    ff_gates: float = 6.0
    fa_gates: float = 7.0
    ff_clock_gates: float = 1.5
    data_activity: float = 0.5
    logic_activity: float = 0.1
    ctrl_gates_tile: float = 400.0
    ctrl_gates_head: float = 2000.0
    ctrl_ff_fraction: float = 0.3
    handshake_cycles: float = 2.0
    cycle_fo4: float = 20.0
    adder_fo4_per_bit: float = 2.0
    reg_fo4: float = 4.0
    t_reset: float = 5e-9
    t_write: float = 5e-9
    cell_f2: float = 1276.0
    access_w_f: float = 2.0
    w_leak_gate_f: float = 6.0
    w_leak_cell_f: float = 2.0
    sleep_width_fraction: float = 0.1
    clock_tree_factor: float = 2.0
    routing_area_fraction: float = 0.1
    mac_rate: float = 4.59e13

    SOURCES: ClassVar[dict[str, str]] = {
        "gm_over_id": "assumption: single-stage OTA in moderate inversion, gm / I_supply = "
                      "15 /V (gm/ID design range 5-25 /V: Jespers & Murmann, Systematic "
                      "Design of Analog CMOS Circuits, CUP 2017)",
        "l_analog_f": "assumption: analog devices at 4x minimum length (gain, matching)",
        "j_analog": "assumption: 5 uA/um at moderate inversion (Jespers & Murmann 2017)",
        "amp_area_factor": "assumption: layout area 8x the bias devices' W x L",
        "comp_c_load": "assumption: 10 fF comparator output node (pulse logic input)",
        "comp_area_f2": "assumption: 2e4 F^2 per comparator with pulse logic",
        "ref_share": "assumption: one reference bias branch per sub-array (64 converters)",
        "dac_c_unit": "assumption: 2 fF matching-limited unit capacitor",
        "i_bias_min": "assumption: 1 uA smallest practical amplifier bias",
        "ff_gates": "assumption: flip-flop = 6 NAND2 equivalents (textbook standard cells)",
        "fa_gates": "assumption: full adder = 7 NAND2 equivalents (28T mirror adder)",
        "ff_clock_gates": "assumption: a flip-flop's clock pin costs 1.5 gate toggles a cycle",
        "data_activity": "assumption: random data toggles half the bits",
        "logic_activity": "assumption: control logic toggles 10 % of its gates a cycle",
        "ctrl_gates_tile": "assumption: 400-gate sequencer and timing counters per tile",
        "ctrl_gates_head": "assumption: 2000 gates of head-level control",
        "ctrl_ff_fraction": "assumption: 30 % of control gates are flip-flops",
        "handshake_cycles": "assumption: 2-cycle output register and handshake",
        "cycle_fo4": "assumption: 20 FO4 per clock period of counters and pulse generators",
        "adder_fo4_per_bit": "assumption: ripple carry 2 FO4 per bit",
        "reg_fo4": "assumption: 4 FO4 register overhead per adder stage",
        "t_reset": "assumption: 5 ns reset and amplifier wake-up",
        "t_write": "assumption: 5 ns write phase (the DAC buffer is sized for it)",
        "cell_f2": "unconfirmed: about 1 um^2 per 6T gain cell at 28 nm, as F^2",
        "access_w_f": "assumption: word-line-loaded cell gate of 2F x F",
        "w_leak_gate_f": "assumption: two off devices of 3F per NAND2 equivalent",
        "w_leak_cell_f": "assumption: one off read device of 2F per gain cell",
        "sleep_width_fraction": "assumption: power-gating header 10 % of the gated width",
        "clock_tree_factor": "assumption: H-tree clock wire 2x the head's length",
        "routing_area_fraction": "assumption: routing channels 10 % of the routed blocks",
        "mac_rate": "assumption: a TPU v1-sized MAC array (65,536 MACs at 700 MHz, Jouppi "
                    "et al., ISCA 2017) fully used for the 12 d_model^2 MACs per layer",
    }

    _UNIT_FRACTIONS: ClassVar[tuple[str, ...]] = ("data_activity", "logic_activity",
                                                  "ctrl_ff_fraction", "sleep_width_fraction")

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            hi = 1.0 if f.name in self._UNIT_FRACTIONS else None
            check_param("CircuitAssumptions", f.name, v, 0.0, hi, lo_open=hi is None)

    @classmethod
    def tunable(cls) -> tuple[str, ...]:
        """Names overridable in ``[system.circuit]``: every field."""
        return tuple(f.name for f in fields(cls))

    def params(self) -> dict[str, Any]:
        """Field -> value."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def sources(self) -> dict[str, str]:
        """Field -> where its default comes from."""
        return dict(self.SOURCES)
