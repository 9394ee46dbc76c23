"""Technology data of the predicted mode: a table of CMOS nodes with a source per value.

The table is ``gaincell/data/technology.toml`` (180, 130, 65, 45, 28 and 22 nm). A node between
two rows is interpolated in log space (``log q`` linear in ``log node``, the usual power-law
behaviour of scaled quantities); a node outside the table is refused. Values hold at the
node's nominal supply; :meth:`NodeParams.at_vdd` refers the supply-dependent ones to the
design's supply (gate energy ~ vdd^2, leakage current taken as independent of vdd: DIBL is not
modelled).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from gaincell._checks import check_number, real_or_none

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["NodeParams", "node_params", "technology_table", "TABLE_PATH", "QUANTITIES"]

TABLE_PATH = Path(__file__).resolve().parent.parent / "data" / "technology.toml"

#: Quantities of a row, with their SI units.
QUANTITIES = {"vdd": "V", "e_gate": "J", "c_wire": "F/m", "c_mos": "F/m^2", "c_mim": "F/m^2",
              "i_off": "A/m", "gate_area": "m^2", "fo4": "s"}


@dataclass(frozen=True)
class NodeParams:
    """Parameters of one CMOS node (SI units; see ``QUANTITIES`` and the table's sources).

    Attributes
    ----------
    node_nm : float
        Node, nm.
    vdd : float
        Nominal core supply, V.
    e_gate : float
        Energy of one NAND2-equivalent output toggle (fan-out and local wire), J, at ``vdd``.
    c_wire : float
        Intermediate-metal wire capacitance per length, F/m.
    c_mos, c_mim : float
        MOS (gate-oxide) and MIM capacitor densities, F/m^2.
    i_off : float
        Off-state leakage per transistor width, A/m.
    gate_area : float
        Placed NAND2-equivalent area, m^2.
    fo4 : float
        Fan-out-of-4 inverter delay, s.
    sources : dict
        Quantity -> source text (overridden quantities say so).
    """

    node_nm: float
    vdd: float
    e_gate: float
    c_wire: float
    c_mos: float
    c_mim: float
    i_off: float
    gate_area: float
    fo4: float
    sources: dict

    @property
    def c_gate_load(self) -> float:
        """Switched capacitance of one NAND2-equivalent, F: ``e_gate / vdd^2``."""
        return self.e_gate / self.vdd ** 2

    def e_gate_at(self, vdd: float) -> float:
        """Gate toggle energy at supply ``vdd`` (V), J: ``C_sw vdd^2``."""
        return self.c_gate_load * vdd ** 2

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: values and sources."""
        return {**{f.name: getattr(self, f.name) for f in fields(self) if f.name != "sources"},
                "sources": dict(self.sources)}


@lru_cache(maxsize=1)
def technology_table() -> tuple[tuple[dict, ...], dict]:
    """The rows (sorted by node) and the source of each quantity, read from ``TABLE_PATH``."""
    with open(TABLE_PATH, "rb") as f:
        data = tomllib.load(f)
    rows = tuple(sorted((dict(r) for r in data["node"]), key=lambda r: r["nm"]))
    for r in rows:
        missing = set(QUANTITIES) - set(r)
        if missing:  # pragma: no cover - guards the shipped table
            raise ValueError(f"{TABLE_PATH}: node {r['nm']} lacks {sorted(missing)}")
    return rows, dict(data["source"])


def node_params(node_nm: float, overrides: dict | None = None) -> NodeParams:
    """Parameters of node ``node_nm`` (nm), interpolated in log space between table rows.

    ``overrides`` (quantity -> value, SI) replace table values (their source then reads
    "design file override"). Raises ``ValueError`` naming the node and the table's range when
    ``node_nm`` lies outside it, and naming the quantity for a bad override.
    """
    rows, sources = technology_table()
    lo, hi = rows[0]["nm"], rows[-1]["nm"]
    v = real_or_none(node_nm)
    if v is None or not math.isfinite(v) or not lo <= v <= hi:
        raise ValueError(f"technology_nm = {node_nm!r} is invalid for the predicted mode: "
                         f"allowed [{lo}, {hi}] nm (the rows of the technology table; no "
                         f"extrapolation)")
    exact = [r for r in rows if r["nm"] == node_nm]
    if exact:
        vals = {q: float(exact[0][q]) for q in QUANTITIES}
        src = {q: f"{sources[q]} [{node_nm:g} nm row]" for q in QUANTITIES}
    else:
        k = max(i for i, r in enumerate(rows) if r["nm"] < node_nm)
        a, b = rows[k], rows[k + 1]
        t = (math.log(node_nm) - math.log(a["nm"])) / (math.log(b["nm"]) - math.log(a["nm"]))
        vals = {q: math.exp((1 - t) * math.log(a[q]) + t * math.log(b[q])) for q in QUANTITIES}
        src = {q: f"{sources[q]} [log interpolation between {a['nm']:g} and {b['nm']:g} nm]"
               for q in QUANTITIES}
    p = NodeParams(node_nm=float(node_nm), sources=src, **vals)
    if overrides:
        p = _apply_overrides(p, overrides)
    return p


def _apply_overrides(p: NodeParams, overrides: dict) -> NodeParams:
    bad = sorted(set(overrides) - set(QUANTITIES))
    if bad:
        raise ValueError(f"unknown key(s) {bad} in [system.technology]: allowed "
                         f"{sorted(QUANTITIES)}")
    for k, v in overrides.items():
        check_number(f"[system.technology] {k}", v, 0.0, lo_open=True,
                     allowed=f"a finite number > 0 ({QUANTITIES[k]})")
    src = dict(p.sources)
    src.update({k: "design file override" for k in overrides})
    return replace(p, **{k: float(v) for k, v in overrides.items()}, sources=src)
