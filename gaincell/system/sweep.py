"""Sweeps: evaluate many designs (with a progress bar) and write one CSV row per design."""

from __future__ import annotations

import csv
import io
import itertools
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from tqdm.auto import tqdm

from gaincell._io import atomic_write_text
from gaincell.params import AttentionConfig
from gaincell.system.estimator import Estimate, estimate
from gaincell.system.spec import SystemSpec

__all__ = ["sweep", "grid", "write_csv"]

#: Sweepable system-level names (the rest go to ``AttentionConfig.replace``).
_SYSTEM_KEYS = ("n_layers", "tokens", "technology_nm", "overhead_per_layer_s")


def grid(**axes: Iterable[Any]) -> list[dict[str, Any]]:
    """Cartesian product of named axes: ``grid(window=[512, 1024], n_heads=[8, 12])`` gives
    four override dicts."""
    names = list(axes)
    values = [list(v) for v in axes.values()]
    for n, v in zip(names, values):
        if not v:
            raise ValueError(f"sweep axis {n!r} is empty: allowed a non-empty list of values")
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def sweep(designs: Iterable[AttentionConfig | Mapping[str, Any]],
          base: AttentionConfig | None = None, spec: SystemSpec | None = None, *,
          progress: bool = True, out_csv: str | os.PathLike | None = None) -> list[Estimate]:
    """Estimate every design; optionally write the flat rows to ``out_csv`` atomically.

    ``designs`` holds :class:`AttentionConfig` objects or override dicts applied to ``base``
    (default leroux2025) and ``spec``: any ``AttentionConfig``/``DeviceParams`` field, or
    ``n_layers``, ``tokens``, ``technology_nm``, ``overhead_per_layer_s``. A bad override raises
    ``ValueError`` naming it before anything is written.
    """
    base = AttentionConfig.leroux2025() if base is None else base
    spec = SystemSpec() if spec is None else spec
    items = list(designs)
    out = []
    for k, d in enumerate(tqdm(items, desc="designs", unit="design", disable=not progress)):
        if isinstance(d, AttentionConfig):
            out.append(estimate(d, spec=spec))
            continue
        if not isinstance(d, Mapping):
            raise ValueError(f"designs[{k}] = {d!r} is invalid: allowed an AttentionConfig or "
                             f"a dict of overrides")
        sys_over = {n: v for n, v in d.items() if n in _SYSTEM_KEYS}
        cfg_over = {n: v for n, v in d.items() if n not in _SYSTEM_KEYS}
        try:
            cfg = base.replace(**cfg_over)
            sp = spec.replace(**sys_over) if sys_over else spec
        except (ValueError, TypeError) as e:
            raise ValueError(f"designs[{k}] {dict(d)}: {e}") from None
        out.append(estimate(cfg, spec=sp))
    if out_csv is not None:
        write_csv(out, out_csv)
    return out


def write_csv(estimates: Iterable[Estimate], path: str | os.PathLike) -> Path:
    """One row per estimate (``Estimate.flat``), written atomically; returns the path."""
    rows = [e.flat() for e in estimates]
    if not rows:
        raise ValueError("no estimates to write: allowed a non-empty list")
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: ("none" if r.get(c, "") is None else r.get(c, "")) for c in cols})
    return atomic_write_text(path, buf.getvalue())
