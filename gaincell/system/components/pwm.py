"""PWM query driver: turns a digital query element into a word-line pulse of width q T_max."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gaincell.params import LEROUX2025_V_READ, LEROUX2025_V_READ_IDLE, LEROUX2025_VDD
from gaincell.system.components.base import (
    Action,
    Component,
    Technology,
    check_param,
    wordline_energy,
)

__all__ = ["PWMDriver"]


@dataclass(frozen=True)
class PWMDriver(Component):
    """One query row: a pulse generator and the read word line it drives.

    Pulse: the word line of ``line_cells`` cells (spanning every sub-array of the window)
    swings from ``v_idle`` to ``v_read`` and back: ``E = C_wl vdd (v_read - v_idle)`` with
    ``C_wl = line_cells c_rwl_per_cell``; a zero-width pulse does not switch it. The
    generator is a counter-comparator clocked at ``(levels - 1) / T_max`` for the whole
    window, ``(levels - 1) e_cycle`` per query element (digital: scales with the node).

    Attributes
    ----------
    levels : int
        PWM levels, >= 2. Preset 16 (paper).
    t_max : float
        Longest pulse, s. Preset 15 ns (paper).
    line_cells : int
        Cells on the word line (window x K row tiles share one row), >= 1.
    c_rwl_per_cell : float
        Read word-line capacitance per cell, F. Default 0.1 fF (assumption).
    v_read, v_idle, vdd : float
        Pulse high level, idle level and supply, V. Preset 0.9, 0.45, 0.9 (paper).
    e_cycle : float
        Generator energy per clock cycle at the reference node, J. Default 5 fJ (assumption:
        a 4-bit counter and comparator at 28 nm).
    area_driver : float
        Area of one word-line driver, m^2. Default 2 um^2 (assumption).
    area_generator : float
        Area of one pulse generator at the reference node, m^2. Default 20 um^2 (assumption).
    tech : Technology
        Node and supply for the generator.
    """

    levels: int = 16
    t_max: float = 15e-9
    line_cells: int = 1024
    c_rwl_per_cell: float = 0.1e-15
    v_read: float = LEROUX2025_V_READ
    v_idle: float = LEROUX2025_V_READ_IDLE
    vdd: float = LEROUX2025_VDD
    e_cycle: float = 5e-15
    area_driver: float = 2e-12
    area_generator: float = 20e-12
    tech: Technology = Technology()

    SOURCES: ClassVar[dict[str, str]] = {
        "levels": "paper: queries quantized to 16 levels",
        "t_max": "paper: T_max = 15 ns",
        "line_cells": "design: window cells per query row",
        "c_rwl_per_cell": "assumption: 0.1 fF per cell of read word line",
        "v_read": "paper: read word line at 0.9 V during a pulse",
        "v_idle": "paper Methods / I-V sweep: idle word line at 0.45 V carries ~0 A",
        "vdd": "paper: VDD = 0.9 V",
        "e_cycle": "assumption: 5 fJ per generator clock cycle at 28 nm",
        "area_driver": "assumption: 2 um^2 per word-line driver",
        "area_generator": "assumption: 20 um^2 per pulse generator at 28 nm",
    }
    TUNABLE: ClassVar[tuple[str, ...]] = ("c_rwl_per_cell", "e_cycle", "area_driver",
                                          "area_generator")

    def __post_init__(self) -> None:
        o = "PWMDriver"
        check_param(o, "levels", self.levels, 2, 65536, integer=True)
        check_param(o, "t_max", self.t_max, 0.0, None, "s", lo_open=True)
        check_param(o, "line_cells", self.line_cells, 1, None, integer=True)
        check_param(o, "c_rwl_per_cell", self.c_rwl_per_cell, 0.0, None, "F")
        check_param(o, "vdd", self.vdd, 0.0, None, "V", lo_open=True)
        check_param(o, "v_read", self.v_read, 0.0, self.vdd, "V")
        check_param(o, "v_idle", self.v_idle, 0.0, self.vdd, "V")
        check_param(o, "e_cycle", self.e_cycle, 0.0, None, "J")
        check_param(o, "area_driver", self.area_driver, 0.0, None, "m^2")
        check_param(o, "area_generator", self.area_generator, 0.0, None, "m^2")

    @property
    def clock_hz(self) -> float:
        """Generator clock, Hz: ``(levels - 1) / t_max`` (one level per cycle)."""
        return (self.levels - 1) / self.t_max

    def pulse(self, n_pulses: float) -> Action:
        """``n_pulses`` non-zero word-line pulses: energy (J), window ``t_max`` (s)."""
        c = self.line_cells * self.c_rwl_per_cell
        return Action(n_pulses * wordline_energy(c, self.v_read, self.v_idle, self.vdd),
                      self.t_max)

    def generate(self, n_elements: float) -> Action:
        """Pulse generation for ``n_elements`` query elements: energy (J), ``t_max`` (s)."""
        e = n_elements * (self.levels - 1) * self.e_cycle * self.tech.energy_scale
        return Action(e, self.t_max)

    def area(self, n_line_segments: int = 1) -> float:
        """Area of one row's generator and its ``n_line_segments`` local drivers, m^2."""
        return n_line_segments * self.area_driver + self.area_generator * self.tech.area_scale
