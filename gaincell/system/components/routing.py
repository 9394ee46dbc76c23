"""On-chip routing: moving query, key/value and partial-sum bits across a head."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gaincell.params import LEROUX2025_VDD
from gaincell.system.components.base import Action, Component, check_param

__all__ = ["Routing"]


@dataclass(frozen=True)
class Routing(Component):
    """Global wires of one head.

    Moving one bit over a distance ``L`` costs ``E = activity c_wire L vdd^2`` (the wire is
    charged with probability ``activity``); the estimator supplies the bit-metres of each
    transfer from the floorplan (tiles in a row at ``pitch``). Routing channels take
    ``area_fraction`` of the blocks they connect.

    Attributes
    ----------
    c_wire : float
        Wire capacitance per length, F/m. Default 2e-10 (0.2 fF/um, assumption: typical
        intermediate metal).
    activity : float
        Probability that a bit toggles, in [0, 1]. Default 0.5 (assumption: random data).
    vdd : float
        Swing, V. Preset 0.9 (paper).
    area_fraction : float
        Routing area as a fraction of the routed blocks, >= 0. Default 0.1 (assumption).
    """

    c_wire: float = 2e-10
    activity: float = 0.5
    vdd: float = LEROUX2025_VDD
    area_fraction: float = 0.1

    SOURCES: ClassVar[dict[str, str]] = {
        "c_wire": "assumption: 0.2 fF/um intermediate-metal wire",
        "activity": "assumption: random data toggles half the bits",
        "vdd": "paper: VDD = 0.9 V",
        "area_fraction": "assumption: routing channels 10 % of the routed blocks",
    }
    TUNABLE: ClassVar[tuple[str, ...]] = ("c_wire", "activity", "area_fraction")

    def __post_init__(self) -> None:
        o = "Routing"
        check_param(o, "c_wire", self.c_wire, 0.0, None, "F/m")
        check_param(o, "activity", self.activity, 0.0, 1.0)
        check_param(o, "vdd", self.vdd, 0.0, None, "V", lo_open=True)
        check_param(o, "area_fraction", self.area_fraction, 0.0, None)

    @property
    def energy_per_bit_m(self) -> float:
        """Energy per bit per metre, J/m."""
        return self.activity * self.c_wire * self.vdd ** 2

    def move(self, bit_m: float) -> Action:
        """Energy (J) of moving ``bit_m`` bit-metres."""
        return Action(bit_m * self.energy_per_bit_m)

    def area(self, routed_area: float) -> float:
        """Routing area, m^2, for blocks of ``routed_area`` m^2."""
        return self.area_fraction * routed_area
