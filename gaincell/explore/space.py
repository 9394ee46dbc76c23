"""The space of a study: axes over design parameters and how points are drawn from them.

An axis is a list of values (``[4, 8, 16]``, ``["poly", "linear"]``, ``[8, "none"]``) or a
range (``lo``, ``hi``, optional ``log`` and ``integer``; for a grid also ``num``, the number
of evenly spaced values). Keys are those of :func:`gaincell.system.sweep.canonical_key`.

Sampling (``sample``):

- ``grid``: the Cartesian product (:class:`gaincell.system.sweep.Grid`, generated lazily;
  ranges need ``num``);
- ``random``: ``n`` independent points; point ``i`` is drawn from its own generator seeded by
  ``SeedSequence(seed, spawn_key=(1, i))``, so any point is produced without the others;
- ``lhs``: a Latin-hypercube sample of ``n`` points (``scipy.stats.qmc.LatinHypercube``,
  seeded by ``SeedSequence(seed, spawn_key=(1,))``); the unit sample (n x d floats) is
  computed once, so ``n`` is limited to ``LHS_MAX_POINTS``.

On a list axis ``random`` and ``lhs`` pick a value with equal probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

from gaincell._checks import as_real
from gaincell.params import AttentionConfig
from gaincell.system.spec import SystemSpec
from gaincell.system.sweep import Grid, apply_overrides, canonical_key

__all__ = ["Axis", "Space", "SAMPLES", "LHS_MAX_POINTS", "parse_axis"]

SAMPLES = ("grid", "random", "lhs")
#: Largest Latin-hypercube sample (its unit sample is held in memory: 8 bytes x n x d).
LHS_MAX_POINTS = 10_000_000
#: Most points of a random sample (the point index is a 64-bit spawn key).
MAX_POINTS = 2**62
_SAMPLE_DOMAIN = 1   # spawn_key domain of the sampling draws (chips use 2, workload 3)


@dataclass(frozen=True)
class Axis:
    """One swept parameter.

    Attributes
    ----------
    key : str
        Canonical parameter key.
    values : tuple or None
        The values of a list axis.
    lo, hi : float or None
        Bounds of a range axis (inclusive), in the parameter's unit (SI).
    log : bool
        Range drawn (or spaced) uniformly in log(value); needs ``lo > 0``.
    integer : bool
        Range of integers (draws rounded; ``lo`` and ``hi`` integers).
    num : int or None
        Evenly spaced values of a range on a grid.
    """

    key: str
    values: tuple | None = None
    lo: float | None = None
    hi: float | None = None
    log: bool = False
    integer: bool = False
    num: int | None = None

    def __post_init__(self) -> None:
        k = self.key
        if self.values is not None:
            if not self.values:
                raise ValueError(f"axis {k!r} is empty: allowed a non-empty list of values")
            return
        for name in ("lo", "hi"):
            as_real(f"axis {k!r}: {name}", getattr(self, name), "a finite number")
        if not self.lo <= self.hi:
            raise ValueError(f"axis {k!r}: lo = {self.lo!r}, hi = {self.hi!r} are invalid: "
                             f"allowed lo <= hi")
        if self.log and self.lo <= 0:
            raise ValueError(f"axis {k!r}: lo = {self.lo!r} is invalid with log = true: "
                             f"allowed lo > 0")
        if self.integer and not (float(self.lo).is_integer() and float(self.hi).is_integer()):
            raise ValueError(f"axis {k!r}: lo, hi = {self.lo!r}, {self.hi!r} are invalid with "
                             f"integer = true: allowed integers")
        if self.num is not None and (isinstance(self.num, bool) or not isinstance(
                self.num, int) or self.num < 1):
            raise ValueError(f"axis {k!r}: num = {self.num!r} is invalid: allowed an integer "
                             f">= 1")

    @property
    def is_range(self) -> bool:
        return self.values is None

    def grid_values(self) -> tuple:
        """The values of this axis on a grid (a range needs ``num``)."""
        if not self.is_range:
            return self.values
        if self.num is None:
            raise ValueError(f"axis {self.key!r} is a range: allowed on a grid only with num "
                             f"(evenly spaced values), or use sample = 'random' or 'lhs'")
        f = np.geomspace if self.log else np.linspace
        vals = f(self.lo, self.hi, self.num)
        if self.integer:
            return tuple(dict.fromkeys(int(round(x)) for x in vals))
        return tuple(float(x) for x in vals)

    def at(self, u: float):
        """The value at unit coordinate ``u`` in [0, 1)."""
        if not self.is_range:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        if self.integer:
            lo, hi = int(self.lo), int(self.hi)
            if self.log:   # uniform in log on [lo, hi + 1), floored
                x = math.exp(math.log(lo) + u * (math.log(hi + 1) - math.log(lo)))
                return min(max(int(math.floor(x)), lo), hi)
            return min(lo + int(u * (hi - lo + 1)), hi)
        if self.log:
            return float(math.exp(math.log(self.lo) + u * (math.log(self.hi)
                                                           - math.log(self.lo))))
        return float(self.lo + u * (self.hi - self.lo))

    def checked_values(self) -> tuple:
        """The values whose validity stands for the whole axis (list values, range ends)."""
        if not self.is_range:
            return self.values
        if self.integer:
            return (int(self.lo), int(self.hi))
        return (float(self.lo), float(self.hi))

    def to_dict(self) -> Any:
        if not self.is_range:
            return list(self.values)
        d: dict[str, Any] = {"lo": self.lo, "hi": self.hi}
        if self.log:
            d["log"] = True
        if self.integer:
            d["integer"] = True
        if self.num is not None:
            d["num"] = self.num
        return d


_RANGE_KEYS = ("lo", "hi", "log", "integer", "num")


def parse_axis(key: str, spec: Any, source: str = "[space]") -> Axis:
    """An :class:`Axis` from a study file's entry: a list, or a table of ``_RANGE_KEYS``."""
    ck = canonical_key(key)
    if isinstance(spec, Mapping):
        bad = sorted(set(spec) - set(_RANGE_KEYS))
        if bad:
            raise ValueError(f"{source} {key}: unknown key(s) {bad}: allowed {list(_RANGE_KEYS)}")
        if "lo" not in spec or "hi" not in spec:
            raise ValueError(f"{source} {key}: a range needs lo and hi")
        for b in ("log", "integer"):
            if b in spec and not isinstance(spec[b], bool):
                raise ValueError(f"{source} {key}: {b} = {spec[b]!r} is invalid: allowed "
                                 f"true or false")
        return Axis(ck, lo=spec["lo"], hi=spec["hi"], log=spec.get("log", False),
                    integer=spec.get("integer", False), num=spec.get("num"))
    if isinstance(spec, (list, tuple)):
        vals = tuple(None if isinstance(v, str) and v.lower() == "none" else v for v in spec)
        for v in vals:
            if isinstance(v, (list, dict)):
                raise ValueError(f"{source} {key}: value {v!r} is invalid: allowed numbers, "
                                 f"strings, booleans or \"none\"")
        return Axis(ck, values=vals)
    raise ValueError(f"{source} {key} = {spec!r} is invalid: allowed a list of values or a "
                     f"range table {{lo = ..., hi = ...}}")


class Space:
    """Axes and a sampling rule; points are generated lazily, by index.

    Parameters
    ----------
    axes : sequence of Axis
        At least one; each parameter once.
    sample : {"grid", "random", "lhs"}
    n : int, optional
        Points of a ``random`` or ``lhs`` sample (required there, ignored by ``grid``).
    seed : int
        Seed of the sampling draws.
    """

    def __init__(self, axes, sample: str = "grid", n: int | None = None, seed: int = 0):
        axes = tuple(axes)
        if not axes:
            raise ValueError("the space is empty: allowed at least one axis ([space] KEY = "
                             "[values] in the study file, or --set KEY=V1,V2,...)")
        seen: set[str] = set()
        for a in axes:
            if a.key in seen:
                raise ValueError(f"axis {a.key!r} is given twice: allowed each parameter once")
            seen.add(a.key)
        if sample not in SAMPLES:
            raise ValueError(f"sample = {sample!r} is invalid: allowed one of {list(SAMPLES)}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed = {seed!r} is invalid: allowed an integer >= 0")
        self.axes, self.sample, self.seed = axes, sample, seed
        self._lhs: np.ndarray | None = None
        if sample == "grid":
            self._grid = Grid({a.key: a.grid_values() for a in axes})
            self.n = self._grid.size
        else:
            hi = LHS_MAX_POINTS if sample == "lhs" else MAX_POINTS
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= hi:
                raise ValueError(f"n = {n!r} is invalid for sample = {sample!r}: allowed an "
                                 f"integer in [1, {hi}]")
            self.n = n

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(a.key for a in self.axes)

    def __len__(self) -> int:
        return self.n

    def point(self, i: int) -> dict[str, Any]:
        """Point ``i`` (0 <= i < len) as ``{key: value}``."""
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < self.n:
            raise IndexError(f"point index {i!r} out of range: allowed [0, {self.n})")
        i = int(i)
        if self.sample == "grid":
            return self._grid[i]
        if self.sample == "random":
            rng = np.random.default_rng(np.random.SeedSequence(self.seed,
                                                               spawn_key=(_SAMPLE_DOMAIN, i)))
            u = rng.random(len(self.axes))
        else:
            u = self._lhs_sample()[i]
        return {a.key: a.at(float(x)) for a, x in zip(self.axes, u)}

    def _lhs_sample(self) -> np.ndarray:
        if self._lhs is None:
            from scipy.stats import qmc

            ss = np.random.SeedSequence(self.seed, spawn_key=(_SAMPLE_DOMAIN,))
            eng = qmc.LatinHypercube(d=len(self.axes), seed=np.random.default_rng(ss))
            self._lhs = eng.random(self.n)
        return self._lhs

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(index, point)`` pairs, lazily."""
        if self.sample == "grid":
            yield from enumerate(self._grid)
            return
        for i in range(self.n):
            yield i, self.point(i)

    def validate(self, cfg: AttentionConfig, spec: SystemSpec, check=None) -> None:
        """Apply every list value and every range end, one axis at a time, to the base
        design: ``ValueError`` naming the key and the allowed range before any work.
        ``check(cfg, spec)``, when given, runs on each of those designs too (e.g. the cost
        model, whose own limits, such as its technology table, then fail early)."""
        for a in self.axes:
            for v in a.checked_values():
                c, s = apply_overrides(cfg, spec, {a.key: v})
                if check is not None:
                    try:
                        check(c, s)
                    except ValueError as e:
                        raise ValueError(f"{a.key} = {v!r}: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        return {a.key: a.to_dict() for a in self.axes}
