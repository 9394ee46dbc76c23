"""Error metrics between a simulated output and a reference, with their formulas.

All metrics are dimensionless and computed over every element of the two arrays:

- ``rel_rms``: relative RMS error, ``sqrt(mean((y - r)^2)) / sqrt(mean(r^2))``;
- ``corr``: Pearson correlation of ``y`` and ``r``;
- ``gain``, ``offset``: the least-squares affine map ``y ~ gain r + offset``;
- ``fitted_rel_rms``: the error left after that map, relative to the spread of ``y``,
  ``sqrt(mean((y - gain r - offset)^2)) / std(y)`` (= ``sqrt(1 - corr^2)``): what a
  per-output scale and offset, as a trained model's scalers provide, cannot remove.

Undefined values (a constant reference or output) are NaN and flagged, never raised.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Comparison", "compare", "FORMULAS"]

#: One line per metric, for reports and summaries.
FORMULAS = {
    "rel_rms": "rms(y - r) / rms(r)",
    "corr": "Pearson correlation of y and r",
    "gain": "a of the least-squares fit y ~ a r + b",
    "offset": "b of the least-squares fit y ~ a r + b",
    "fitted_rel_rms": "rms(y - a r - b) / std(y) = sqrt(1 - corr^2)",
}


@dataclass(frozen=True)
class Comparison:
    """Metrics of ``y`` against a reference ``r`` (see the module docstring)."""

    rel_rms: float
    corr: float
    gain: float
    offset: float
    fitted_rel_rms: float

    def to_dict(self) -> dict:
        return asdict(self)


def compare(y, r) -> Comparison:
    """Compare a simulated output ``y`` with a reference ``r`` of the same shape."""
    y = np.asarray(y, dtype=np.float64).ravel()
    r = np.asarray(r, dtype=np.float64).ravel()
    if y.shape != r.shape or y.size == 0:
        raise ValueError(f"y and r must be non-empty arrays of one shape, got {y.shape} and "
                         f"{r.shape}")
    if not (np.isfinite(y).all() and np.isfinite(r).all()):
        raise ValueError("y and r must be finite")
    ref_rms = float(np.sqrt(np.mean(r**2)))
    rel = float(np.sqrt(np.mean((y - r) ** 2)) / ref_rms) if ref_rms > 0 else float("nan")
    yc, rc = y - y.mean(), r - r.mean()
    vy, vr = float(np.mean(yc**2)), float(np.mean(rc**2))
    if vy > 0 and vr > 0:
        cov = float(np.mean(yc * rc))
        corr = float(np.clip(cov / np.sqrt(vy * vr), -1.0, 1.0))
        gain = cov / vr
        offset = float(y.mean() - gain * r.mean())
        resid = y - gain * r - offset
        fitted = float(np.sqrt(np.mean(resid**2)) / np.sqrt(vy))
    else:
        corr = gain = offset = fitted = float("nan")
    return Comparison(rel, corr, float(gain), offset, fitted)
