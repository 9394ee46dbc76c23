"""Shared pieces of the component library: the action result, technology scaling, sources.

Every component is a frozen dataclass whose fields are its parameters (SI units) and whose
class attribute ``SOURCES`` says where each default comes from. Labels used in ``SOURCES``:

``paper``       Leroux et al., Nat. Comput. Sci. 5, 813-824 (2025) (arXiv 2409.19315);
``code``        the authors' repository GainCellAttention (MIT licence), file named;
``unconfirmed`` a figure from a secondary summary of the paper's full text;
``calibrated``  set so that the ``leroux2025`` design point reproduces one of the paper's
                published totals (the only free constant of that total; everything else in the
                total is physical or an assumption);
``derived``     computed from other parameters;
``assumption``  no primary source: a typical value chosen by this project, stated as such.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from gaincell._checks import check_number
from gaincell.params import LEROUX2025_VDD

__all__ = ["Action", "Technology", "Component", "wordline_energy", "check_param"]


@dataclass(frozen=True)
class Action:
    """Cost of one action of a component.

    Attributes
    ----------
    energy : float
        Energy drawn from the supplies, J.
    latency : float
        Time the action occupies its block, s.
    """

    energy: float
    latency: float = 0.0

    def __mul__(self, n: float) -> "Action":
        """``n`` repetitions done in parallel: energy times ``n``, the same latency."""
        return Action(self.energy * n, self.latency)

    __rmul__ = __mul__


def check_param(owner: str, name: str, value: Any, lo: float, hi: float | None = None,
                unit: str = "", lo_open: bool = False, integer: bool = False) -> None:
    """Raise ``ValueError`` naming ``owner.name``, the value and the allowed range (the rules
    of :func:`gaincell._checks.check_number`)."""
    check_number(f"{owner}.{name}", value, lo, hi, unit, lo_open=lo_open, integer=integer)


def wordline_energy(capacitance: float, v_high: float, v_idle: float, vdd: float) -> float:
    """Energy (J) of one word-line pulse from ``v_idle`` to ``v_high`` and back.

    The driver charges ``capacitance`` (F) by ``v_high - v_idle`` (V) from a supply at
    ``vdd`` (V): ``E = C vdd (v_high - v_idle)``; the return to idle draws nothing further.
    """
    return capacitance * vdd * abs(v_high - v_idle)


#: Reference node of the digital constants of this library, m. Source: assumption (the
#: paper's node for its digital blocks is not in the published text we hold; 28 nm is the
#: node of the same group's gain-cell circuit simulations, arXiv 2410.09755).
REFERENCE_NODE_M = 28e-9
#: Supply at which the digital constants hold, V. Source: paper (VDD = 0.9 V).
REFERENCE_VDD = LEROUX2025_VDD


@dataclass(frozen=True)
class Technology:
    """Technology node and supply used to scale the digital blocks.

    Digital energy per operation scales as ``C V^2`` with ``C`` proportional to the feature
    size, digital area as its square and gate delay linearly: classic constant-field scaling
    (Dennard et al., IEEE JSSC 9, 256 (1974)). Below about 28 nm real nodes scale less well;
    treat results far from ``REFERENCE_NODE_M`` as first-order. Analog blocks (cells,
    converters, DACs) are not scaled with the node: their energy follows the physical
    charges and voltages of the design, their area the stated per-block assumptions.

    Attributes
    ----------
    node : float
        Feature size, m, in [3e-9, 180e-9]. Default 28e-9 (assumption, see above).
    vdd : float
        Digital supply, V, > 0. Default 0.9 (paper).
    """

    node: float = REFERENCE_NODE_M
    vdd: float = REFERENCE_VDD

    SOURCES: ClassVar[dict[str, str]] = {
        "node": "assumption: 28 nm reference (arXiv 2410.09755 uses TSMC 28 nm gain cells)",
        "vdd": "paper: VDD = 0.9 V",
    }

    def __post_init__(self) -> None:
        check_param("Technology", "node", self.node, 3e-9, 180e-9, "m")
        check_param("Technology", "vdd", self.vdd, 0.0, None, "V", lo_open=True)

    @property
    def energy_scale(self) -> float:
        """Digital energy relative to the reference: ``(node / 28 nm) (vdd / 0.9 V)^2``."""
        return (self.node / REFERENCE_NODE_M) * (self.vdd / REFERENCE_VDD) ** 2

    @property
    def area_scale(self) -> float:
        """Digital area relative to the reference: ``(node / 28 nm)^2``."""
        return (self.node / REFERENCE_NODE_M) ** 2

    @property
    def delay_scale(self) -> float:
        """Digital gate delay relative to the reference: ``node / 28 nm``."""
        return self.node / REFERENCE_NODE_M


class Component:
    """Mixin of the component dataclasses: parameter access and the source table."""

    SOURCES: ClassVar[dict[str, str]] = {}

    def params(self) -> dict[str, Any]:
        """The component's parameters as a dict (SI units)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    def sources(self) -> dict[str, str]:
        """Parameter name -> where its default comes from."""
        return dict(self.SOURCES)
