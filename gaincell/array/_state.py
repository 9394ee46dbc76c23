"""The ring buffer of one attention layer and the write path into it (DAC, write noise).

Token j is written into slot ``j mod W`` of every head's K and V arrays. What a slot stores is
one of:

- the DAC code (uint8, one byte per cell), when the DAC has at most 256 levels and there is
  neither write noise nor a write pedestal;
- with write noise, the stored voltage on a uint16 grid of ``vdd / 65535`` (14 uV at 0.9 V:
  an rms rounding of 4 uV, at most 3 % of the write noise's sigma, since the grid is only
  used when the sigma is at least ten grid steps; a smaller write noise is stored as float32,
  a resolution of about 0.05 uV at 0.9 V);
- otherwise (an analog DAC, or a pedestal without noise) the stored voltage, float64.

All decode to the stored voltage ``v = x * scale + lo``: for codes ``code * step + kv_lo``,
bit for bit the DAC's output level.

Because the buffer is always filled from token 0 on, slot s holds, after token t was written,
token ``j = t - ((t - s) mod W)`` (empty when j < 0), of age ``(t - s) mod W`` steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gaincell.device.pedestal import write_pedestal
from gaincell.device.quantize import dac, quantizer_step
from gaincell.params import AttentionConfig

__all__ = ["RingBuffer", "Writer", "slot_ages"]


@dataclass
class RingBuffer:
    """Stored values per slot: k, v (B, H, W, D) as the :class:`Writer` stores them; ``t`` is
    the number of tokens written (the index of the next one)."""

    k: np.ndarray
    v: np.ndarray
    t: int = 0

    @property
    def nbytes(self) -> int:
        return self.k.nbytes + self.v.nbytes


def slot_ages(t_last: int, W: int) -> tuple[np.ndarray, np.ndarray]:
    """(valid, ages) of the W slots after token ``t_last`` was written: ``ages`` in steps
    (0 for the slot just written), ``valid`` False for slots never written."""
    s = np.arange(W)
    ages = (t_last - s) % W
    valid = t_last - ages >= 0
    return valid, np.where(valid, ages, 0)


class Writer:
    """The K/V write path of a design: DAC (to codes or voltages), write pedestal
    (:mod:`gaincell.device.pedestal`) and write noise."""

    def __init__(self, cfg: AttentionConfig):
        d = cfg.device
        self.cfg = cfg
        self.step = quantizer_step(d.kv_lo, d.kv_hi, d.kv_levels)
        #: True when slots hold uint8 DAC codes
        self.codes = bool(d.kv_levels is not None and d.kv_levels <= 256
                          and d.write_noise_sigma == 0 and not d.has_pedestal)
        #: the uint16 voltage grid (V) with write noise, else None (see the module docstring)
        self.grid = (d.vdd / 65535.0 if d.write_noise_sigma >= 10.0 * d.vdd / 65535.0
                     else None)
        #: pedestal coefficients (V / V^i) or None
        self.pedestal = d.write_pedestal_coef_v if d.has_pedestal else None
        #: stored value x -> voltage: x * scale + lo
        self.scale = self.step if self.codes else (self.grid or 1.0)
        self.lo = d.kv_lo if self.codes else 0.0
        self.dtype = (np.uint8 if self.codes else np.uint16 if self.grid else
                      np.float32 if d.write_noise_sigma > 0 else np.float64)

    def empty(self, B: int) -> RingBuffer:
        cfg = self.cfg
        shape = (B, cfg.n_heads, cfg.window, cfg.head_dim)
        dt = self.dtype
        return RingBuffer(np.zeros(shape, dt), np.zeros(shape, dt), 0)

    def store(self, x: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
        """Values to store for voltages ``x`` (V): codes, or DAC levels ``v`` plus the write
        pedestal ``p(v)`` plus write noise, held within the rails [0, VDD] (``noise``
        pre-scaled, V, shaped like ``x``)."""
        d = self.cfg.device
        if self.codes:
            return np.rint((np.clip(x, d.kv_lo, d.kv_hi) - d.kv_lo) / self.step
                           ).astype(np.uint8)
        vq = dac(x, d)                 # a fresh array: the rest works in place
        if self.pedestal is not None:
            vq += write_pedestal(vq, self.pedestal)
        if noise is not None:
            vq += noise
        if self.pedestal is not None or noise is not None:
            np.clip(vq, 0.0, d.vdd, out=vq)
        if self.grid is not None:
            vq *= 1.0 / self.grid
            return np.rint(vq, out=vq).astype(np.uint16)
        return vq.astype(self.dtype, copy=False)

    def voltage(self, stored: np.ndarray) -> np.ndarray:
        """Stored voltages (V, float64) of stored values."""
        if self.codes or self.grid is not None:
            return stored * self.scale + self.lo
        return np.asarray(stored, dtype=np.float64)

    def voltage_sum(self, *stores: np.ndarray) -> float:
        """Sum of the stored voltages (V) of stored values."""
        return float(sum(self.voltage(x).sum() for x in stores))
