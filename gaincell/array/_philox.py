"""Counter-based normal deviates: Philox4x64-10 and a branch-free Box-Muller transform (Numba).

A counter-based generator maps (key, counter) to random bits with no state in between, so the
number for token t, stream c and index i is a pure function of them: any kernel can draw the
numbers it needs where it needs them (a block of tokens, one token, one sub-array), in any
order or thread, and they are the same numbers.

- :func:`philox` is Philox4x64 with 10 rounds (Salmon et al., SC'11, "Parallel random
  numbers: as easy as 1, 2, 3"), the bit generator of ``numpy.random.Philox``: its outputs for
  counter c equal numpy's ``Philox(key=k, counter=c - 1).random_raw(4)`` (numpy increments the
  counter before each block); ``tests/test_array_kernels.py`` checks that bit for bit.
- :func:`normals` draws normal deviate i of stream (c1, c2, c3) from block ``(i // 4, c1, c2,
  c3)``: its 4 words give two 53-bit uniforms pairs (u1, u2) -> (r cos 2 pi u2, r sin 2 pi u2),
  ``r = sqrt(-2 ln(1 - u1))`` (Box-Muller; 1 - u1 lies in [2^-53, 1], so |z| <= 8.57). The
  logarithm and the sine/cosine are polynomials (relative error ~1e-16) instead of library
  calls, so that the loops vectorize; a NumPy twin with numpy's log/cos/sin in the tests
  agrees to 1e-14.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from gaincell.array._kernels import _FM

__all__ = ["philox", "normals", "normal_span", "normal_key"]

_M0 = np.uint64(0xD2E7470EE14C6C93)
_M1 = np.uint64(0xCA5A826395121157)
_W0 = np.uint64(0x9E3779B97F4A7C15)
_W1 = np.uint64(0xBB67AE8584CAA73B)
_LO32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
_S11 = np.uint64(11)
_S33 = np.uint64(33)
_LO22 = np.uint64(0x3FFFFF)
_TWO_M53 = 2.0**-53
_LN2 = 0.6931471805599453
_SQRT2 = 1.4142135623730951
_PI_2 = 1.5707963267948966
_SQRT_HALF = 0.7071067811865476


def normal_key(entropy: list[int]) -> np.ndarray:
    """The (2,) uint64 Philox key of a seed's token noise (spawn key (1,) of its entropy)."""
    return np.random.SeedSequence(entropy, spawn_key=(1,)).generate_state(2, np.uint64)


@njit(cache=True, inline="always")
def _mulhilo(a, b):  # pragma: no cover - compiled
    """(hi, lo) 64-bit halves of the 128-bit product a * b (uint64), from 32-bit limbs."""
    a0 = a & _LO32
    a1 = a >> _S32
    b0 = b & _LO32
    b1 = b >> _S32
    p00 = a0 * b0
    p01 = a0 * b1
    p10 = a1 * b0
    p11 = a1 * b1
    mid = (p00 >> _S32) + (p10 & _LO32) + (p01 & _LO32)
    hi = p11 + (p10 >> _S32) + (p01 >> _S32) + (mid >> _S32)
    return hi, (p00 & _LO32) | (mid << _S32)


@njit(cache=True, inline="always")
def _round(c0, c1, c2, c3, k0, k1):  # pragma: no cover - compiled
    hi0, lo0 = _mulhilo(_M0, c0)
    hi1, lo1 = _mulhilo(_M1, c2)
    return hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0


@njit(cache=True, inline="always")
def philox(c0, c1, c2, c3, k0, k1):  # pragma: no cover - compiled
    """Philox4x64-10 of counter (c0, c1, c2, c3) under key (k0, k1) (all uint64): 4 words.
    The ten rounds are written out (no loop), so that a loop over counters vectorizes."""
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0, k1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _W0, k1 + _W1)
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _W0 * np.uint64(2), k1 + _W1 * np.uint64(2))
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _W0 * np.uint64(3), k1 + _W1 * np.uint64(3))
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _W0 * np.uint64(4), k1 + _W1 * np.uint64(4))
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _W0 * np.uint64(5), k1 + _W1 * np.uint64(5))
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _W0 * np.uint64(6), k1 + _W1 * np.uint64(6))
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _W0 * np.uint64(7), k1 + _W1 * np.uint64(7))
    c0, c1, c2, c3 = _round(c0, c1, c2, c3, k0 + _W0 * np.uint64(8), k1 + _W1 * np.uint64(8))
    return _round(c0, c1, c2, c3, k0 + _W0 * np.uint64(9), k1 + _W1 * np.uint64(9))


@njit(cache=True, inline="always", fastmath=_FM, error_model="numpy")
def _log_unit(n):  # pragma: no cover - compiled
    """ln(n 2^-53) for an integer 1 <= n <= 2^53 held in a float64: n = m 2^e with m in
    [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716 (series to
    s^21, relative error < 1e-16)."""
    # exponent by comparisons (no bit casts, so the loop vectorizes): n < 2^54
    e = 0.0
    m = n
    big = m >= 4294967296.0
    m = m * 2.3283064365386963e-10 if big else m
    e = e + 32.0 if big else e
    big = m >= 65536.0
    m = m * 1.52587890625e-05 if big else m
    e = e + 16.0 if big else e
    big = m >= 256.0
    m = m * 0.00390625 if big else m
    e = e + 8.0 if big else e
    big = m >= 16.0
    m = m * 0.0625 if big else m
    e = e + 4.0 if big else e
    big = m >= 4.0
    m = m * 0.25 if big else m
    e = e + 2.0 if big else e
    big = m >= 2.0
    m = m * 0.5 if big else m
    e = e + 1.0 if big else e
    # now 1 <= m < 2
    hi = m >= _SQRT2
    m = m * 0.5 if hi else m
    e = e + 1.0 if hi else e
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = 1.0 / 21.0
    p = p * s2 + 1.0 / 19.0
    p = p * s2 + 1.0 / 17.0
    p = p * s2 + 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    p = p * s2 + 1.0
    return (e - 53.0) * _LN2 + 2.0 * s * p


@njit(cache=True, inline="always", fastmath=_FM, error_model="numpy")
def _cos_sin_turn(u):  # pragma: no cover - compiled
    """(cos 2 pi u, sin 2 pi u) for u in [0, 1): quadrant k = floor(4 u), x = (4u - k - 1/2)
    pi / 2 in [-pi/4, pi/4), Taylor series to x^17 / x^16 (error < 1e-16), then the rotation
    by k pi / 2 + pi / 4."""
    v = 4.0 * u
    k = np.floor(v)
    x = (v - k - 0.5) * _PI_2
    x2 = x * x
    sp = -1.0 / 355687428096000.0
    sp = sp * x2 + 1.0 / 1307674368000.0
    sp = sp * x2 - 1.0 / 6227020800.0
    sp = sp * x2 + 1.0 / 39916800.0
    sp = sp * x2 - 1.0 / 362880.0
    sp = sp * x2 + 1.0 / 5040.0
    sp = sp * x2 - 1.0 / 120.0
    sp = sp * x2 + 1.0 / 6.0
    sn = x - x * x2 * sp
    cp = 1.0 / 20922789888000.0
    cp = cp * x2 - 1.0 / 87178291200.0
    cp = cp * x2 + 1.0 / 479001600.0
    cp = cp * x2 - 1.0 / 3628800.0
    cp = cp * x2 + 1.0 / 40320.0
    cp = cp * x2 - 1.0 / 720.0
    cp = cp * x2 + 1.0 / 24.0
    cp = cp * x2 - 0.5
    cs = 1.0 + x2 * cp
    # angle pi/4 + x: cos = (cs - sn) / sqrt 2, sin = (cs + sn) / sqrt 2
    c = (cs - sn) * _SQRT_HALF
    s = (cs + sn) * _SQRT_HALF
    # rotate by k quarter turns
    c1 = -s if k == 1.0 else (-c if k == 2.0 else (s if k == 3.0 else c))
    s1 = c if k == 1.0 else (-s if k == 2.0 else (-c if k == 3.0 else s))
    return c1, s1


@njit(cache=True, inline="always")
def _top53(x):  # pragma: no cover - compiled
    """The top 53 bits of a uint64 as a float64 (exact), from two int32 pieces (int32 ->
    float64 conversions vectorize; 64-bit ones do not on AVX2)."""
    hi = np.int32(x >> _S33)
    lo = np.int32((x >> _S11) & _LO22)
    return np.float64(hi) * 4194304.0 + np.float64(lo)


@njit(cache=True, inline="always", fastmath=_FM, error_model="numpy")
def _pair(x, y):  # pragma: no cover - compiled
    """Two normal deviates from two uint64 words (Box-Muller)."""
    n1 = 9007199254740992.0 - _top53(x)   # 2^53 - the top 53 bits: in [1, 2^53]
    u2 = _top53(y) * _TWO_M53
    r = math.sqrt(-2.0 * _log_unit(n1))
    c, s = _cos_sin_turn(u2)
    return r * c, r * s


@njit(cache=True, inline="always", fastmath=_FM, error_model="numpy")
def _blocks(key, b0, c1, c2, c3, sigma, out, nb):  # pragma: no cover - compiled
    """out[4 j + l] = sigma z, z deviate l of block b0 + j, for j < nb. One loop draws the
    words and transforms them (two passes, words then transform, measured slower)."""
    k0 = key[0]
    k1 = key[1]
    for j in range(nb):
        x0, x1, x2, x3 = philox(np.uint64(b0 + j), c1, c2, c3, k0, k1)
        z0, z1 = _pair(x0, x1)
        z2, z3 = _pair(x2, x3)
        out[4 * j] = sigma * z0
        out[4 * j + 1] = sigma * z1
        out[4 * j + 2] = sigma * z2
        out[4 * j + 3] = sigma * z3


@njit(cache=True, fastmath=_FM, error_model="numpy")
def normals(key, c1, c2, c3, sigma, first, out):  # pragma: no cover - compiled
    """out[j] = sigma z_(first + j), z_i normal deviate i of stream (c1, c2, c3) (uint64)
    under ``key`` ((2,) uint64), for j < out.size (out 1-D float64). Deviate i comes from
    Philox block (i // 4, c1, c2, c3), word pair i % 4 // 2."""
    n = out.size
    if n == 0:
        return
    first = np.int64(first)   # not a literal: one compilation of normal_span for every caller
    if first % 4 == 0 and n % 4 == 0:     # whole blocks: straight into out
        normal_span(key, c1, c2, c3, sigma, first, n, out)
        return
    tmp = np.empty(n + 6)
    off = normal_span(key, c1, c2, c3, sigma, first, n, tmp)
    for j in range(n):
        out[j] = tmp[off + j]


@njit(cache=True, nogil=True, fastmath=_FM, error_model="numpy")
def normal_span(key, c1, c2, c3, sigma, first, n, buf):  # pragma: no cover - compiled
    """:func:`normals` without a copy: the whole Philox blocks holding deviates first ..
    first + n - 1 of stream (c1, c2, c3), times sigma, into buf (1-D float64, size >= n + 6;
    buf[: 4 ceil((first % 4 + n) / 4)] is written), deviate first + j at buf[off + j];
    returns off = first % 4. For kernels that draw into scratch they hold. Not inlined: its
    floating-point code is compiled once, in its own context, so that it gives the same bits
    as :func:`normals` whatever calls it."""
    b_lo = first // 4
    nb = (first + n + 3) // 4 - b_lo
    _blocks(key, b_lo, c1, c2, c3, sigma, buf, nb)
    return first - 4 * b_lo
