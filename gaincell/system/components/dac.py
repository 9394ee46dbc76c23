"""Write DAC: converts a digital K or V element to the voltage written into a gain cell."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gaincell.params import LEROUX2025_VDD
from gaincell.system.components.base import Action, Component, check_param

__all__ = ["WriteDAC"]

#: Energy of one 8-level conversion including its output buffer, J. Source: calibrated so that
#: the leroux2025 point gives the paper's 330 pJ of DAC energy per token and head
#: (code, utils/plot_energy.py), after the write-line and storage-node terms.
DAC_ENERGY_8LEVEL_J = 2.5750e-12


@dataclass(frozen=True)
class WriteDAC(Component):
    """One K/V write DAC and its write bit line (one DAC per head-dimension element).

    Conversion: ``E = energy_ref (levels - 1) / (levels_ref - 1) + C_wbl vdd V_out``:
    a capacitive (unit-element) DAC switches ``levels - 1`` unit capacitors, so its
    energy grows with the number of levels (assumption, after Saberi et al., IEEE TCAS-I 58,
    1736 (2011)); the write bit line of ``line_cells`` cells is charged to the output
    voltage ``V_out`` from the supply. The write takes ``t_write`` (DAC settling plus the
    write word-line pulse).

    Attributes
    ----------
    levels : int
        DAC levels, >= 2. Preset 8 (paper).
    energy_ref : float
        Energy per conversion at ``levels_ref`` levels, J (calibrated, see module constant).
    levels_ref : int
        Levels at which ``energy_ref`` holds. 8.
    line_cells : int
        Cells on one write bit line (the sub-array width along the written direction), >= 1.
    c_wbl_per_cell : float
        Write bit-line capacitance per cell, F. Default 0.1 fF (assumption).
    vdd : float
        Supply, V. Preset 0.9 (paper).
    t_write : float
        Write time per token, s. Default 5 ns (assumption; the paper's write time is not in
        the text we hold; it is one of the phases that make up the published 65 ns).
    area_ref : float
        Area of one DAC at ``levels_ref`` levels, m^2; scales with ``levels - 1``.
        Default 50 um^2 (assumption).
    """

    levels: int = 8
    energy_ref: float = DAC_ENERGY_8LEVEL_J
    levels_ref: int = 8
    line_cells: int = 64
    c_wbl_per_cell: float = 0.1e-15
    vdd: float = LEROUX2025_VDD
    t_write: float = 5e-9
    area_ref: float = 50e-12

    SOURCES: ClassVar[dict[str, str]] = {
        "levels": "paper: K and V quantized to 8 levels on [0, 0.9] V",
        "energy_ref": "calibrated: leroux2025 DAC energy 330 pJ per token and head",
        "levels_ref": "paper: 8 levels",
        "line_cells": "design: array_cols (K) or array_rows (V) cells per write bit line",
        "c_wbl_per_cell": "assumption: 0.1 fF per cell of write bit line",
        "vdd": "paper: VDD = 0.9 V",
        "t_write": "assumption: 5 ns write phase (part of the paper's 65 ns)",
        "area_ref": "assumption: 50 um^2 per 3-bit DAC with buffer",
    }
    TUNABLE: ClassVar[tuple[str, ...]] = ("energy_ref", "c_wbl_per_cell", "t_write", "area_ref")

    def __post_init__(self) -> None:
        o = "WriteDAC"
        check_param(o, "levels", self.levels, 2, 65536, integer=True)
        check_param(o, "levels_ref", self.levels_ref, 2, 65536, integer=True)
        check_param(o, "energy_ref", self.energy_ref, 0.0, None, "J")
        check_param(o, "line_cells", self.line_cells, 1, None, integer=True)
        check_param(o, "c_wbl_per_cell", self.c_wbl_per_cell, 0.0, None, "F")
        check_param(o, "vdd", self.vdd, 0.0, None, "V", lo_open=True)
        check_param(o, "t_write", self.t_write, 0.0, None, "s")
        check_param(o, "area_ref", self.area_ref, 0.0, None, "m^2")

    @property
    def level_scale(self) -> float:
        """``(levels - 1) / (levels_ref - 1)``: unit elements relative to the reference."""
        return (self.levels - 1) / (self.levels_ref - 1)

    def convert(self, n: float, voltage_sum: float) -> Action:
        """``n`` conversions whose outputs sum to ``voltage_sum`` volts: energy (J), and the
        write time (s) when they run in parallel."""
        e = n * self.energy_ref * self.level_scale
        e += self.line_cells * self.c_wbl_per_cell * self.vdd * voltage_sum
        return Action(e, self.t_write)

    def area(self) -> float:
        """Area of one DAC, m^2."""
        return self.area_ref * self.level_scale
