"""Signed counter: counts the second-stage output pulse into a digital code."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from gaincell.system.components.base import Action, Component, Technology, check_param

__all__ = ["SignedCounter"]


@dataclass(frozen=True)
class SignedCounter(Component):
    """One signed up/down counter behind a second-stage converter.

    It is clocked for the whole conversion, ``full_scale_counts`` cycles, and increments once
    per count of the pulse: ``E = cycles e_cycle + counts e_increment`` (digital: scales with
    the node). Its clock runs at ``full_scale_counts / t_max`` so full scale fits the
    converter's ``T_max``; more levels at the same clock take proportionally longer.

    Attributes
    ----------
    levels : int
        Output levels on [-1, 1], >= 2. Preset 32 (paper).
    clock_hz : float
        Counter clock, Hz. Default 16 / 15 ns = 1.067 GHz (derived: the preset's full scale,
        16 counts, spans T_max = 15 ns).
    e_cycle : float
        Clock energy per cycle at the reference node, J. Default 5 fJ (assumption).
    e_increment : float
        Energy per increment at the reference node, J. Default 10 fJ (assumption: a few
        flip-flop toggles at 28 nm).
    area_bit : float
        Area per counter bit at the reference node, m^2. Default 5 um^2 (assumption).
    tech : Technology
        Node and supply.
    """

    levels: int = 32
    clock_hz: float = 16 / 15e-9
    e_cycle: float = 5e-15
    e_increment: float = 10e-15
    area_bit: float = 5e-12
    tech: Technology = Technology()

    SOURCES: ClassVar[dict[str, str]] = {
        "levels": "paper: outputs quantized to 32 levels on [-1, 1]",
        "clock_hz": "derived: 16 counts (preset full scale) in T_max = 15 ns",
        "e_cycle": "assumption: 5 fJ per clock cycle at 28 nm",
        "e_increment": "assumption: 10 fJ per increment at 28 nm",
        "area_bit": "assumption: 5 um^2 per counter bit at 28 nm",
    }
    TUNABLE: ClassVar[tuple[str, ...]] = ("clock_hz", "e_cycle", "e_increment", "area_bit")

    def __post_init__(self) -> None:
        o = "SignedCounter"
        check_param(o, "levels", self.levels, 2, 65536, integer=True)
        check_param(o, "clock_hz", self.clock_hz, 0.0, None, "Hz", lo_open=True)
        check_param(o, "e_cycle", self.e_cycle, 0.0, None, "J")
        check_param(o, "e_increment", self.e_increment, 0.0, None, "J")
        check_param(o, "area_bit", self.area_bit, 0.0, None, "m^2")

    @property
    def full_scale_counts(self) -> int:
        """Counts from zero to full scale: ``round(1 / step)`` with ``step = 2 / (levels - 1)``
        (16 for 32 levels, as the quantizer's grid reaches +-16 steps)."""
        return int(round((self.levels - 1) / 2))

    @property
    def bits(self) -> int:
        """Counter width including the sign bit."""
        return int(math.ceil(math.log2(self.full_scale_counts + 1))) + 1

    @property
    def conversion_time(self) -> float:
        """Time to count full scale, s: ``full_scale_counts / clock_hz``."""
        return self.full_scale_counts / self.clock_hz

    def count(self, n_conversions: float, counts_abs: float) -> Action:
        """``n_conversions`` parallel conversions totalling ``counts_abs`` increments: energy
        (J) and the counting time (s)."""
        e = (n_conversions * self.full_scale_counts * self.e_cycle
             + counts_abs * self.e_increment) * self.tech.energy_scale
        return Action(e, self.conversion_time)

    def area(self) -> float:
        """Area of one counter, m^2."""
        return self.bits * self.area_bit * self.tech.area_scale
