"""A study: base design, space, chips, workload and seed; read from a TOML study file.

Study file (every table optional except ``[space]``; paths relative to the file)::

    [study]
    name = "levels vs retention"
    config = "design.toml"     # base design (default: built-in leroux2025)
    sample = "grid"            # grid | random | lhs
    n = 64                     # points of a random / lhs sample
    seed = 0
    chips = 4                  # Monte Carlo chips per point (0: cost only)
    model = "runs/model-demo"  # optional: validation loss of this trained run at every point

    [workload]
    kind = "uniform"           # uniform | gaussian | npz
    tokens = 64
    batch = 1
    heads = 2
    path = "qkv.npz"           # kind = "npz"

    [space]
    "device.kv_levels" = [4, 8, 16]
    window = [128, 256]
    "device.tau" = { lo = 1e-4, hi = 1e-2, log = true, num = 3 }
    "system.technology_nm" = [28, 14]
    "system.array.cell_area" = [1e-12, 2e-12]

Everything is checked when the study is built (:meth:`Study.validate`): unknown tables or
keys, wrong types, an empty space and every axis value (each applied alone to the base design,
so the dataclasses' validators name the key and the allowed range) fail before any work.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from gaincell._checks import check_number
from gaincell.explore.space import Space, parse_axis
from gaincell.explore.workload import Workload
from gaincell.params import AttentionConfig
from gaincell.system.design_file import load_design
from gaincell.system.spec import SystemSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Study", "load_study", "MAX_CHIPS"]

MAX_CHIPS = 10_000
_STUDY_KEYS = ("name", "config", "sample", "n", "seed", "chips", "model")
_WORKLOAD_KEYS = ("kind", "tokens", "batch", "heads", "path")
_OVERRIDES = ("config", "sample", "n", "seed", "chips", "model", "workload", "tokens", "batch",
              "heads", "set")


@dataclass(frozen=True)
class Study:
    """Everything that defines the results of a study (not how it is run).

    Attributes
    ----------
    space : Space
        Axes and sampling.
    cfg, spec : AttentionConfig, SystemSpec
        The base design every point overrides (default leroux2025 and ``SystemSpec()``).
    chips : int
        Monte Carlo chips per point, in [0, MAX_CHIPS]; 0 evaluates cost only.
    workload : Workload
        Inputs of the accuracy measurement.
    name : str
        Shown in the report.
    config : str or None
        Path of the base design file (recorded in run.json).
    """

    space: Space
    cfg: AttentionConfig = field(default_factory=AttentionConfig.leroux2025)
    spec: SystemSpec = field(default_factory=SystemSpec)
    chips: int = 4
    workload: Workload = field(default_factory=Workload)
    name: str = ""
    config: str | None = None
    model: Any = None   # gaincell.explore.model_loss.ModelLoss or None

    def __post_init__(self) -> None:
        c = self.chips
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= MAX_CHIPS:
            raise ValueError(f"chips = {c!r} is invalid: allowed an integer in [0, "
                             f"{MAX_CHIPS}] (0: cost only)")
        if not isinstance(self.space, Space):
            raise ValueError(f"space must be a Space, got {type(self.space).__name__}")
        self.validate()

    @property
    def seed(self) -> int:
        return self.space.seed

    def validate(self) -> None:
        """Every axis value against the base design; the workload against it."""
        from gaincell.explore.evaluate import _cost

        self.space.validate(self.cfg, self.spec, check=_cost)
        if self.chips > 0:
            self.workload.check(self.cfg)
        if self.model is not None:
            self.model.check_keys(self.space.keys)

    def context(self):
        from gaincell.explore.evaluate import PointContext

        return PointContext(self.cfg, self.spec, self.chips, self.seed,
                            self.workload if self.chips > 0 else None, self.model)

    def to_dict(self) -> dict[str, Any]:
        """Plain data that defines the results (hashed into run.json's study_sha256)."""
        sp = self.space
        return {
            "name": self.name, "config": self.config,
            "design": self.cfg.to_dict(), "system": self.spec.to_dict(),
            "sample": sp.sample, "n": sp.n, "seed": sp.seed, "chips": self.chips,
            "workload": self.workload.to_dict() if self.chips > 0 else None,
            "space": sp.to_dict(),
            "model": None if self.model is None else self.model.to_dict(),
        }


def _table(data: Mapping, name: str, allowed: tuple, source: str) -> dict:
    t = data.get(name, {})
    if not isinstance(t, dict):
        raise ValueError(f"{source}: [{name}] = {t!r}: allowed a table of key = value")
    bad = sorted(set(t) - set(allowed))
    if bad:
        raise ValueError(f"{source}: unknown key(s) {bad} in [{name}]: allowed {list(allowed)}")
    return dict(t)


def _resolve(path: str, base: Path | None) -> str:
    p = Path(path).expanduser()
    if not p.is_absolute() and base is not None:
        p = base / p
    return str(p.resolve())


def build_study(data: Mapping[str, Any], *, source: str = "<study>",
                base_dir: Path | None = None, overrides: Mapping[str, Any] | None = None
                ) -> Study:
    """A :class:`Study` from the plain data of a study file; ``overrides`` (from the command
    line) replace ``[study]`` / ``[workload]`` entries: keys ``config``, ``sample``, ``n``,
    ``seed``, ``chips``, ``workload`` (a kind or an .npz path), ``tokens``, ``batch``,
    ``heads``, and ``set`` (a dict of extra axes, refused when it repeats a [space] key)."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: expected tables [study], [workload], [space]")
    bad = sorted(set(data) - {"study", "workload", "space"})
    if bad:
        raise ValueError(f"{source}: unknown table(s) {bad}: allowed 'study', 'workload', "
                         f"'space'")
    st = _table(data, "study", _STUDY_KEYS, source)
    wl = _table(data, "workload", _WORKLOAD_KEYS, source)
    space = data.get("space", {})
    if not isinstance(space, dict):
        raise ValueError(f"{source}: [space] must be a table of KEY = [values] or {{lo, hi}}")
    ov = dict(overrides or {})
    unknown = sorted(set(ov) - set(_OVERRIDES))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown}: allowed {list(_OVERRIDES)}")
    cli_dir = Path.cwd()
    if ov.get("config") is not None:
        st["config"] = _resolve(ov.pop("config"), cli_dir)
    elif "config" in st:
        if not isinstance(st["config"], str):
            raise ValueError(f"{source}: [study] config = {st['config']!r}: allowed a path")
        st["config"] = _resolve(st["config"], base_dir)
    ov.pop("config", None)
    for k in ("sample", "n", "seed", "chips"):
        if ov.get(k) is not None:
            st[k] = ov[k]
    if ov.get("model") is not None:
        st["model"] = _resolve(ov["model"], cli_dir)
    elif "model" in st:
        if not isinstance(st["model"], str):
            raise ValueError(f"{source}: [study] model = {st['model']!r}: allowed a path")
        st["model"] = _resolve(st["model"], base_dir)
    wk = ov.get("workload")
    if wk is not None:
        if wk in ("uniform", "gaussian"):
            wl.update(kind=wk)
            wl.pop("path", None)
        else:
            wl.update(kind="npz", path=_resolve(wk, cli_dir))
    elif "path" in wl:
        if not isinstance(wl["path"], str):
            raise ValueError(f"{source}: [workload] path = {wl['path']!r}: allowed a path")
        wl["path"] = _resolve(wl["path"], base_dir)
    for k in ("tokens", "batch", "heads"):
        if ov.get(k) is not None:
            wl[k] = ov[k]
    axes = [parse_axis(k, v, f"{source}: [space]") for k, v in space.items()]
    seen = {a.key: k for a, k in zip(axes, space)}
    if len(seen) < len(axes):
        dup = [k for a, k in zip(axes, space) if seen[a.key] != k]
        raise ValueError(f"{source}: [space] {dup[0]!r} repeats a parameter given by another "
                         f"key: allowed each parameter once")
    for k, v in (ov.get("set") or {}).items():
        a = parse_axis(k, v, "--set")
        if a.key in seen:
            raise ValueError(f"--set {k} repeats the parameter {a.key!r} of [space] "
                             f"{seen[a.key]!r}: allowed each parameter once")
        seen[a.key] = k
        axes.append(a)
    if "config" in st:
        cfg, spec = load_design(st["config"])
    else:
        cfg, spec = AttentionConfig.leroux2025(), SystemSpec()
    for k in ("n", "seed", "chips"):
        v = st.get(k)
        if v is not None:
            check_number(f"{source}: [study] {k}", v, integer=True)
    name = st.get("name", "")
    if not isinstance(name, str):
        raise ValueError(f"{source}: [study] name = {name!r} is invalid: allowed a string")
    try:
        workload = Workload(**wl)
    except TypeError as e:
        raise ValueError(f"{source}: [workload]: {e}") from None
    sp = Space(axes, sample=st.get("sample", "grid"), n=st.get("n"), seed=st.get("seed", 0))
    model = None
    if st.get("model") is not None:
        from gaincell.explore.model_loss import ModelLoss

        model = ModelLoss(st["model"])
    return Study(space=sp, cfg=cfg, spec=spec, chips=st.get("chips", 4), workload=workload,
                 name=name, config=st.get("config"), model=model)


def load_study(path: str | os.PathLike | None = None, **overrides: Any) -> Study:
    """Read a study file (or none: the command line's ``overrides`` only); see
    :func:`build_study`. Errors name the file, the table, the key and the allowed values."""
    if path is None:
        return build_study({}, source="command line", overrides=overrides)
    p = Path(path)
    try:
        with open(p, "rb") as f:
            data = tomllib.load(f)
    except (FileNotFoundError, IsADirectoryError):
        raise ValueError(f"{p}: no such study file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{p}: not valid TOML ({e})") from None
    try:
        return build_study(data, source=str(p), base_dir=p.resolve().parent,
                           overrides=overrides)
    except ValueError as e:
        msg = str(e)
        raise ValueError(msg if msg.startswith(str(p)) else f"{p}: {msg}") from None
