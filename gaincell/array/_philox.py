"""Counter-based normal deviates: Philox4x64-10 and a branch-free Box-Muller transform (Numba).

A counter-based generator maps (key, counter) to random bits with no state in between, so the
number for token t, stream c and index i is a pure function of them: any kernel can draw the
numbers it needs where it needs them (a block of tokens, one token, one sub-array), in any
order or thread, and they are the same numbers.

- :func:`philox` is Philox4x64 with 10 rounds (Salmon et al., SC'11, "Parallel random
  numbers: as easy as 1, 2, 3"), the bit generator of ``numpy.random.Philox``: its outputs for
  counter c equal numpy's ``Philox(key=k, counter=c - 1).random_raw(4)`` (numpy increments the
  counter before each block); ``tests/test_array_kernels.py`` checks that bit for bit.
- :func:`normals` draws normal deviate i of stream (c1, c2, c3) from block ``(i // 8, c1, c2,
  c3)``: word ``w = x[i % 8 // 2]`` of its 4 gives a pair of 32-bit uniforms, ``1 - u1 = (2^32
  - (w >> 32)) 2^-32`` and ``u2 = (w mod 2^32) 2^-32``, and Box-Muller turns them into
  ``(r cos 2 pi u2, r sin 2 pi u2)`` (even i, odd i), ``r = sqrt(-2 ln(1 - u1))``. 1 - u1
  lies in [2^-32, 1], so |z| <= 6.66: the generator has no tail beyond 6.66 sigma (a normal's
  probability 2.7e-11 there), and r is coarse only where 1 - u1 is a few 2^-32 (beyond 6
  sigma, probability 2e-9). Eight deviates per Philox block (32 bits per uniform) halve the
  generator's cost against 53-bit uniforms.
- The logarithm and the sine/cosine are polynomials (relative error ~1e-16) on the floats'
  bits (exponent and mantissa for the logarithm; quadrant and sign for the rotation) instead
  of library calls, so that the loops vectorize; a NumPy twin with numpy's log/cos/sin in the
  tests agrees to 1e-14.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from gaincell.array._kernels import _FM

__all__ = ["philox", "normals", "normal_span", "normal_key"]

_M0 = np.uint64(0xD2E7470EE14C6C93)
_M1 = np.uint64(0xCA5A826395121157)
_W0 = np.uint64(0x9E3779B97F4A7C15)
_W1 = np.uint64(0xBB67AE8584CAA73B)
_LO32 = np.uint64(0xFFFFFFFF)
_LO30 = np.uint64(0x3FFFFFFF)
_TWO32 = np.uint64(2**32)
_ONE = np.uint64(1)
_S30 = np.uint64(30)
_S32 = np.uint64(32)
_S52 = np.uint64(52)
_S63 = np.uint64(63)
_MANT = np.uint64(0x000FFFFFFFFFFFFF)
_SQRT_HALF_BITS = np.uint64(0x3FE6A09E667F3BCD)  # the bits of sqrt(1/2)
_SPLIT = np.uint64(0x3FF0000000000000 - 0x3FE6A09E667F3BCD)
_TWO_M30 = 2.0**-30
_LN2 = 0.6931471805599453
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


@intrinsic
def _bits(typingctx, x):  # pragma: no cover - compiled
    """The bit pattern (uint64) of a float64 (an LLVM bitcast: no code, and it vectorizes)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.uint64(types.float64), codegen


@intrinsic
def _float(typingctx, x):  # pragma: no cover - compiled
    """The float64 of a bit pattern (uint64): the inverse of :func:`_bits`."""
    if x != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.uint64), codegen


@intrinsic
def _bits_of_int(typingctx, n):  # pragma: no cover - compiled
    """The bits (uint64) of the float64 of an integer 0 <= n < 2^52 (uint64), exactly: the
    float64 with the bits of 2^52 + n, minus 2^52 (uint64 -> float64 conversions do not
    vectorize on AVX2). Its result is bits, not a float, so that the caller's reassociating
    fast-math cannot fold the subtraction into its own arithmetic (which would cancel 2^52
    against 2^52 after rounding)."""
    if n != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        f64, i64 = ir.DoubleType(), ir.IntType(64)
        f = builder.bitcast(builder.or_(args[0], ir.Constant(i64, 0x4330000000000000)), f64)
        return builder.bitcast(builder.fsub(f, ir.Constant(f64, 2.0**52)), i64)

    return types.uint64(types.uint64), codegen


@njit(cache=True, inline="always", fastmath=_FM, error_model="numpy")
def _ln_unit(n):  # pragma: no cover - compiled
    """ln(n 2^-32) (so <= 0) of an integer 1 <= n <= 2^32 (uint64): n = m 2^e with m in
    [sqrt(1/2), sqrt(2)) from the bits of its float64 (the exponent field shifted so that the
    split falls at sqrt 2), ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| <= 0.1716, series
    to s^19 (relative error < 1e-16). The exponent reaches the arithmetic through an int32
    conversion (exact, and nothing a compiler could reassociate)."""
    b = _bits_of_int(n) + _SPLIT
    e = np.float64(np.int32(np.int64(b >> _S52) - 1055))
    m = _float((b & _MANT) + _SQRT_HALF_BITS)
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = 1.0 / 19.0
    p = p * s2 + 1.0 / 17.0
    p = p * s2 + 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    p = p * s2 + 1.0
    return e * _LN2 + 2.0 * s * p


@njit(cache=True, inline="always", fastmath=_FM, error_model="numpy")
def _cos_sin_turn(b):  # pragma: no cover - compiled
    """(cos 2 pi u, sin 2 pi u) of u = b 2^-32 (b a uint64 below 2^32): quadrant k = b >> 30,
    x = (f - 1/2) pi / 2 in [-pi/4, pi/4) with f = (b mod 2^30) 2^-30, Taylor series to x^15 /
    x^16 (error < 2e-16), then the angle pi/4 + x turned by k quarter turns: a swap when k is
    odd and sign flips (k = 1: (-s, c), 2: (-c, -s), 3: (s, -c)) on the bits."""
    k = b >> _S30
    x = (np.float64(np.int32(b & _LO30)) * _TWO_M30 - 0.5) * _PI_2
    x2 = x * x
    sp = 1.0 / 1307674368000.0
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
    odd = (k & _ONE) == _ONE
    a = s if odd else c
    d = c if odd else s
    flip_a = ((k ^ (k >> _ONE)) & _ONE) << _S63
    flip_d = (k >> _ONE) << _S63
    return _float(_bits(a) ^ flip_a), _float(_bits(d) ^ flip_d)


@njit(cache=True, inline="always", fastmath=_FM, error_model="numpy")
def _pair(x):  # pragma: no cover - compiled
    """Two normal deviates from one uint64 word (Box-Muller on its two 32-bit halves)."""
    # 1 - u1 = (2^32 - high half) 2^-32 in [2^-32, 1]
    r = math.sqrt(-2.0 * _ln_unit(_TWO32 - (x >> _S32)))
    c, s = _cos_sin_turn(x & _LO32)
    return r * c, r * s


@njit(cache=True, inline="always", fastmath=_FM, error_model="numpy")
def _blocks(key, b0, c1, c2, c3, sigma, out, nb):  # pragma: no cover - compiled
    """out[8 j + l] = sigma z, z deviate l of block b0 + j, for j < nb. One loop draws the
    words and transforms them (two passes, words then transform, measured slower)."""
    k0 = key[0]
    k1 = key[1]
    for j in range(nb):
        x0, x1, x2, x3 = philox(np.uint64(b0 + j), c1, c2, c3, k0, k1)
        z0, z1 = _pair(x0)
        z2, z3 = _pair(x1)
        z4, z5 = _pair(x2)
        z6, z7 = _pair(x3)
        out[8 * j] = sigma * z0
        out[8 * j + 1] = sigma * z1
        out[8 * j + 2] = sigma * z2
        out[8 * j + 3] = sigma * z3
        out[8 * j + 4] = sigma * z4
        out[8 * j + 5] = sigma * z5
        out[8 * j + 6] = sigma * z6
        out[8 * j + 7] = sigma * z7


@njit(cache=True, fastmath=_FM, error_model="numpy")
def normals(key, c1, c2, c3, sigma, first, out):  # pragma: no cover - compiled
    """out[j] = sigma z_(first + j), z_i normal deviate i of stream (c1, c2, c3) (uint64)
    under ``key`` ((2,) uint64), for j < out.size (out 1-D float64). Deviate i comes from
    Philox block (i // 8, c1, c2, c3), word i % 8 // 2."""
    n = out.size
    if n == 0:
        return
    first = np.int64(first)   # not a literal: one compilation of normal_span for every caller
    if first % 8 == 0 and n % 8 == 0:     # whole blocks: straight into out
        normal_span(key, c1, c2, c3, sigma, first, n, out)
        return
    tmp = np.empty(n + 14)
    off = normal_span(key, c1, c2, c3, sigma, first, n, tmp)
    for j in range(n):
        out[j] = tmp[off + j]


@njit(cache=True, nogil=True, fastmath=_FM, error_model="numpy")
def normal_span(key, c1, c2, c3, sigma, first, n, buf):  # pragma: no cover - compiled
    """:func:`normals` without a copy: the whole Philox blocks holding deviates first ..
    first + n - 1 of stream (c1, c2, c3), times sigma, into buf (1-D float64, size >= n + 14;
    buf[: 8 ceil((first % 8 + n) / 8)] is written), deviate first + j at buf[off + j];
    returns off = first % 8. For kernels that draw into scratch they hold. Not inlined: its
    floating-point code is compiled once, in its own context, so that it gives the same bits
    as :func:`normals` whatever calls it."""
    b_lo = first // 8
    nb = (first + n + 7) // 8 - b_lo
    _blocks(key, b_lo, c1, c2, c3, sigma, buf, nb)
    return first - 8 * b_lo
