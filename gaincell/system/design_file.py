"""Reading a design file: its :class:`~gaincell.params.AttentionConfig` and
:class:`~gaincell.system.spec.SystemSpec` (``[attention]``, ``[device]``, ``[system]``,
``[meta]``; the tables are described in :mod:`gaincell.system.spec`).

It sits above :mod:`gaincell.system.calibrated`: component overrides are range-checked by
building the components.
"""

from __future__ import annotations

import os
from pathlib import Path

from gaincell.params import AttentionConfig, read_design_file
from gaincell.system.calibrated import build_components
from gaincell.system.spec import SystemSpec

__all__ = ["load_design"]


def load_design(path: str | os.PathLike) -> tuple[AttentionConfig, SystemSpec]:
    """Read a design file: its :class:`AttentionConfig` and :class:`SystemSpec`.

    Errors (missing file, invalid TOML, unknown tables or keys, wrong types, out-of-range
    values) raise ``ValueError`` naming the file, the key and the allowed values.
    """
    path = Path(path)
    data = read_design_file(path)
    cfg = AttentionConfig.from_dict(data, source=str(path))   # checks the table names
    spec = SystemSpec.from_dict(data.get("system", {}), source=str(path))
    meta = data.get("meta", {})
    name = meta.get("name", path.stem) if isinstance(meta, dict) else path.stem
    spec = spec.replace(name=str(name))
    try:  # component overrides are range-checked by the components themselves
        build_components(cfg, spec)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return cfg, spec
