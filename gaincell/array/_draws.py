"""Random numbers of one simulated chip: static per-cell draws and per-token noise streams.

Every number comes from one ``numpy.random.SeedSequence`` built from the simulator's seed, so
that the numbers do not depend on the engine, the thread count, or on whether tokens arrive one
by one (``step``) or together (``forward``):

- spawn key ``(0,)``: the chip's static draws (:class:`ChipDraws`), drawn once, in this order
  and only when their sigma is non-zero: gain mismatch of the K cells, of the V cells
  ``(H, W, D)``; retention spread of the K cells, of the V cells ``(H, W, D)``; first-stage
  comparator offsets ``(H, W)``; second-stage comparator offsets ``(H, G, D)``; threshold
  offsets of the K cells' read devices, of the V cells' ``(H, W, D)`` (last, so that turning
  them on leaves every other draw unchanged);
- token noise (:func:`token_noise`) from the counter-based generator of
  :mod:`gaincell.array._philox` (Philox4x64-10, keyed by spawn key ``(1,)`` of the seed):
  normal deviate i of token t, sequence b, head h and kind c is a pure function of
  ``(t, b H + h, c, i)``, so a kernel may draw any part of it where it needs it and still get
  the numbers that :func:`token_noise` returns. Kinds: 0 write noise of K, 1 of V (index r
  of the D rows); 2 first-stage read noise (index: column s of W); 3 second-stage read noise
  (index ``g D + r``: sub-array g, row r). Only drawn when their sigma is non-zero.

The arrays are plain NumPy arrays that the Numba kernels and the NumPy reference engine
consume alike. Per-cell static arrays are held in float32 (resolution 6e-8 relative, far below
any spread worth simulating) to keep the chip's state small; both engines read the same values.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields

import numpy as np
from numba import njit

from gaincell.array._philox import normal_key, normals
from gaincell.device.leakage import sample_tau
from gaincell.device.noise import comparator_offsets, gain_mismatch
from gaincell.params import UA as _UA
from gaincell.params import AttentionConfig

__all__ = ["ChipDraws", "TokenNoise", "seed_entropy", "draw_chip", "token_noise", "token_key"]


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
    """The independent stream ``key`` of a seed: ``(0,)`` static draws, ``(1, t)`` token t."""
    return np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=key))


@dataclass
class ChipDraws:
    """Static non-idealities of one chip (None where the sigma is 0).

    Attributes
    ----------
    gain_k, gain_v : numpy.ndarray (H, W, D) float32 or None
        Per-cell multipliers of the read current of the K and V cells (slot s, row r).
    leak_k, leak_v : numpy.ndarray (H, W, D) float32 or None
        Per-cell ``dt / tau_cell`` per token step (log-normal tau_cell).
    off1 : numpy.ndarray (H, W) float64 or None
        First-stage comparator offsets, uA x T_max.
    off2 : numpy.ndarray (H, G, D) float64 or None
        Second-stage comparator offsets, uA x T_max.
    vth_k, vth_v : numpy.ndarray (H, W, D) float32 or None
        Static threshold offsets of the K and V cells' read devices, V
        (``N(0, vth_sigma)``): a cell conducts as if it stored ``V_node + dvth``.
    """

    gain_k: np.ndarray | None = None
    gain_v: np.ndarray | None = None
    leak_k: np.ndarray | None = None
    leak_v: np.ndarray | None = None
    off1: np.ndarray | None = None
    off2: np.ndarray | None = None
    vth_k: np.ndarray | None = None
    vth_v: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self)
                   if getattr(self, f.name) is not None)


def draw_chip(cfg: AttentionConfig, entropy: list[int]) -> ChipDraws:
    """The static draws of the chip seeded by ``entropy`` (see the module docstring)."""
    d = cfg.device
    rng = stream(entropy, 0)
    H, W, D, G = cfg.n_heads, cfg.window, cfg.head_dim, cfg.n_subarrays
    c = ChipDraws()
    if d.sigma_gain_mismatch > 0:
        c.gain_k = gain_mismatch((H, W, D), d.sigma_gain_mismatch, rng).astype(np.float32)
        c.gain_v = gain_mismatch((H, W, D), d.sigma_gain_mismatch, rng).astype(np.float32)
    if d.sigma_tau_mismatch > 0:
        for name in ("leak_k", "leak_v"):
            tau = sample_tau((H, W, D), d.tau, d.sigma_tau_mismatch, rng)
            setattr(c, name, (cfg.leak_per_step * d.tau / tau).astype(np.float32))
    if d.sigma_comparator_offset > 0:
        to_ua = 1.0 / (_UA * d.t_max)
        c.off1 = comparator_offsets((H, W), d.sigma_comparator_offset, rng) * to_ua
        c.off2 = comparator_offsets((H, G, D), d.sigma_comparator_offset, rng) * to_ua
    sv = d.vth_sigma
    if sv > 0:
        c.vth_k = (sv * rng.standard_normal((H, W, D))).astype(np.float32)
        c.vth_v = (sv * rng.standard_normal((H, W, D))).astype(np.float32)
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
