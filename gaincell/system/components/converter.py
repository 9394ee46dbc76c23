"""Bit-line integrator and charge-to-pulse converter (the ADC-free HardSigmoid readout)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gaincell.params import LEROUX2025_V_READ, LEROUX2025_V_READ_IDLE, LEROUX2025_VDD
from gaincell.system.components.base import Action, Component, check_param, wordline_energy

__all__ = ["ChargeToPulse", "STAGE1_CONVERSION_J", "STAGE2_CONVERSION_J"]

#: Energy of one first-stage (unsigned) conversion, J: comparator bias over the conversion
#: window, integrator reset and pulse logic. Source: calibrated so that the leroux2025 point
#: gives the paper's 1120 pJ for the phi(Q K) stage per token and head (code,
#: utils/plot_energy.py) after the K-array and query-driver terms.
STAGE1_CONVERSION_J = 130.24e-15
#: Energy of one second-stage (signed) conversion, J (two comparators and sign logic; the
#: counter is separate). Source: calibrated so that the leroux2025 point gives the paper's
#: 700 pJ for the phi(S) V stage after the V-array, phi-drive and counter terms.
STAGE2_CONVERSION_J = 172.32e-15


@dataclass(frozen=True)
class ChargeToPulse(Component):
    """One bit-line integrator with its charge-to-pulse converter.

    The bit-line charge is integrated on ``C_int = q_sat / v_swing`` (so that the full-scale
    charge ``q_sat`` uses the integrator's swing), then discharged by a reference current
    while a comparator holds the output pulse; the pulse lasts ``T_max`` at full scale. The
    integrated charge itself was paid for by the cells (:class:`GainCellArray`); each
    conversion costs ``energy_conv`` (comparator bias over the window, reset, logic). The
    first stage's output pulse drives a V-array word line of ``line_cells`` cells
    (:meth:`drive`). Area: the integration capacitor at ``cap_density`` plus the comparator(s).

    Attributes
    ----------
    signed : bool
        Second-stage (signed, two comparators) or first-stage (unsigned) converter.
    q_sat : float
        Full-scale charge, C. Preset 1.2 pC (stage 1) and 0.6 pC (stage 2) (code: 80 and
        40 uA x T_max).
    t_max : float
        Conversion window (longest output pulse), s. Preset 15 ns (paper).
    energy_conv : float
        Energy per conversion, J (calibrated, see the module constants).
    v_swing : float
        Integrator voltage swing at full scale, V. Default 0.45 (assumption: half of VDD).
    cap_density : float
        Capacitance per area of the integration capacitor, F/m^2. Default 1e-2
        (10 fF/um^2, assumption: MOS capacitor).
    line_cells : int
        Cells on the word line the output pulse drives (stage 1: head_dim V cells), >= 0.
    c_rwl_per_cell : float
        Read word-line capacitance per cell, F. Default 0.1 fF (assumption).
    v_read, v_idle, vdd : float
        Output pulse high level, idle level, supply, V. Preset 0.9, 0.45, 0.9 (paper).
    area_comparator : float
        Area of one comparator with its pulse logic, m^2. Default 10 um^2 (assumption).
    """

    signed: bool = False
    q_sat: float = 1.2e-12
    t_max: float = 15e-9
    energy_conv: float = STAGE1_CONVERSION_J
    v_swing: float = LEROUX2025_VDD / 2
    cap_density: float = 1e-2
    line_cells: int = 64
    c_rwl_per_cell: float = 0.1e-15
    v_read: float = LEROUX2025_V_READ
    v_idle: float = LEROUX2025_V_READ_IDLE
    vdd: float = LEROUX2025_VDD
    area_comparator: float = 10e-12

    SOURCES: ClassVar[dict[str, str]] = {
        "signed": "paper: unsigned HardSigmoid (stage 1), signed readout (stage 2)",
        "q_sat": "code: saturation 80 (stage 1) and 40 (stage 2) uA x T_max",
        "t_max": "paper: T_max = 15 ns",
        "energy_conv": "calibrated: paper's 1120 pJ (stage 1) / 700 pJ (stage 2)",
        "v_swing": "assumption: integrator swing VDD/2 = 0.45 V",
        "cap_density": "assumption: 10 fF/um^2 MOS capacitor",
        "line_cells": "design: head_dim V cells per phi word line (stage 1)",
        "c_rwl_per_cell": "assumption: 0.1 fF per cell of read word line",
        "v_read": "paper: read word line at 0.9 V during a pulse",
        "v_idle": "paper Methods / I-V sweep: idle word line at 0.45 V",
        "vdd": "paper: VDD = 0.9 V",
        "area_comparator": "assumption: 10 um^2 per comparator with pulse logic",
    }
    TUNABLE: ClassVar[tuple[str, ...]] = ("energy_conv", "v_swing", "cap_density",
                                          "c_rwl_per_cell", "area_comparator")

    def __post_init__(self) -> None:
        o = "ChargeToPulse"
        if not isinstance(self.signed, bool):
            raise ValueError(f"{o}.signed = {self.signed!r} is invalid: allowed true or false")
        check_param(o, "q_sat", self.q_sat, 0.0, None, "C", lo_open=True)
        check_param(o, "t_max", self.t_max, 0.0, None, "s", lo_open=True)
        check_param(o, "energy_conv", self.energy_conv, 0.0, None, "J")
        check_param(o, "vdd", self.vdd, 0.0, None, "V", lo_open=True)
        check_param(o, "v_swing", self.v_swing, 0.0, self.vdd, "V", lo_open=True)
        check_param(o, "cap_density", self.cap_density, 0.0, None, "F/m^2", lo_open=True)
        check_param(o, "line_cells", self.line_cells, 0, None, integer=True)
        check_param(o, "c_rwl_per_cell", self.c_rwl_per_cell, 0.0, None, "F")
        check_param(o, "v_read", self.v_read, 0.0, self.vdd, "V")
        check_param(o, "v_idle", self.v_idle, 0.0, self.vdd, "V")
        check_param(o, "area_comparator", self.area_comparator, 0.0, None, "m^2")

    @property
    def c_int(self) -> float:
        """Integration capacitance, F: ``q_sat / v_swing``."""
        return self.q_sat / self.v_swing

    def convert(self, n: float) -> Action:
        """``n`` conversions in parallel: energy (J) and the conversion window ``t_max`` (s)."""
        return Action(n * self.energy_conv, self.t_max)

    def drive(self, n_pulses: float) -> Action:
        """``n_pulses`` non-zero output pulses on word lines of ``line_cells`` cells (J)."""
        c = self.line_cells * self.c_rwl_per_cell
        return Action(n_pulses * wordline_energy(c, self.v_read, self.v_idle, self.vdd),
                      self.t_max)

    def area(self) -> float:
        """Area of one converter, m^2: capacitor plus one (unsigned) or two (signed)
        comparators."""
        return self.c_int / self.cap_density + self.area_comparator * (2 if self.signed else 1)
