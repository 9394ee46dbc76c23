"""Design overrides by dotted key, lazy grids, and the cost-only sweep (streamed CSV).

This module is the one parameter-space machinery of the package: :mod:`gaincell.explore`
builds its random and Latin-hypercube samples and its accuracy-in-the-loop studies on the
keys, overrides and grids defined here.

Keys name one parameter of a design ``(AttentionConfig, SystemSpec)``:

- ``X`` or ``attention.X``: an :class:`~gaincell.params.AttentionConfig` field (``window``);
- ``device.X`` (or bare ``X``): a :class:`~gaincell.params.DeviceParams` field (``device.tau``);
- ``system.X`` (or bare ``X``): a :class:`~gaincell.system.SystemSpec` scalar
  (``system.technology_nm``);
- ``system.ROLE.FIELD``: a component override (``system.array.cell_area``; the roles and
  fields of ``[system.ROLE]`` tables in a design file).

Bare names are unambiguous (no field name is shared); the canonical form (:func:`canonical_key`)
keeps ``X`` for attention fields and the prefix for the others.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from gaincell._io import AtomicStream
from gaincell.params import AttentionConfig, DeviceParams
from gaincell.system.estimator import Estimate, build_components, estimate
from gaincell.system.spec import COMPONENT_ROLES, SystemSpec

__all__ = ["canonical_key", "apply_overrides", "Grid", "grid", "sweep", "write_csv",
           "cost_row", "one_mode", "SWEEPABLE"]

_ATTENTION = tuple(f.name for f in fields(AttentionConfig) if f.name != "device")
#: Device fields that hold one scalar (``poly_c_ua`` and ``iv_table`` are tables).
_DEVICE = tuple(f.name for f in fields(DeviceParams) if f.name not in ("poly_c_ua", "iv_table"))
#: SystemSpec fields that hold one scalar (tables such as ``components`` are not axes).
_SYSTEM = tuple(f.name for f in fields(SystemSpec)
                if f.name not in ("components", "name", "circuit", "technology", "spice_energy"))

#: Every sweepable key in canonical form (component overrides: ``system.ROLE.FIELD``).
SWEEPABLE: tuple[str, ...] = (
    _ATTENTION + tuple(f"device.{n}" for n in _DEVICE) + tuple(f"system.{n}" for n in _SYSTEM)
    + tuple(f"system.{r}.{f}" for r, c in COMPONENT_ROLES.items() for f in c.TUNABLE))


def _allowed_keys() -> str:
    return (f"an AttentionConfig field {list(_ATTENTION)}, device.X with X a DeviceParams "
            f"field {list(_DEVICE)}, system.X with X in {list(_SYSTEM)}, or system.ROLE.FIELD "
            f"with ROLE in {sorted(COMPONENT_ROLES)} (see each component's TUNABLE)")


def canonical_key(key: str) -> str:
    """The canonical form of a parameter key; ``ValueError`` naming an unknown key."""
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"parameter key {key!r} is invalid: allowed {_allowed_keys()}")
    k = key.strip()
    parts = k.split(".")
    if len(parts) == 1:
        n = parts[0]
        if n in _ATTENTION:
            return n
        if n in _DEVICE:
            return f"device.{n}"
        if n in _SYSTEM:
            return f"system.{n}"
    elif len(parts) == 2:
        table, n = parts
        if table == "attention" and n in _ATTENTION:
            return n
        if table == "device" and n in _DEVICE:
            return k
        if table == "system" and n in _SYSTEM:
            return k
    elif len(parts) == 3 and parts[0] == "system" and parts[1] in COMPONENT_ROLES:
        role, n = parts[1], parts[2]
        tunable = COMPONENT_ROLES[role].TUNABLE
        if n in tunable:
            return k
        raise ValueError(f"parameter key {key!r} is unknown: allowed system.{role}.FIELD with "
                         f"FIELD in {sorted(tunable)}")
    raise ValueError(f"parameter key {key!r} is unknown: allowed {_allowed_keys()}")


def apply_overrides(cfg: AttentionConfig, spec: SystemSpec,
                    overrides: Mapping[str, Any]) -> tuple[AttentionConfig, SystemSpec]:
    """``(cfg, spec)`` with the overrides (any key form) applied and validated.

    The dataclasses' own validators check every value; the ``ValueError`` names the key, the
    value and the allowed range (e.g. ``device.tau = -1: DeviceParams.tau = -1 is invalid:
    allowed > 0 s``).
    """
    att: dict[str, Any] = {}
    dev: dict[str, Any] = {}
    sysd: dict[str, Any] = {}
    comps = {r: dict(v) for r, v in spec.components.items()}
    for key, value in overrides.items():
        ck = canonical_key(key)
        parts = ck.split(".")
        if len(parts) == 1:
            att[ck] = value
        elif parts[0] == "device":
            dev[parts[1]] = value
        elif len(parts) == 2:
            sysd[parts[1]] = value
        else:
            comps.setdefault(parts[1], {})[parts[2]] = value
    what = ", ".join(f"{k} = {v!r}" for k, v in overrides.items())
    try:
        if dev:
            att["device"] = cfg.device.replace(**dev)
        out_cfg = cfg.replace(**att) if att else cfg
        out_spec = spec.replace(**sysd, components=comps) if (sysd or comps != spec.components
                                                               ) else spec
        if comps:
            build_components(out_cfg, out_spec)   # components range-check their overrides
    except (ValueError, TypeError) as e:
        raise ValueError(f"{what}: {e}") from None
    return out_cfg, out_spec


class Grid:
    """The Cartesian product of named axes, generated lazily (the last axis varies fastest,
    as :func:`itertools.product`).

    ``len(grid)`` and ``grid[i]`` need no memory beyond the axes; iterating yields one
    override dict at a time. Keys are canonicalized; two keys naming the same parameter
    (``kv_levels`` and ``device.kv_levels``) are refused.
    """

    def __init__(self, axes: Mapping[str, Iterable[Any]]):
        keys: list[str] = []
        values: list[tuple] = []
        for name, vals in axes.items():
            ck = canonical_key(name)
            if ck in keys:
                raise ValueError(f"axis {name!r} repeats the parameter {ck!r}: allowed each "
                                 f"parameter once")
            if isinstance(vals, (str, bytes)) or not isinstance(vals, Iterable):
                raise ValueError(f"axis {name!r} = {vals!r} is invalid: allowed a list of "
                                 f"values")
            v = tuple(vals)
            if not v:
                raise ValueError(f"sweep axis {name!r} is empty: allowed a non-empty list of "
                                 f"values")
            keys.append(ck)
            values.append(v)
        self.keys: tuple[str, ...] = tuple(keys)
        self.values: tuple[tuple, ...] = tuple(values)
        self.size: int = math.prod(len(v) for v in values)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict[str, Any]:
        if isinstance(i, bool) or not isinstance(i, int) or not -self.size <= i < self.size:
            raise IndexError(f"grid index {i!r} out of range: allowed [0, {self.size})")
        i %= self.size
        out = {}
        for k, v in zip(reversed(self.keys), reversed(self.values)):
            i, r = divmod(i, len(v))
            out[k] = v[r]
        return {k: out[k] for k in self.keys}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for combo in itertools.product(*self.values):
            yield dict(zip(self.keys, combo))

    def __repr__(self) -> str:
        return f"Grid({dict(zip(self.keys, self.values))!r}: {self.size} points)"


def grid(axes: Mapping[str, Iterable[Any]] | None = None, **kw: Iterable[Any]) -> Grid:
    """Lazy Cartesian product: ``grid(window=[512, 1024], n_heads=[8, 12])`` has four
    override dicts; dotted keys go in a mapping: ``grid({"device.tau": [1e-3, 5e-3]})``."""
    merged = dict(axes or {})
    for k, v in kw.items():
        if k in merged:
            raise ValueError(f"axis {k!r} given twice: allowed each parameter once")
        merged[k] = v
    return Grid(merged)


def cost_row(est: Estimate) -> dict[str, Any]:
    """The headline cost numbers of an estimate, by name (SI units in the column names), and
    the estimate's mode (calibrated / predicted) when the system layer reports one."""
    def get(obj, name):
        v = getattr(obj, name, None)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan
    return {
        "latency_layer_s": get(est, "latency_layer_s"),
        "token_period_s": get(est, "token_period_s"),
        "energy_head_J": get(est, "energy_head_j"),
        "energy_layer_J": get(est, "energy_layer_j"),
        "energy_model_J": get(est, "energy_model_j"),
        "power_W": get(est, "power_w"),
        "area_head_m2": get(est, "area_head_m2"),
        "area_layer_m2": get(est, "area_layer_m2"),
        "area_model_m2": get(est, "area_model_m2"),
        "leak_per_step_implied": get(getattr(est, "retention", None), "leak_per_step"),
        "estimate_mode": (str(est.mode) if isinstance(getattr(est, "mode", None), str)
                          else None),
    }


def one_mode(spec: SystemSpec) -> SystemSpec:
    """The spec of a design of a sweep or study: ``mode = "auto"`` becomes ``"predicted"``.

    ``auto`` makes only the paper's exact design calibrated and every other design predicted;
    in a sweep that would put two cost models side by side (the paper's design 6.15 nJ
    calibrated beside neighbours at about 31 nJ predicted, and different columns). A sweep
    therefore evaluates every design in one mode: the spec's own when it names one
    (``[system] mode`` or a ``system.mode`` axis), else ``predicted``.
    """
    return spec.replace(mode="predicted") if getattr(spec, "mode", None) == "auto" else spec


def _estimate(what: str, cfg: AttentionConfig, spec: SystemSpec) -> Estimate:
    """``estimate`` in one mode (:func:`one_mode`); any failure becomes a ``ValueError``
    naming the design (a cost model that cannot evaluate a design is reported, not a
    traceback)."""
    try:
        return estimate(cfg, spec=one_mode(spec))
    except ValueError as e:
        raise ValueError(f"{what}: {e}") from None
    except (ArithmeticError, TypeError, KeyError, IndexError) as e:
        raise ValueError(f"{what}: the cost model failed ({type(e).__name__}: {e})") from None


def _design(k: int, d, base: AttentionConfig, spec: SystemSpec):
    if isinstance(d, AttentionConfig):
        return d, spec
    if not isinstance(d, Mapping):
        raise ValueError(f"designs[{k}] = {d!r} is invalid: allowed an AttentionConfig or "
                         f"a dict of overrides")
    try:
        return apply_overrides(base, spec, d)
    except ValueError as e:
        raise ValueError(f"designs[{k}] {dict(d)}: {e}") from None


class _CSVStream:
    """Rows written to ``path`` as they come (:class:`gaincell._io.AtomicStream`: renamed
    onto ``path`` by :meth:`close`, also after an interruption: the complete rows so far;
    removed by :meth:`discard`). ``flush_s``: at most that long between flushes to disk."""

    def __init__(self, path: str | os.PathLike, flush_s: float = 1.0):
        self.stream = AtomicStream(path)
        self.path = self.stream.path
        self.f = self.stream.file
        self.writer: csv.DictWriter | None = None
        self.flush_s, self.t_flush, self.n = flush_s, time.monotonic(), 0

    def write(self, row: Mapping[str, Any]) -> None:
        if self.writer is None:
            self.writer = csv.DictWriter(self.f, fieldnames=list(row), lineterminator="\n")
            self.writer.writeheader()
        extra = sorted(set(row) - set(self.writer.fieldnames))
        if extra:
            raise ValueError(f"row {self.n} has column(s) {extra} the first row lacks: allowed "
                             f"the same columns in every row")
        self.writer.writerow({c: ("none" if row.get(c, "") is None else row.get(c, ""))
                              for c in self.writer.fieldnames})
        self.n += 1
        if time.monotonic() - self.t_flush >= self.flush_s:
            self.f.flush()
            self.t_flush = time.monotonic()

    def close(self) -> Path:
        return self.stream.commit()

    def discard(self) -> None:
        self.stream.discard()


def sweep(designs: Iterable[AttentionConfig | Mapping[str, Any]],
          base: AttentionConfig | None = None, spec: SystemSpec | None = None, *,
          progress: bool = True, out_csv: str | os.PathLike | None = None,
          keep: bool = True) -> list[Estimate]:
    """Estimate every design, one at a time; optionally stream one CSV row each to ``out_csv``.

    ``designs``: :class:`AttentionConfig` objects or override dicts (any key of
    :func:`canonical_key`) applied to ``base`` (default leroux2025) and ``spec``; a
    :class:`Grid` is generated lazily. Every overridden key gets its own CSV column (canonical
    name) beside ``Estimate.flat()``. ``keep=False`` returns an empty list (memory independent
    of the number of designs; the CSV holds the results).

    A bad design raises ``ValueError`` naming it and nothing is written; after Ctrl-C the CSV
    holds the complete rows so far.
    """
    base = AttentionConfig.leroux2025() if base is None else base
    spec = SystemSpec() if spec is None else spec
    total = len(designs) if hasattr(designs, "__len__") else None
    if isinstance(designs, Grid):   # check every axis value before any work (cost included)
        for key, vals in zip(designs.keys, designs.values):
            for v in vals:
                c, s = apply_overrides(base, spec, {key: v})
                _estimate(f"{key} = {v!r}", c, s)
    from tqdm.auto import tqdm  # here, not at import: no notebook-widget check on import

    stream = _CSVStream(out_csv) if out_csv is not None else None
    out: list[Estimate] = []
    try:
        for k, d in enumerate(tqdm(designs, total=total, desc="designs", unit="design",
                                   disable=not progress)):
            cfg, sp = _design(k, d, base, spec)
            est = _estimate(f"designs[{k}] {dict(d) if isinstance(d, Mapping) else ''}".rstrip(),
                            cfg, sp)
            if keep:
                out.append(est)
            if stream is not None:
                stream.write(_csv_row(d, est))
    except KeyboardInterrupt:
        if stream is not None:
            if stream.n:
                stream.close()
            else:
                stream.discard()
        raise
    except BaseException:
        if stream is not None:
            stream.discard()
        raise
    if stream is not None:
        if not stream.n:
            stream.discard()
            raise ValueError("no designs to sweep: allowed a non-empty list")
        stream.close()
    return out


def _csv_row(d, est: Estimate) -> dict[str, Any]:
    row = est.flat()
    if isinstance(d, Mapping):
        for key, value in d.items():
            ck = canonical_key(key)
            if ck not in row:
                row[ck] = value
    return row


def write_csv(estimates: Iterable[Estimate], path: str | os.PathLike) -> Path:
    """One row per estimate (``Estimate.flat``), streamed to a temporary file then renamed
    onto ``path``; returns the path."""
    stream = _CSVStream(path)
    try:
        for e in estimates:
            stream.write(e.flat())
    except BaseException:
        stream.discard()
        raise
    if not stream.n:
        stream.discard()
        raise ValueError("no estimates to write: allowed a non-empty list")
    return stream.close()
