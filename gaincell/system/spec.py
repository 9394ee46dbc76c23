"""System-level parameters of a design and the design-file loader (``[system]`` table).

A design file is the TOML of :func:`gaincell.params.load_toml` (``[attention]``, ``[device]``,
``[meta]``) plus an optional ``[system]`` table::

    [system]
    n_layers = 12              # layers evaluated one after another per token
    tokens = 1024              # tokens generated per sequence (for per-sequence totals)
    technology_nm = 28         # node of the digital blocks, nm
    overhead_per_layer_s = 0   # time per layer outside attention (projections, MLP), s

    [system.array]             # overrides of a component's assumptions (TUNABLE fields)
    cell_area = 1e-12

Errors name the file, the table, the key and the allowed values.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from gaincell.params import AttentionConfig
from gaincell.system.components import (
    AdderTree,
    ChargeToPulse,
    Controller,
    GainCellArray,
    PWMDriver,
    Routing,
    SignedCounter,
    WriteDAC,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["SystemSpec", "load_design", "COMPONENT_ROLES"]

#: Component roles of a head and their classes; ``[system.<role>]`` overrides their
#: ``TUNABLE`` fields.
COMPONENT_ROLES = {
    "array": GainCellArray,
    "dac": WriteDAC,
    "pwm": PWMDriver,
    "stage1": ChargeToPulse,
    "stage2": ChargeToPulse,
    "counter": SignedCounter,
    "adder": AdderTree,
    "controller": Controller,
    "routing": Routing,
}

_SCALARS = {
    # key: (kind, lo, hi, unit, meaning)
    "n_layers": ("int", 1, 10_000, "", "layers per token"),
    "tokens": ("int", 1, 10**9, "", "tokens per sequence"),
    "technology_nm": ("float", 3.0, 180.0, "nm", "digital node"),
    "overhead_per_layer_s": ("float", 0.0, 1.0, "s", "non-attention time per layer"),
}


def _check_scalar(src: str, key: str, value: Any) -> Any:
    kind, lo, hi, unit, _ = _SCALARS[key]
    allowed = f"{'an integer' if kind == 'int' else 'a number'} in [{lo}, {hi}] {unit}".rstrip()
    ok_type = (isinstance(value, int) if kind == "int" else isinstance(value, (int, float)))
    if isinstance(value, bool) or not ok_type or not math.isfinite(float(value)) \
            or not lo <= value <= hi:
        raise ValueError(f"{src}: [system] {key} = {value!r} is invalid: allowed {allowed}")
    return int(value) if kind == "int" else float(value)


@dataclass(frozen=True)
class SystemSpec:
    """System-level parameters of an estimate.

    Attributes
    ----------
    n_layers : int
        Attention layers evaluated one after another per token, in [1, 10000]. Default 12
        (GPT-2, paper).
    tokens : int
        Tokens generated per sequence (per-sequence totals), >= 1. Default 1024 (the paper's
        window and GPU-baseline length).
    technology_nm : float
        Node of the digital blocks, nm, in [3, 180]. Default 28 (assumption, see
        :class:`~gaincell.system.components.Technology`).
    overhead_per_layer_s : float
        Time per layer spent outside attention (projections, MLP, LayerNorm), s, in [0, 1].
        Default 0: not modelled, as in the paper.
    components : dict
        ``role -> {field: value}`` overrides of component assumptions (see
        ``COMPONENT_ROLES`` and each class's ``TUNABLE``).
    name : str
        Design name shown in reports (a design file's ``[meta] name``, else its file name).
    """

    n_layers: int = 12
    tokens: int = 1024
    technology_nm: float = 28.0
    overhead_per_layer_s: float = 0.0
    components: dict = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ValueError(f"SystemSpec.name = {self.name!r} is invalid: allowed a string")
        for key in _SCALARS:
            object.__setattr__(self, key, _check_scalar("SystemSpec", key, getattr(self, key)))
        comps = self.components
        if not isinstance(comps, dict):
            raise ValueError(f"SystemSpec.components = {comps!r} is invalid: allowed a table "
                             f"role -> {{field: value}}")
        for role, over in comps.items():
            _check_role("SystemSpec", role, over)

    def replace(self, **changes: Any) -> "SystemSpec":
        """A copy with fields changed (validated)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        unknown = sorted(set(changes) - set(d))
        if unknown:
            raise ValueError(f"unknown SystemSpec field(s) {unknown}: allowed {sorted(d)}")
        d.update(changes)
        return SystemSpec(**d)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict as in a design file's ``[system]`` table."""
        d = {k: getattr(self, k) for k in _SCALARS}
        d.update({role: dict(v) for role, v in self.components.items()})
        return d

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> "SystemSpec":
        """From a ``[system]`` table; errors name ``source``, the key and the allowed values."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: [system] must be a table, got {data!r}")
        allowed = sorted(_SCALARS) + sorted(COMPONENT_ROLES)
        kw: dict[str, Any] = {}
        comps: dict[str, dict] = {}
        for key, value in data.items():
            if key in _SCALARS:
                kw[key] = _check_scalar(source, key, value)
            elif key in COMPONENT_ROLES:
                _check_role(source, key, value)
                comps[key] = dict(value)
            elif isinstance(value, dict):
                raise ValueError(f"{source}: unknown component table [system.{key}]: allowed "
                                 f"{sorted(COMPONENT_ROLES)}")
            else:
                raise ValueError(f"{source}: unknown key {key!r} in [system]: allowed "
                                 f"{allowed}")
        return cls(**kw, components=comps)


def _check_role(src: str, role: str, over: Any) -> None:
    if role not in COMPONENT_ROLES:
        raise ValueError(f"{src}: unknown component table [system.{role}]: allowed "
                         f"{sorted(COMPONENT_ROLES)}")
    if not isinstance(over, dict):
        raise ValueError(f"{src}: [system.{role}] must be a table of field = value")
    cls = COMPONENT_ROLES[role]
    bad = sorted(set(over) - set(cls.TUNABLE))
    if bad:
        raise ValueError(f"{src}: unknown key(s) {bad} in [system.{role}]: allowed "
                         f"{sorted(cls.TUNABLE)}")
    for k, v in over.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{src}: [system.{role}] {k} = {v!r} is invalid: allowed a "
                             f"finite number (SI units)")


def load_design(path: str | os.PathLike) -> tuple[AttentionConfig, SystemSpec]:
    """Read a design file: its :class:`AttentionConfig` and :class:`SystemSpec`.

    Errors (missing file, invalid TOML, unknown tables or keys, wrong types, out-of-range
    values) raise ``ValueError`` naming the file, the key and the allowed values.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (FileNotFoundError, IsADirectoryError):
        raise ValueError(f"{path}: no such design file") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML ({e})") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason}): a design "
                         f"file is UTF-8 TOML") from None
    system = data.pop("system", {})
    unknown = sorted(set(data) - {"attention", "device", "meta"})
    if unknown:
        raise ValueError(f"{path}: unknown table(s) {unknown}: allowed 'attention', 'device', "
                         f"'meta', 'system'")
    cfg = AttentionConfig.from_dict(data, source=str(path))
    spec = SystemSpec.from_dict(system, source=str(path))
    meta = data.get("meta", {})
    name = meta.get("name", path.stem) if isinstance(meta, dict) else path.stem
    spec = spec.replace(name=str(name))
    from gaincell.system.estimator import build_components

    try:  # component overrides are range-checked by the components themselves
        build_components(cfg, spec)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return cfg, spec
