"""Scaling studies: the same design with one parameter swept (window, heads, layers)."""

from __future__ import annotations

from dataclasses import dataclass

from gaincell.system.estimator import Estimate, estimate

__all__ = ["ScalingStudy", "scaling_studies", "WINDOWS", "HEADS", "LAYERS"]

#: Windows of the window study, tokens (the issue's 128 to 8192).
WINDOWS = (128, 256, 512, 1024, 2048, 4096, 8192)
#: Head counts of the heads study.
HEADS = (1, 2, 4, 8, 12, 16, 24, 32)
#: Layer counts of the layers study.
LAYERS = (1, 2, 4, 6, 12, 24, 36, 48)


@dataclass(frozen=True)
class ScalingStudy:
    """One parameter swept around a design.

    Attributes
    ----------
    parameter : str
        ``"window"``, ``"n_heads"`` or ``"n_layers"``.
    base : int or None
        The design's own value of the parameter (marked in the figures).
    values : tuple of int
        The swept values.
    estimates : tuple of Estimate
        One estimate per value (the other parameters as in the base design).
    """

    parameter: str
    values: tuple[int, ...]
    estimates: tuple[Estimate, ...]
    base: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready: the swept values and each estimate's flat row."""
        return {"parameter": self.parameter, "values": list(self.values), "base": self.base,
                "rows": [e.flat() for e in self.estimates]}


def scaling_studies(est: Estimate, windows=WINDOWS, heads=HEADS,
                    layers=LAYERS) -> dict[str, ScalingStudy]:
    """Window, heads and layers studies around ``est``'s design (windows that are not a
    multiple of ``array_cols`` are skipped)."""
    cfg, spec = est.cfg, est.spec.replace(mode=est.mode)   # one mode along every curve
    ws = tuple(w for w in windows if w % cfg.array_cols == 0)
    out = {
        "window": ScalingStudy("window", ws, base=cfg.window, estimates=tuple(
            estimate(cfg.replace(window=w), spec=spec, published=est.published)
            for w in ws)),
        "n_heads": ScalingStudy("n_heads", tuple(heads), base=cfg.n_heads, estimates=tuple(
            estimate(cfg.replace(n_heads=h), spec=spec, published=est.published)
            for h in heads)),
        "n_layers": ScalingStudy("n_layers", tuple(layers), base=spec.n_layers,
                                 estimates=tuple(
            estimate(cfg, spec=spec.replace(n_layers=n), published=est.published)
            for n in layers)),
    }
    return out
