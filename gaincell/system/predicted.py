"""The predicted mode: latency, energy and area of a design from circuit physics.

No constant here is fitted to a published total. Inputs: the design (``AttentionConfig``),
the node's technology row (:mod:`gaincell.system.technology`), the circuit assumptions
(:class:`~gaincell.system.circuit.CircuitAssumptions`), the gating mode and, where a SPICE
characterization measured them, per-action energies (``[system.spice_energy]``). Every
formula is one small function below, stated in its docstring; ``gaincell/system/README.md``
lists them per block with their inputs and sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gaincell.params import AttentionConfig
from gaincell.system.breakdown import Breakdown
from gaincell.system.circuit import CircuitAssumptions
from gaincell.system.spec import GATING_MODES, SPICE_KEYS
from gaincell.system.technology import NodeParams, node_params
from gaincell.system.workload import Workload, levels_of

__all__ = ["Amplifier", "integrator_amplifier", "cell_read_energy", "static_energy",
           "Predictor", "GATING_MODES", "SPICE_KEYS"]



@dataclass(frozen=True)
class Amplifier:
    """An integrator amplifier sized to settle its load within one time step.

    Attributes
    ----------
    c_load : float
        Load: integration capacitor plus bit-line capacitance, F.
    t_settle : float
        Time allowed to settle, s.
    n_tau : float
        Time constants needed: ``ln(2 steps)`` (settle to half a step of ``steps``).
    gm : float
        Transconductance, S: ``n_tau c_load / t_settle``.
    bandwidth_hz : float
        Unity-gain bandwidth, Hz: ``gm / (2 pi c_load)``.
    i_bias : float
        Supply current, A: ``max(gm / (gm/I), i_bias_min)``.
    t_on : float
        Time the amplifier is biased per token, s.
    vdd : float
        Supply, V.
    area : float
        Layout area, m^2: ``amp_area_factor (i_bias / j_analog) l_analog``.
    """

    c_load: float
    t_settle: float
    n_tau: float
    gm: float
    bandwidth_hz: float
    i_bias: float
    t_on: float
    vdd: float
    area: float

    @property
    def energy(self) -> float:
        """Energy per conversion, J: ``i_bias vdd t_on``."""
        return self.i_bias * self.vdd * self.t_on

    def to_dict(self) -> dict[str, float]:
        """JSON-ready."""
        return {"c_load_F": self.c_load, "t_settle_s": self.t_settle, "n_tau": self.n_tau,
                "gm_S": self.gm, "bandwidth_Hz": self.bandwidth_hz, "i_bias_A": self.i_bias,
                "t_on_s": self.t_on, "energy_J": self.energy, "area_m2": self.area}


def integrator_amplifier(c_load: float, t_settle: float, steps: float, t_on: float,
                         vdd: float, node_m: float, ca: CircuitAssumptions) -> Amplifier:
    """Size the amplifier that holds a bit line at virtual ground while it integrates.

    The integrator must follow each input edge (a PWM step of ``t_settle``) to half a step
    of ``steps``: a single-pole loop settles as ``exp(-t / tau)``, so ``n_tau = ln(2 steps)``
    and ``tau = t_settle / n_tau``; with the load ``c_load`` (F), ``gm = c_load / tau``. The
    bias follows from the amplifier's efficiency: ``I = gm / (gm/I)``, at least
    ``i_bias_min``. Energy per conversion ``I vdd t_on``; area from the device width
    ``I / j_analog`` at length ``l_analog_f x node``.
    """
    n_tau = math.log(2.0 * steps)
    gm = n_tau * c_load / t_settle
    i_bias = max(gm / ca.gm_over_id, ca.i_bias_min)
    area = ca.amp_area_factor * (i_bias / ca.j_analog) * ca.l_analog_f * node_m
    return Amplifier(c_load=c_load, t_settle=t_settle, n_tau=n_tau, gm=gm,
                     bandwidth_hz=gm / (2 * math.pi * c_load), i_bias=i_bias, t_on=t_on,
                     vdd=vdd, area=area)


def cell_read_energy(charge_abs: float, vdd: float) -> float:
    """Energy drawn from the supplies by cells that moved ``charge_abs`` (C): ``Q vdd`` (J).

    The cell current comes from a supply at ``vdd`` (the read word-line driver, or the
    integrator's output stage for sunk current), not from the ``|v_read - v_bitline|`` across
    the cell: the rest is dissipated in the drivers and the amplifier.
    """
    return charge_abs * vdd


def static_energy(i_leak: float, vdd: float, t: float) -> float:
    """Energy of a constant current ``i_leak`` (A) from ``vdd`` (V) for ``t`` seconds (J)."""
    return i_leak * vdd * t


class Predictor:
    """Everything the predicted mode derives for one design (one head).

    Parameters
    ----------
    cfg : AttentionConfig
        The design.
    spec : SystemSpec
        Node, gating, overrides, SPICE energies, layers.
    """

    def __init__(self, cfg: AttentionConfig, spec) -> None:
        self.cfg, self.spec = cfg, spec
        self.ca = CircuitAssumptions(**spec.circuit)
        self.tech: NodeParams = node_params(spec.technology_nm, spec.technology or None)
        d = cfg.device
        ca, t = self.ca, self.tech
        self.F = spec.technology_nm * 1e-9
        self.vdd = d.vdd
        self.e_g = t.e_gate_at(d.vdd)
        arr = spec.components.get("array", {})
        self.cell_area = arr.get("cell_area", ca.cell_f2 * self.F ** 2)
        self.c_cell = t.c_wire * math.sqrt(self.cell_area) \
            + t.c_mos * ca.access_w_f * self.F * self.F
        self.c_cap = t.c_mim if spec.cap_type == "mim" else t.c_mos
        self.v_swing1 = spec.components.get("stage1", {}).get("v_swing", d.vdd / 2)
        self.v_swing2 = spec.components.get("stage2", {}).get("v_swing", d.vdd / 2)
        self.c_int1 = d.stage1_q_sat / self.v_swing1
        self.c_int2 = d.stage2_q_sat / self.v_swing2
        # clocks and phases
        self.q_steps = levels_of(d.q_levels) - 1
        out_levels = levels_of(d.out_levels)
        # counts per full scale of the signed counter (at least one: a 2-level counter)
        self.fs_counts = max(1, int(round((out_levels - 1) / 2)))
        self.counter_bits = int(math.ceil(math.log2(self.fs_counts + 1))) + 1
        self.kv_steps = levels_of(d.kv_levels) - 1
        t_min = ca.cycle_fo4 * t.fo4
        self.t_cycle_min = t_min
        self.t_pwm = max(d.t_max, self.q_steps * t_min)
        self.t_count = max(d.t_max, self.fs_counts * t_min)
        self.f_clk = self.q_steps / self.t_pwm
        self.n_sub, self.D, self.W = cfg.n_subarrays, cfg.head_dim, cfg.window
        self.rows = cfg.n_row_tiles * cfg.array_rows
        self.n_tiles = cfg.n_subarrays * cfg.n_row_tiles
        self.stages = int(math.ceil(math.log2(self.n_sub))) if self.n_sub > 1 else 0
        self.out_bits = self.counter_bits + self.stages
        self.q_bits = max(1, int(math.ceil(math.log2(levels_of(d.q_levels)))))
        self.kv_bits = max(1, int(math.ceil(math.log2(levels_of(d.kv_levels)))))
        # amplifiers: stage 1 integrates during the query pulses and converts for T_max;
        # stage 2 integrates during the phi pulses (T_max) and converts while counting
        self.amp1 = integrator_amplifier(self.c_int1 + self.rows * self.c_cell,
                                         self.t_pwm / self.q_steps, self.q_steps,
                                         self.t_pwm + d.t_max, d.vdd, self.F, ca)
        self.amp2 = integrator_amplifier(self.c_int2 + cfg.array_cols * self.c_cell,
                                         d.t_max / self.fs_counts, self.fs_counts,
                                         d.t_max + self.t_count, d.vdd, self.F, ca)
        c_wbl = cfg.array_cols * self.c_cell + d.c_store
        self.dac_buf = integrator_amplifier(c_wbl, ca.t_write / 2, self.kv_steps, ca.t_write,
                                            d.vdd, self.F, ca)
        self.c_wbl = cfg.array_cols * self.c_cell
        # comparators slew their output node by vdd within one time step
        self.i_comp1 = ca.comp_c_load * d.vdd / (self.t_pwm / self.q_steps)
        self.i_comp2 = ca.comp_c_load * d.vdd / (d.t_max / self.fs_counts)
        self.i_ref1 = d.stage1_q_sat / d.t_max
        self.i_ref2 = d.stage2_q_sat / d.t_max
        self.toggle_gates = ca.ff_gates / 2 + 2     # one counter bit toggling: FF + incrementer
        self.spice = dict(spec.spice_energy or {})

    # -- gate counts -------------------------------------------------------------------------
    def gates(self) -> dict[str, float]:
        """NAND2 equivalents per head, by block."""
        ca = self.ca
        return {
            "pwm": self.q_bits * (ca.ff_gates + 2) + self.D * (2 * self.q_bits + 2),
            "counters": self.n_sub * self.D * self.counter_bits * (ca.ff_gates + 2),
            "adder": (self.n_sub - 1) * self.D * self.out_bits * ca.fa_gates
            + self.stages * self.D * self.out_bits * ca.ff_gates,
            "controller": self.n_tiles * ca.ctrl_gates_tile + ca.ctrl_gates_head,
            "dac_decoders": 2 * self.D * 2 * (self.kv_steps + 1),
        }

    # -- latency -----------------------------------------------------------------------------
    def latency(self) -> Breakdown:
        """Per-token latency of one layer, s, by phase."""
        ca, t, d = self.ca, self.tech, self.cfg.device
        t_stage = (self.out_bits * ca.adder_fo4_per_bit + ca.reg_fo4) * t.fo4
        items = (
            ("write", "K/V write (DAC settle + write pulse)", ca.t_write),
            ("read", "bit-line and integrator reset", ca.t_reset),
            ("read", "query pulses on K (stage-1 integration)", self.t_pwm),
            ("read", "stage-1 charge-to-pulse (phi drives V)", d.t_max),
            ("read", "stage-2 signed conversion and count", self.t_count),
            ("digital", "adder tree over sub-arrays", self.stages * t_stage),
            ("digital", "output handshake", ca.handshake_cycles / self.f_clk),
        )
        return Breakdown("latency per token per layer", "s", items)

    # -- area --------------------------------------------------------------------------------
    def area(self) -> Breakdown:
        """Area of one head, m^2, by block."""
        ca, t = self.ca, self.tech
        g = self.gates()
        comp = ca.comp_area_f2 * self.F ** 2
        n2 = self.n_sub * self.D
        c_wl = self.W * self.c_cell
        # a fan-out-of-4 buffer chain into C_wl: its stages' inputs sum to C_wl (1/4 + 1/16
        # + ...) = C_wl / 3, in NAND2 equivalents of input capacitance c_gate_load
        driver_gates = max(1.0, c_wl / (3 * t.c_gate_load))
        dac = (self.kv_steps * self.ca.dac_c_unit / self.c_cap + self.dac_buf.area)
        items = [
            ("cells", "K gain cells", self.rows * self.W * self.cell_area),
            ("cells", "V gain cells", self.W * self.rows * self.cell_area),
            ("periphery", "stage-1 integration capacitors", self.W * self.c_int1 / self.c_cap),
            ("periphery", "stage-1 amplifiers", self.W * self.amp1.area),
            ("periphery", "stage-1 comparators", self.W * comp),
            ("periphery", "stage-2 integration capacitors", n2 * self.c_int2 / self.c_cap),
            ("periphery", "stage-2 amplifiers", n2 * self.amp2.area),
            ("periphery", "stage-2 comparators", n2 * 2 * comp),
            ("periphery", "query word-line drivers", self.D * driver_gates * t.gate_area),
            ("periphery", "write DACs", 2 * self.D * dac + g["dac_decoders"] * t.gate_area),
            ("digital", "PWM generators", g["pwm"] * t.gate_area),
            ("digital", "signed counters", g["counters"] * t.gate_area),
            ("digital", "adder tree", g["adder"] * t.gate_area),
            ("digital", "controller", g["controller"] * t.gate_area),
        ]
        routed = sum(v for _, _, v in items)
        items.append(("digital", "routing channels", ca.routing_area_fraction * routed))
        return Breakdown("area per head", "m^2", tuple(items))

    def tile_pitch(self, area: Breakdown) -> float:
        """Edge of one tile, m: the head's area without routing and head-level control over
        the tiles, as a square."""
        by = area.by_item()
        tiled = area.total - by["routing channels"] - self.ca.ctrl_gates_head \
            * self.tech.gate_area
        return math.sqrt(max(tiled, 0.0) / self.n_tiles)

    # -- energy ------------------------------------------------------------------------------
    def energy(self, wl: Workload, t_layer: float, t_token: float, pitch: float,
               quantity: str, use_spice: bool = True) -> Breakdown:
        """Energy per token per head, J, by item; ``t_layer`` (s) the layer's slot,
        ``t_token`` (s) the token period over which static power and leakage are paid."""
        ca, t, d = self.ca, self.tech, self.cfg.device
        vdd, e_g = self.vdd, self.e_g
        spice = self.spice if use_spice else {}
        D, W, n2 = self.D, self.W, self.n_sub * self.D
        swing = d.v_read - d.v_read_idle
        gating = self.spec.gating
        # cell reads: from the supply, or per full-pulse cell read measured in SPICE
        if "cell_read_j" in spice:
            k_eq = wl.q_pulse_width_sum * (wl.k_cells_read / wl.q_pulses if wl.q_pulses
                                           else 0.0)
            v_eq = wl.phi_pulse_width_sum * (wl.v_cells_read / wl.phi_pulses
                                             if wl.phi_pulses else 0.0)
            e_k, e_v = spice["cell_read_j"] * k_eq, spice["cell_read_j"] * v_eq
        else:
            e_k, e_v = cell_read_energy(wl.k_charge_abs, vdd), cell_read_energy(
                wl.v_charge_abs, vdd)
        # converters (amplifier, comparators, reference currents)
        n1, n2c = wl.stage1_conversions, wl.stage2_conversions
        amp1 = n1 * self.amp1.energy
        amp2 = n2c * self.amp2.energy
        comp1 = n1 * self.i_comp1 * vdd * d.t_max
        comp2 = n2c * 2 * self.i_comp2 * vdd * self.t_count
        ref1 = wl.phi_pulse_width_sum * d.stage1_q_sat * vdd \
            + (n1 / ca.ref_share) * self.i_ref1 * vdd * d.t_max
        ref2 = wl.counter_counts_abs / max(self.fs_counts, 1) * d.stage2_q_sat * vdd \
            + (n2c / ca.ref_share) * self.i_ref2 * vdd * self.t_count
        if "conversion_j" in spice:
            amp1, comp1, ref1 = n1 * spice["conversion_j"], 0.0, 0.0
            amp2, comp2, ref2 = n2c * spice["conversion_j"], 0.0, 0.0
        # word lines
        e_qwl = wl.q_pulses * W * self.c_cell * vdd * swing
        e_phiwl = wl.phi_pulses * D * self.c_cell * vdd * swing
        # PWM generators: a shared counter, per-row comparators, pulse latches
        e_pwm = (self.q_steps * (self.q_bits * ca.ff_clock_gates + 2 * self.toggle_gates)
                 + D * self.q_steps * 2 * self.q_bits * ca.data_activity
                 + 2 * wl.q_pulses) * e_g
        # counters
        e_cnt_clock = n2c * self.fs_counts * self.counter_bits * ca.ff_clock_gates * e_g
        e_step = spice.get("counter_step_j", 2 * self.toggle_gates * e_g)
        e_cnt = e_cnt_clock + wl.counter_counts_abs * e_step
        # adder tree
        bit_ops = (self.n_sub - 1) * D * self.out_bits
        e_add = (bit_ops * ca.fa_gates * ca.data_activity
                 + self.stages * D * self.out_bits * ca.ff_clock_gates) * e_g
        # controller and clock tree over the layer's slot
        g_ctrl = self.gates()["controller"]
        length = self.n_sub * pitch
        e_cycle = (g_ctrl * ca.ctrl_ff_fraction * ca.ff_clock_gates
                   + g_ctrl * ca.logic_activity) * e_g
        e_clk_cycle = ca.clock_tree_factor * length * t.c_wire * vdd ** 2
        cycles = self.f_clk * t_layer
        e_ctrl, e_clk = cycles * e_cycle, cycles * e_clk_cycle
        # routing (as the calibrated floorplan: tiles in a row at the predicted pitch)
        e_bit_m = ca.data_activity * t.c_wire * vdd ** 2
        bm_query = D * self.q_bits * length
        bm_kv = 2 * D * self.kv_bits * length / 2
        bm_sums = D * self.counter_bits * self.stages * length / 2
        # DACs and writes
        n_w = wl.cells_written
        e_dac_core = n_w * 0.5 * self.kv_steps * ca.dac_c_unit * vdd ** 2
        e_dac_buf = n_w * self.dac_buf.energy
        e_wbl = self.c_wbl * vdd * wl.write_voltage_sum
        e_write = d.c_store * vdd * wl.write_voltage_sum + n_w * self.c_cell * vdd ** 2
        if "cell_write_j" in spice:
            e_dac_buf, e_wbl, e_write = 0.0, 0.0, n_w * spice["cell_write_j"]
        # static power and leakage over the token period
        gates = sum(self.gates().values())
        i_gates = gates * ca.w_leak_gate_f * self.F * t.i_off
        i_cells = 2 * self.rows * W * ca.w_leak_cell_f * self.F * t.i_off
        w_analog = (W * self.amp1.i_bias + n2 * self.amp2.i_bias
                    + 2 * D * self.dac_buf.i_bias) / ca.j_analog
        i_analog_off = w_analog * ca.sleep_width_fraction * t.i_off   # through the header
        bias_total = (W * (self.amp1.i_bias + self.i_comp1)
                      + n2 * (self.amp2.i_bias + 2 * self.i_comp2)
                      + 2 * D * self.dac_buf.i_bias
                      + (W / ca.ref_share) * self.i_ref1 + (n2 / ca.ref_share) * self.i_ref2)
        idle = max(t_token - t_layer, 0.0)
        if gating == "power":   # biases off outside their phases: only their leakage
            e_bias_idle = 0.0
            e_analog_leak = static_energy(i_analog_off, vdd, idle)
        else:                   # biases stay on outside the layer's slot
            e_bias_idle = static_energy(bias_total, vdd, idle)
            e_analog_leak = 0.0
        e_clock_idle = (self.f_clk * idle * (e_cycle + e_clk_cycle)) if gating == "none" \
            else 0.0
        items = (
            ("stage1", "K array read (cell charge from the supply)", e_k),
            ("stage1", "query word lines", e_qwl),
            ("stage1", "stage-1 integrator amplifiers", amp1),
            ("stage1", "stage-1 comparators", comp1),
            ("stage1", "stage-1 reference currents", ref1),
            ("stage2", "V array read (cell charge from the supply)", e_v),
            ("stage2", "phi word lines", e_phiwl),
            ("stage2", "stage-2 integrator amplifiers", amp2),
            ("stage2", "stage-2 comparators", comp2),
            ("stage2", "stage-2 reference currents", ref2),
            ("stage2", "signed counters", e_cnt),
            ("digital", "PWM generators", e_pwm),
            ("digital", "controller (layer slot)", e_ctrl),
            ("digital", "clock tree (layer slot)", e_clk),
            ("digital", "adder tree", e_add),
            ("digital", "routing: query broadcast", bm_query * e_bit_m),
            ("digital", "routing: K/V delivery", bm_kv * e_bit_m),
            ("digital", "routing: partial sums", bm_sums * e_bit_m),
            ("dac", "DAC cores", e_dac_core),
            ("dac", "DAC output buffers", e_dac_buf),
            ("dac", "write bit lines", e_wbl),
            ("dac", "K/V cell writes", e_write),
            ("static", "analog bias outside the layer slot (not power-gated)", e_bias_idle),
            ("static", "clock outside the layer slot (not clock-gated)", e_clock_idle),
            ("static", "leakage: digital gates", static_energy(i_gates, vdd, t_token)),
            ("static", "leakage: gain cells", static_energy(i_cells, vdd, t_token)),
            ("static", "leakage: gated-off analog devices", e_analog_leak),
        )
        return Breakdown(quantity, "J", items)

    def derived(self) -> dict[str, Any]:
        """The derived circuit quantities (JSON-ready), for reports and hand checks."""
        return {
            "technology": self.tech.to_dict(),
            "cell_area_m2": self.cell_area,
            "c_line_per_cell_F": self.c_cell,
            "capacitor": self.spec.cap_type, "cap_density_F_per_m2": self.c_cap,
            "c_int_stage1_F": self.c_int1, "c_int_stage2_F": self.c_int2,
            "stage1_amplifier": self.amp1.to_dict(), "stage2_amplifier": self.amp2.to_dict(),
            "dac_buffer": self.dac_buf.to_dict(),
            "comparator_bias_A": {"stage1": self.i_comp1, "stage2": self.i_comp2},
            "reference_current_A": {"stage1": self.i_ref1, "stage2": self.i_ref2},
            "clock_hz": self.f_clk, "shortest_cycle_s": self.t_cycle_min,
            "gate_energy_J": self.e_g, "gates": self.gates(),
            "gating": self.spec.gating,
            "spice_energy": dict(self.spec.spice_energy) if self.spec.spice_energy else None,
            "circuit": self.ca.params(),
        }
