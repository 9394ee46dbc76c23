"""Random numbers of one simulated chip: static per-cell draws and per-token noise streams.

Every number comes from the counter-based generator of :mod:`gaincell.array._philox`
(Philox4x64-10, Box-Muller on 32-bit uniforms) under keys derived from one
``numpy.random.SeedSequence`` of the simulator's seed, so that the numbers do not depend on
the engine, the thread count, or on whether tokens arrive one by one (``step``) or together
(``forward``): normal deviate i of stream ``(c1, c2, c3)`` is a pure function of them, and a
kernel may draw any part of it where it needs it.

- The chip's static draws (:class:`ChipDraws`), under the key of spawn key ``(0,)``, each only
  when its sigma is non-zero. Stream ``(s, h, kind)``, index r, for the per-cell draws of slot
  s, row r of head h: kind 0 the gain mismatch of the K cells, 1 of the V cells; 2 the
  retention spread of the K cells, 3 of the V cells; 6 the read devices' threshold offsets of
  the K cells, 7 of the V cells. Stream ``(0, h, kind)``: kind 4 the first-stage comparator
  offsets (index s), kind 5 the second-stage ones (index ``g D + r``). A draw does not depend
  on which other draws are on.
- Token noise (:func:`token_noise`), under the key of spawn key ``(1,)``: stream
  ``(t, b H + h, kind)`` for token t, sequence b, head h; kinds: 0 write noise of K, 1 of V
  (index r of the D rows); 2 first-stage read noise (index: column s of W); 3 second-stage
  read noise (index ``g D + r``: sub-array g, row r). Only drawn when their sigma is non-zero.

**Compact per-cell draws.** A chip holds its per-cell deviates as codes, so that its state
stays within a small multiple of the stored values themselves: the gain and threshold
deviates z as int16 ``code = rint(z / Z_STEP)`` (``Z_STEP = 2^-11``: a resolution of 5e-4
sigma, the whole range of the generator's |z| <= 6.66 kept), and the ln-tau deviate as a
uint8 level ``rint(z * TAU_LEVELS_PER_SIGMA) + 128`` (a grid of sigma / 20 over
[-6.4, 6.35] sigma; the rms rounding of ln tau is 0.014 sigma, and a cell beyond 6.4 sigma,
probability 1.6e-10, is held at the grid's end). 256 levels let a streaming step take every
cell's decay from a table by age and level instead of an exponential per cell. Every engine
(fast, reference, the torch twin) reads the same decoded values:

- gain ``max(1 + sigma_gain z, 0)`` (a cell cannot invert its sign; cf.
  :func:`gaincell.device.noise.gain_mismatch`);
- leak per step ``leak_per_step exp(-sigma_tau z)``, i.e. a log-normal ``tau_cell = tau
  exp(sigma_tau z)`` (cf. :func:`gaincell.device.leakage.sample_tau`);
- threshold offset ``vth_sigma z`` (V); comparator offsets ``sigma_comparator_offset z``
  (float64, uA x T_max).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields

import numpy as np
from numba import njit

from gaincell.array._philox import normal_key, normals
from gaincell.params import UA as _UA
from gaincell.params import AttentionConfig

__all__ = ["ChipDraws", "TokenNoise", "seed_entropy", "draw_chip", "token_noise", "token_key",
           "Z_STEP", "TAU_LEVELS_PER_SIGMA"]

#: int16 code step of the gain and threshold deviates (units of sigma)
Z_STEP = 2.0**-11
#: uint8 levels per sigma of the ln-tau deviate (level 128 is z = 0)
TAU_LEVELS_PER_SIGMA = 20.0


def seed_entropy(seed) -> list[int]:
    """Seed -> entropy (non-negative ints) of the simulator's SeedSequence.

    An int, a tuple of ints, or a SeedSequence (its entropy followed by its spawn key, so
    that ``SeedSequence(s, spawn_key=(i,))`` and ``(s, i)`` name the same chip); a Generator
    gives up 128 bits once (the simulator's streams are fixed from then on).
    """
    if isinstance(seed, np.random.Generator):
        return [int(x) for x in seed.integers(0, 2**63, size=2)]
    if isinstance(seed, np.random.SeedSequence):
        ent = seed.entropy
        return ([int(ent)] if np.isscalar(ent) else [int(x) for x in ent]) + \
            [int(x) for x in seed.spawn_key]
    items = list(seed) if isinstance(seed, (tuple, list)) else [seed]
    for x in items:
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0:
            raise ValueError(f"seed = {seed!r} is invalid: allowed an integer >= 0, a tuple of "
                             f"them or a numpy SeedSequence (results must be reproducible)")
    return [int(x) for x in items]


def stream(entropy: list[int], *key: int) -> np.random.Generator:
    """A numpy Generator on spawn key ``key`` of a seed (for callers outside the engines; the
    engines' numbers are counter-based, see the module docstring)."""
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key))


@dataclass
class ChipDraws:
    """Static non-idealities of one chip (None where the sigma is 0), as compact codes (see
    the module docstring) with their decoding scales; the properties ``gain_k``, ``gain_v``,
    ``leak_k``, ``leak_v``, ``vth_k``, ``vth_v`` decode them (float64, computed on each
    access).

    Attributes
    ----------
    gain_k_code, gain_v_code : numpy.ndarray (H, W, D) int16 or None
        Gain deviates of the K and V cells (slot s, row r), ``z = code * Z_STEP``.
    leak_k_level, leak_v_level : numpy.ndarray (H, W, D) uint8 or None
        ln-tau levels of the K and V cells; the leak per step is ``leak_levels[level]``.
    vth_k_code, vth_v_code : numpy.ndarray (H, W, D) int16 or None
        Threshold deviates of the K and V cells' read devices, ``z = code * Z_STEP``.
    off1 : numpy.ndarray (H, W) float64 or None
        First-stage comparator offsets, uA x T_max.
    off2 : numpy.ndarray (H, G, D) float64 or None
        Second-stage comparator offsets, uA x T_max.
    sigma_gain : float
        Relative gain spread (the decoding scale of the gain codes).
    sigma_vth : float
        Threshold spread, V.
    leak_levels : numpy.ndarray (256,) float64 or None
        Leak per token step (dt / tau_cell) of each ln-tau level.
    """

    gain_k_code: np.ndarray | None = None
    gain_v_code: np.ndarray | None = None
    leak_k_level: np.ndarray | None = None
    leak_v_level: np.ndarray | None = None
    off1: np.ndarray | None = None
    off2: np.ndarray | None = None
    vth_k_code: np.ndarray | None = None
    vth_v_code: np.ndarray | None = None
    sigma_gain: float = 0.0
    sigma_vth: float = 0.0
    leak_levels: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self)
                   if isinstance(getattr(self, f.name), np.ndarray))

    def _gain(self, code):
        return None if code is None else np.maximum(
            1.0 + self.sigma_gain * (code * Z_STEP), 0.0)

    def _vth(self, code):
        return None if code is None else self.sigma_vth * (code * Z_STEP)

    def _leak(self, level):
        return None if level is None else self.leak_levels[level]

    @property
    def gain_k(self) -> np.ndarray | None:
        """Per-cell multipliers of the K cells' read current (H, W, D)."""
        return self._gain(self.gain_k_code)

    @property
    def gain_v(self) -> np.ndarray | None:
        """Per-cell multipliers of the V cells' read current (H, W, D)."""
        return self._gain(self.gain_v_code)

    @property
    def leak_k(self) -> np.ndarray | None:
        """Per-cell leak per token step of the K cells, dt / tau_cell (H, W, D)."""
        return self._leak(self.leak_k_level)

    @property
    def leak_v(self) -> np.ndarray | None:
        """Per-cell leak per token step of the V cells, dt / tau_cell (H, W, D)."""
        return self._leak(self.leak_v_level)

    @property
    def vth_k(self) -> np.ndarray | None:
        """Threshold offsets of the K cells' read devices, V (H, W, D): a cell conducts as
        if it stored ``V_node + vth``."""
        return self._vth(self.vth_k_code)

    @property
    def vth_v(self) -> np.ndarray | None:
        """Threshold offsets of the V cells' read devices, V (H, W, D)."""
        return self._vth(self.vth_v_code)


def leak_levels(cfg: AttentionConfig) -> np.ndarray:
    """(256,) leak per token step of each ln-tau level: ``leak_per_step exp(-sigma_tau z)``,
    ``z = (level - 128) / TAU_LEVELS_PER_SIGMA``."""
    z = (np.arange(256) - 128.0) / TAU_LEVELS_PER_SIGMA
    return cfg.leak_per_step * np.exp(-cfg.device.sigma_tau_mismatch * z)


@functools.lru_cache(maxsize=256)
def _static_key(entropy: tuple[int, ...]) -> np.ndarray:
    k = np.random.SeedSequence(list(entropy), spawn_key=(0,)).generate_state(2, np.uint64)
    k.flags.writeable = False
    return k


@njit(cache=True, nogil=True)
def _cell_codes(key, kind, scale, offset, lo, hi, out):  # pragma: no cover - compiled
    """out[h, s, r] = clip(rint(z scale) + offset, lo, hi), z deviate r of stream
    (s, h, kind): the codes of one per-cell draw (out (H, W, D) int16 or uint8)."""
    H, W, D = out.shape
    z = np.empty(D)
    for h in range(H):
        for s in range(W):
            normals(key, np.uint64(s), np.uint64(h), np.uint64(kind), 1.0, 0, z)
            for r in range(D):
                out[h, s, r] = min(max(np.rint(z[r] * scale) + offset, lo), hi)


@njit(cache=True, nogil=True)
def _row_draws(key, kind, sigma, out):  # pragma: no cover - compiled
    """out[h, i] = sigma z, z deviate i of stream (0, h, kind) (out (H, n) float64)."""
    for h in range(out.shape[0]):
        normals(key, np.uint64(0), np.uint64(h), np.uint64(kind), sigma, 0, out[h])


def draw_chip(cfg: AttentionConfig, entropy: list[int]) -> ChipDraws:
    """The static draws of the chip seeded by ``entropy`` (see the module docstring)."""
    d = cfg.device
    key = _static_key(tuple(entropy))
    H, W, D, G = cfg.n_heads, cfg.window, cfg.head_dim, cfg.n_subarrays
    c = ChipDraws(sigma_gain=float(d.sigma_gain_mismatch), sigma_vth=float(d.vth_sigma))

    def codes(kind):
        out = np.empty((H, W, D), np.int16)
        _cell_codes(key, kind, 1.0 / Z_STEP, 0.0, -32767.0, 32767.0, out)
        return out

    if d.sigma_gain_mismatch > 0:
        c.gain_k_code, c.gain_v_code = codes(0), codes(1)
    if d.sigma_tau_mismatch > 0:
        c.leak_levels = leak_levels(cfg)
        for kind, name in ((2, "leak_k_level"), (3, "leak_v_level")):
            out = np.empty((H, W, D), np.uint8)
            _cell_codes(key, kind, TAU_LEVELS_PER_SIGMA, 128.0, 0.0, 255.0, out)
            setattr(c, name, out)
    if d.sigma_comparator_offset > 0:
        sig = d.sigma_comparator_offset / (_UA * d.t_max)
        c.off1 = np.empty((H, W))
        _row_draws(key, 4, sig, c.off1)
        off2 = np.empty((H, G * D))
        _row_draws(key, 5, sig, off2)
        c.off2 = off2.reshape(H, G, D)
    if d.vth_sigma > 0:
        c.vth_k_code, c.vth_v_code = codes(6), codes(7)
    return c


@dataclass
class TokenNoise:
    """Noise of a block of n consecutive tokens (None where the sigma is 0).

    ``write_k``, ``write_v`` (n, B, H, D) V; ``read1`` (n, B, H, W) and ``read2``
    (n, B, H, G, D) in uA x T_max (already scaled by the sigma).
    """

    write_k: np.ndarray | None = None
    write_v: np.ndarray | None = None
    read1: np.ndarray | None = None
    read2: np.ndarray | None = None


def token_noise(cfg: AttentionConfig, entropy: list[int], t0: int, n: int, B: int,
                read: bool = True) -> TokenNoise:
    """Noise of tokens ``t0 .. t0 + n - 1`` for a batch of ``B`` sequences (``read=False``:
    the write noise only, for a kernel that draws the read noise itself)."""
    d = cfg.device
    H, W, D, G = cfg.n_heads, cfg.window, cfg.head_dim, cfg.n_subarrays
    out = TokenNoise()
    sw, sr = d.write_noise_sigma, d.sigma_read_noise * (1.0 / (_UA * d.t_max))
    if not read:
        sr = 0.0
    if sw == 0 and sr == 0:
        return out
    z = np.zeros((1, 1, 1, 1))
    if sw > 0:
        out.write_k = np.empty((n, B, H, D))
        out.write_v = np.empty((n, B, H, D))
    if sr > 0:
        out.read1 = np.empty((n, B, H, W))
        out.read2 = np.empty((n, B, H, G, D))
    _fill(token_key(entropy), t0, H, sw, sr,
          z if sw == 0 else out.write_k, z if sw == 0 else out.write_v,
          z if sr == 0 else out.read1,
          z if sr == 0 else out.read2.reshape(n, B, H, G * D))
    return out


@functools.lru_cache(maxsize=256)
def _key(entropy: tuple[int, ...]) -> np.ndarray:
    k = normal_key(list(entropy))
    k.flags.writeable = False
    return k


def token_key(entropy: list[int]) -> np.ndarray:
    """The (2,) uint64 Philox key of a seed's token noise."""
    return _key(tuple(entropy))


@njit(cache=True, nogil=True)
def _fill(key, t0, H, sw, sr, wk, wv, r1, r2):  # pragma: no cover - compiled
    """Token noise arrays (n, B, H, .) from the counter-based streams (see the module doc)."""
    n, B = r1.shape[0], r1.shape[1]
    if sw > 0:
        n, B = wk.shape[0], wk.shape[1]
    for i in range(n):
        t = np.uint64(t0 + i)
        for b in range(B):
            for h in range(H):
                bh = np.uint64(b * H + h)
                if sw > 0:
                    normals(key, t, bh, np.uint64(0), sw, 0, wk[i, b, h])
                    normals(key, t, bh, np.uint64(1), sw, 0, wv[i, b, h])
                if sr > 0:
                    normals(key, t, bh, np.uint64(2), sr, 0, r1[i, b, h])
                    normals(key, t, bh, np.uint64(3), sr, 0, r2[i, b, h])
