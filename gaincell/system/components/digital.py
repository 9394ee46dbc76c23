"""Digital blocks of a head: the adder tree over sub-array outputs and the controller."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from gaincell.system.components.base import Action, Component, Technology, check_param

__all__ = ["AdderTree", "Controller", "CONTROL_POWER_PER_TILE_W"]

#: Controller power per sub-array tile (one K and one V sub-array with their periphery) at
#: the reference node, W. Source: calibrated so that the leroux2025 point gives the paper's
#: 4000 pJ of "digital control and routing" per token and head (code, utils/plot_energy.py)
#: after the adder-tree and routing terms: 16 tiles x this power x 65 ns.
CONTROL_POWER_PER_TILE_W = 3.5111e-3


@dataclass(frozen=True)
class AdderTree(Component):
    """Binary adder tree summing the ``n_inputs`` sub-array codes of every output element.

    ``(n_inputs - 1) width`` additions of ``in_bits + stages`` bits per token, each bit
    costing ``e_bit`` (digital: scales with the node); ``stages = ceil(log2 n_inputs)``
    stages of ``t_stage`` each.

    Attributes
    ----------
    n_inputs : int
        Sub-arrays summed (window / array_cols), >= 1.
    width : int
        Output elements (head_dim), >= 1.
    in_bits : int
        Bits of each input code (counter width), >= 1.
    e_bit : float
        Energy per full-adder bit operation at the reference node, J. Default 3 fJ
        (assumption: 28 nm full adder with wiring).
    t_stage : float
        Delay of one tree stage at the reference node, s. Default 1.25 ns (assumption:
        a ~10-bit ripple-carry add plus register at 28 nm).
    area_bit : float
        Area per full-adder bit at the reference node, m^2. Default 1.5 um^2 (assumption).
    tech : Technology
        Node and supply.
    """

    n_inputs: int = 16
    width: int = 64
    in_bits: int = 6
    e_bit: float = 3e-15
    t_stage: float = 1.25e-9
    area_bit: float = 1.5e-12
    tech: Technology = Technology()

    SOURCES: ClassVar[dict[str, str]] = {
        "n_inputs": "design: window / array_cols sub-arrays",
        "width": "design: head_dim",
        "in_bits": "derived: signed counter width",
        "e_bit": "assumption: 3 fJ per full-adder bit at 28 nm",
        "t_stage": "assumption: 1.25 ns per tree stage at 28 nm",
        "area_bit": "assumption: 1.5 um^2 per full-adder bit at 28 nm",
    }
    TUNABLE: ClassVar[tuple[str, ...]] = ("e_bit", "t_stage", "area_bit")

    def __post_init__(self) -> None:
        o = "AdderTree"
        check_param(o, "n_inputs", self.n_inputs, 1, None, integer=True)
        check_param(o, "width", self.width, 1, None, integer=True)
        check_param(o, "in_bits", self.in_bits, 1, None, integer=True)
        check_param(o, "e_bit", self.e_bit, 0.0, None, "J")
        check_param(o, "t_stage", self.t_stage, 0.0, None, "s")
        check_param(o, "area_bit", self.area_bit, 0.0, None, "m^2")

    @property
    def stages(self) -> int:
        """Tree depth: ``ceil(log2 n_inputs)`` (0 for a single sub-array)."""
        return int(math.ceil(math.log2(self.n_inputs))) if self.n_inputs > 1 else 0

    @property
    def out_bits(self) -> int:
        """Width of the sums: ``in_bits + stages``."""
        return self.in_bits + self.stages

    @property
    def bit_ops(self) -> int:
        """Full-adder bit operations per token: ``(n_inputs - 1) width out_bits``."""
        return (self.n_inputs - 1) * self.width * self.out_bits

    def add(self) -> Action:
        """One token's sums: energy (J) and the tree delay (s)."""
        return Action(self.bit_ops * self.e_bit * self.tech.energy_scale,
                      self.stages * self.t_stage * self.tech.delay_scale)

    def area(self) -> float:
        """Adder area, m^2."""
        return (self.n_inputs - 1) * self.width * self.out_bits * self.area_bit \
            * self.tech.area_scale


@dataclass(frozen=True)
class Controller(Component):
    """Sequencer, clocking and handshakes of one head (one local controller per tile).

    Energy: the controller is clocked for the whole token period,
    ``E = n_tiles power_per_tile t_token`` (digital: scales with the node). Latency: it resets
    the bit lines and integrators before a read (``t_reset``) and hands the result over to the
    digital projection afterwards (``t_handshake``).

    Attributes
    ----------
    n_tiles : int
        Sub-array tiles per head (window / array_cols x K row tiles), >= 1.
    power_per_tile : float
        Power per tile at the reference node, W (calibrated, see the module constant).
    t_reset : float
        Bit-line and integrator reset before each read, s. Default 5 ns (assumption).
    t_handshake : float
        Output register and handshake, s. Default 5 ns (assumption; with the other phases it
        makes up the paper's 65 ns).
    area_tile : float
        Controller area per tile at the reference node, m^2. Default 2000 um^2 (assumption).
    area_head : float
        Head-level control area at the reference node, m^2. Default 5000 um^2 (assumption).
    tech : Technology
        Node and supply.
    """

    n_tiles: int = 16
    power_per_tile: float = CONTROL_POWER_PER_TILE_W
    t_reset: float = 5e-9
    t_handshake: float = 5e-9
    area_tile: float = 2000e-12
    area_head: float = 5000e-12
    tech: Technology = Technology()

    SOURCES: ClassVar[dict[str, str]] = {
        "n_tiles": "design: sub-array tiles per head",
        "power_per_tile": "calibrated: paper's 4000 pJ digital control and routing",
        "t_reset": "assumption: 5 ns bit-line / integrator reset",
        "t_handshake": "assumption: 5 ns output handshake (closes the paper's 65 ns)",
        "area_tile": "assumption: 2000 um^2 of control per tile at 28 nm",
        "area_head": "assumption: 5000 um^2 of head-level control at 28 nm",
    }
    TUNABLE: ClassVar[tuple[str, ...]] = ("power_per_tile", "t_reset", "t_handshake",
                                          "area_tile", "area_head")

    def __post_init__(self) -> None:
        o = "Controller"
        check_param(o, "n_tiles", self.n_tiles, 1, None, integer=True)
        check_param(o, "power_per_tile", self.power_per_tile, 0.0, None, "W")
        check_param(o, "t_reset", self.t_reset, 0.0, None, "s")
        check_param(o, "t_handshake", self.t_handshake, 0.0, None, "s")
        check_param(o, "area_tile", self.area_tile, 0.0, None, "m^2")
        check_param(o, "area_head", self.area_head, 0.0, None, "m^2")

    @property
    def power(self) -> float:
        """Controller power of one head, W."""
        return self.n_tiles * self.power_per_tile * self.tech.energy_scale

    def run(self, t_token: float) -> Action:
        """Energy (J) of controlling one token period of ``t_token`` seconds."""
        return Action(self.power * t_token)

    def reset(self) -> Action:
        """Reset phase before a read: latency ``t_reset`` (s); its energy is in ``run``."""
        return Action(0.0, self.t_reset)

    def handshake(self) -> Action:
        """Output handshake: latency ``t_handshake`` (s); its energy is in ``run``."""
        return Action(0.0, self.t_handshake)

    def area(self) -> float:
        """Control area of one head, m^2."""
        return (self.n_tiles * self.area_tile + self.area_head) * self.tech.area_scale
