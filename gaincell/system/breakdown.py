"""A named breakdown of one quantity (energy, latency or area) into groups and items."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Breakdown", "GROUP_LABELS"]

#: Display names of the breakdown groups. The energy groups are the paper's four
#: (code, utils/plot_energy.py).
GROUP_LABELS = {
    "stage1": "phi(Q K) stage",
    "stage2": "phi(S) V stage",
    "digital": "digital control and routing",
    "dac": "DACs",
    "static": "static power and leakage",
    "write": "write",
    "read": "read",
    "cells": "gain cells",
    "periphery": "analog periphery",
}


@dataclass(frozen=True)
class Breakdown:
    """Items ``(group, name, value)`` of one quantity in SI units (J, s or m^2).

    Attributes
    ----------
    quantity : str
        What is broken down, e.g. ``"energy per token per head"``.
    unit : str
        SI unit of the values (``"J"``, ``"s"``, ``"m^2"``).
    items : tuple of (str, str, float)
        Group key, item name, value.
    """

    quantity: str
    unit: str
    items: tuple[tuple[str, str, float], ...]

    @property
    def total(self) -> float:
        """Sum of all items."""
        return float(sum(v for _, _, v in self.items))

    def by_group(self) -> dict[str, float]:
        """Group key -> summed value, in first-appearance order."""
        out: dict[str, float] = {}
        for g, _, v in self.items:
            out[g] = out.get(g, 0.0) + v
        return out

    def by_item(self) -> dict[str, float]:
        """Item name -> value."""
        return {n: v for _, n, v in self.items}

    def group(self, key: str) -> float:
        """Summed value of group ``key``; ValueError naming the groups when unknown."""
        groups = self.by_group()
        if key not in groups:
            raise ValueError(f"group {key!r} is not in this breakdown: allowed {list(groups)}")
        return groups[key]

    def scaled(self, factor: float, quantity: str) -> "Breakdown":
        """Every item times ``factor`` (e.g. per head -> per layer)."""
        return Breakdown(quantity, self.unit,
                         tuple((g, n, v * factor) for g, n, v in self.items))

    def to_dict(self) -> dict:
        """JSON-ready dict with items, groups and total."""
        return {"quantity": self.quantity, "unit": self.unit, "total": self.total,
                "groups": self.by_group(),
                "items": [{"group": g, "name": n, "value": v} for g, n, v in self.items]}
