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

import math
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Comparison", "Reference", "compare", "FORMULAS"]

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


class Reference:
    """A reference ``r`` prepared once (its mean, centred copy, variance and rms), to compare
    many outputs of its shape with it, e.g. the chips of a Monte Carlo run: each comparison
    then reads ``y`` a few times instead of both arrays a few dozen."""

    def __init__(self, r):
        r = np.asarray(r, dtype=np.float64)
        self.shape = r.shape
        r = r.ravel()
        if r.size == 0 or not np.isfinite(r).all():
            raise ValueError(f"the reference r must be a non-empty finite array, got shape "
                             f"{self.shape}" + ("" if r.size == 0 else " with non-finite values"))
        self.r = r
        self.mean = float(r.mean())
        self.rc = r - self.mean
        self.var = float(self.rc @ self.rc) / r.size
        self.rms = math.sqrt(float(r @ r) / r.size)

    def _flat(self, y) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if y.shape != self.shape:
            raise ValueError(f"y and r must be non-empty arrays of one shape, got {y.shape} "
                             f"and {self.shape}")
        y = y.ravel()
        if not np.isfinite(y).all():
            raise ValueError("y and r must be finite")
        return y

    def _moments(self, y: np.ndarray) -> tuple[float, float, float]:
        """(mean of y, variance of y, covariance of y and r)."""
        ym = float(y.mean())
        yc = y - ym
        return ym, float(yc @ yc) / y.size, float(yc @ self.rc) / y.size

    def _rel(self, y: np.ndarray) -> float:
        d = y - self.r
        return math.sqrt(float(d @ d) / y.size) / self.rms if self.rms > 0 else math.nan

    def _corr(self, vy: float, cov: float) -> float:
        vr = self.var
        return float(np.clip(cov / math.sqrt(vy * vr), -1.0, 1.0)) if vy > 0 and vr > 0 \
            else math.nan

    def rel_rms_corr(self, y) -> tuple[float, float]:
        """``rel_rms`` and ``corr`` of ``y`` against the reference (as :func:`compare`)."""
        y = self._flat(y)
        _, vy, cov = self._moments(y)
        return self._rel(y), self._corr(vy, cov)

    def compare(self, y) -> Comparison:
        """Every metric of ``y`` against the reference (see the module docstring)."""
        y = self._flat(y)
        ym, vy, cov = self._moments(y)
        corr = self._corr(vy, cov)
        if math.isnan(corr):
            return Comparison(self._rel(y), corr, math.nan, math.nan, math.nan)
        gain = cov / self.var
        offset = ym - gain * self.mean
        resid = y - gain * self.r - offset
        fitted = math.sqrt(float(resid @ resid) / y.size) / math.sqrt(vy)
        return Comparison(self._rel(y), corr, float(gain), float(offset), fitted)


def compare(y, r) -> Comparison:
    """Compare a simulated output ``y`` with a reference ``r`` of the same shape."""
    y = np.asarray(y, dtype=np.float64).ravel()
    r = np.asarray(r, dtype=np.float64).ravel()
    if y.shape != r.shape or y.size == 0:
        raise ValueError(f"y and r must be non-empty arrays of one shape, got {y.shape} and "
                         f"{r.shape}")
    return Reference(r).compare(y)     # (which checks that both are finite)
