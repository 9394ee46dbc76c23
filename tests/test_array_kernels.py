"""Each Numba kernel of the attention engine against a slow, obviously correct NumPy twin."""

import numpy as np
import pytest

from gaincell.array import _kernels

A = np.array([0.52136361, 13.61226063, -2.62044562, 46.05483778])


def quant(x, lo, hi, step):
    x = np.clip(x, lo, hi)
    return np.round(x / step) * step if step > 0 else x


@pytest.mark.parametrize("seed", range(4))
def test_step_poly_twin(seed):
    rng = np.random.default_rng(seed)
    B, H, W, D, cols = 2, 3, 32, 8, 8
    q = rng.integers(0, 16, (B, H, D)) / 15
    kst = rng.integers(0, 8, (B, H, W, D)).astype(np.uint8)
    vst = rng.integers(0, 8, (B, H, W, D)).astype(np.uint8)
    t_now = 3 * W
    slot_token = np.where(rng.random(W) < 0.8, t_now - rng.permutation(W), -1)
    valid = slot_token >= 0
    dtab = np.exp(-np.arange(W) * 0.01)[:, None] ** np.arange(4)
    dpow = dtab[np.where(valid, t_now - slot_token, 0)]
    scale, off, step = 0.9 / 7, 0.45, 2 / 31
    y = np.empty((B, H, D))
    S = np.empty((B, H, W))
    phi = np.empty((B, H, W))
    sub = np.empty((B, H, W // cols, D))
    _kernels.step_poly(q, kst, vst, slot_token, t_now, dtab, A,
                _kernels.Read(scale, off, 80.0, 40.0, cols, -1.0, 1.0, step), y, S, phi, sub)
    wk = kst * scale - off
    wv = vst * scale - off
    S_ref = sum(A[i] * dpow[:, i] * np.einsum("bhd,bhwd->bhw", q, wk**i) for i in range(4))
    S_ref = np.where(valid, S_ref, 0.0)
    phi_ref = np.where(valid, np.clip(S_ref / 80, 0, 1), 0.0)
    np.testing.assert_allclose(S, S_ref, atol=1e-12)
    np.testing.assert_allclose(phi, phi_ref, atol=1e-15)
    Ag = sum(A[i] * np.einsum("bhgc,bhgcd->bhgd", (phi_ref * dpow[:, i]).reshape(B, H, -1, cols),
                              (wv**i).reshape(B, H, -1, cols, D)) for i in range(4))
    sub_ref = quant(Ag / 40, -1, 1, step)
    np.testing.assert_allclose(sub, sub_ref, atol=1e-12)
    np.testing.assert_allclose(y, sub_ref.sum(axis=2), atol=1e-12)


def test_stage1_block_twin():
    rng = np.random.default_rng(7)
    Tq, Kk, W = 10, 24, 16
    t0, k0 = 20, 4
    P = rng.normal(size=(3, Tq, Kk))
    sumq = rng.uniform(0, 30, Tq)
    d = np.exp(-np.arange(W) * 0.02)
    dpow = np.stack([d**0, d, d**2, d**3], axis=1)
    phi = np.empty((Tq, Kk))
    cols = 8
    E = np.empty((Kk // cols, Tq, 3 * cols))
    S = np.empty((Tq, Kk))
    _kernels.stage1_block(P, sumq, t0, k0, W, dpow, A, 80.0, S, phi, E)
    for t in range(Tq):
        for j in range(Kk):
            age = t0 + t - (k0 + j)
            if 0 <= age < W:
                s = A[0] * sumq[t] + sum(A[i] * dpow[age, i] * P[i - 1, t, j] for i in (1, 2, 3))
                p = min(max(s / 80, 0), 1)
                e = [p * A[i] * dpow[age, i] for i in (1, 2, 3)]
            else:
                s, p, e = 0.0, 0.0, [0.0, 0.0, 0.0]
            assert S[t, j] == pytest.approx(s, abs=1e-12)
            assert phi[t, j] == pytest.approx(p, abs=1e-15)
            np.testing.assert_allclose(E[j // cols, t, (j % cols)::cols], e, atol=1e-14)


def test_readout_groups_twin():
    rng = np.random.default_rng(1)
    Acc = rng.normal(0, 50, (5, 4, 6))
    sub = np.empty_like(Acc)
    y = np.empty((5, 6))
    _kernels.readout_groups(Acc, 40.0, -1.0, 1.0, 2 / 31, sub, y)
    ref = quant(Acc / 40, -1, 1, 2 / 31)
    np.testing.assert_array_equal(sub, ref)
    np.testing.assert_allclose(y, ref.sum(axis=1), atol=1e-14)


def test_charge_abs_twin():
    rng = np.random.default_rng(3)
    B, H, T, D, W = 1, 2, 9, 4, 4
    q = rng.integers(0, 16, (B, H, T, D)) / 15
    phi = rng.random((B, H, T, W))
    kst = rng.integers(0, 8, (B, H, T, D)).astype(np.uint8)
    vst = rng.integers(0, 8, (B, H, T, D)).astype(np.uint8)
    leak = 0.05
    ko = np.empty((B, H))
    vo = np.empty((B, H))
    _kernels.charge_abs(q, phi, kst, vst, 0.9 / 7, 0.45, leak, A, ko, vo)
    f = np.polynomial.polynomial.polyval
    for h in range(H):
        kr = vr = 0.0
        for t in range(T):
            for s in range(W):
                j = t - ((t - s) % W)
                if j < 0:
                    continue
                d = np.exp(-(t - j) * leak)
                kr += np.sum(q[0, h, t] * np.abs(f((kst[0, h, j] * 0.9 / 7 - 0.45) * d, A)))
                vr += phi[0, h, t, s] * np.sum(np.abs(f((vst[0, h, j] * 0.9 / 7 - 0.45) * d, A)))
        assert ko[0, h] == pytest.approx(kr, rel=1e-12)
        assert vo[0, h] == pytest.approx(vr, rel=1e-12)


def test_scatter_slots_twin():
    rng = np.random.default_rng(2)
    src = rng.normal(size=(3, 11)) * (rng.random((3, 11)) < 0.7)
    dst = np.zeros((3, 4))
    _kernels.scatter_slots(src, 5, 4, dst)
    ref = np.zeros((3, 4))
    for j in range(11):
        ref[:, (5 + j) % 4] += src[:, j]
    np.testing.assert_allclose(dst, ref, atol=1e-15)


def test_powers_from_codes_twin():
    rng = np.random.default_rng(4)
    D, Tq, Kk = 16, 5, 7
    m = rng.integers(0, 16, (Tq, D))
    c = rng.integers(0, 8, (Kk, D))
    s, v0, qstep = 0.9 / 7, 0.45, 1 / 15
    from math import comb
    coef = np.array([[comb(i, k) * s**k * (-v0) ** (i - k) if k <= i else 0.0
                      for k in range(4)] for i in (1, 2, 3)])
    G = np.stack([m @ (c**k).T for k in (1, 2, 3)]).astype(np.float32)
    P = np.empty((3, Tq, Kk))
    _kernels.powers_from_codes(G, m.sum(1).astype(float), qstep, coef, P)
    q = m * qstep
    w = c * s - v0
    for i in (1, 2, 3):
        np.testing.assert_allclose(P[i - 1], q @ (w**i).T, atol=1e-12)


def test_step_charge_abs_twin():
    rng = np.random.default_rng(5)
    B, H, W, D = 1, 2, 6, 3
    q = rng.integers(0, 16, (B, H, D)) / 15
    phi = rng.random((B, H, W))
    kst = rng.integers(0, 8, (B, H, W, D)).astype(np.uint8)
    vst = rng.integers(0, 8, (B, H, W, D)).astype(np.uint8)
    leak, t_now = 0.05, 3     # slots 4 and 5 are still empty
    ko, vo = np.empty((B, H)), np.empty((B, H))
    _kernels.step_charge_abs(q, phi, kst, vst, 0.9 / 7, 0.45, t_now, leak, A, ko, vo)
    f = np.polynomial.polynomial.polyval
    for h in range(H):
        kr = vr = 0.0
        for s in range(t_now + 1):
            d = np.exp(-(t_now - s) * leak)
            kr += np.sum(q[0, h] * np.abs(f((kst[0, h, s] * 0.9 / 7 - 0.45) * d, A)))
            vr += phi[0, h, s] * np.sum(np.abs(f((vst[0, h, s] * 0.9 / 7 - 0.45) * d, A)))
        assert ko[0, h] == pytest.approx(kr, rel=1e-12)
        assert vo[0, h] == pytest.approx(vr, rel=1e-12)
        ko2, vo2 = np.empty((B, H)), np.empty((B, H))
        _kernels.step_charge_abs_serial(q, phi, kst, vst, 0.9 / 7, 0.45, t_now, leak, A, ko2, vo2)
        np.testing.assert_array_equal(ko2, ko)


# -- the counter-based token noise (gaincell/array/_philox.py) ----------------------------------

def _philox_kernel():
    from numba import njit

    from gaincell.array import _philox

    @njit
    def blocks(c, k):
        return _philox.philox(c[0], c[1], c[2], c[3], k[0], k[1])

    return blocks


def test_philox_equals_numpys_philox_bit_for_bit():
    blocks = _philox_kernel()
    rng = np.random.default_rng(11)
    for _ in range(20):
        key = rng.integers(0, 2**64, 2, dtype=np.uint64, endpoint=False)
        ctr = rng.integers(1, 2**64, 4, dtype=np.uint64, endpoint=False)
        prev = ctr.copy()
        prev[0] -= np.uint64(1)      # numpy increments its counter before each block
        want = np.random.Philox(key=key, counter=prev).random_raw(4)
        np.testing.assert_array_equal(np.array(blocks(ctr, key), dtype=np.uint64), want)


def _normals_twin(key, c1, c2, c3, n):
    """Box-Muller on the 32-bit halves of numpy's Philox words, with numpy's log, cos and
    sin: word w gives 1 - u1 = (2^32 - (w >> 32)) 2^-32 and u2 = (w mod 2^32) 2^-32."""
    out = []
    for b in range((n + 7) // 8):
        prev = np.array([b, c1, c2, c3], dtype=np.uint64)
        if b == 0:   # counter - 1 with the borrow into the next word
            prev[0] = np.uint64(2**64 - 1)
            prev[1] = np.uint64(c1 - 1)
        else:
            prev[0] = np.uint64(b - 1)
        for w in [int(x) for x in np.random.Philox(key=key, counter=prev).random_raw(4)]:
            one_minus_u1 = (2**32 - (w >> 32)) * 2.0**-32
            u2 = (w & 0xFFFFFFFF) * 2.0**-32
            r = np.sqrt(-2.0 * np.log(one_minus_u1))
            out += [r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)]
    return np.array(out[:n])


def test_normals_twin_and_any_sub_range_is_the_same_numbers():
    from gaincell.array import _philox

    key = _philox.normal_key([4, 2])
    full = np.empty(37)
    _philox.normals(key, np.uint64(3), np.uint64(9), np.uint64(2), 1.0, 0, full)
    np.testing.assert_allclose(full, _normals_twin(key, 3, 9, 2, 37), rtol=0, atol=1e-14)
    scaled = np.empty(37)
    _philox.normals(key, np.uint64(3), np.uint64(9), np.uint64(2), 2.5, 0, scaled)
    np.testing.assert_allclose(scaled, 2.5 * full, rtol=1e-15, atol=0)
    for first, n in ((0, 8), (1, 7), (5, 30), (36, 1), (8, 16)):   # aligned to blocks of 8 or not
        part = np.empty(n)
        _philox.normals(key, np.uint64(3), np.uint64(9), np.uint64(2), 2.5, first, part)
        np.testing.assert_array_equal(part, scaled[first:first + n])
    big = np.empty(200_000)
    _philox.normals(key, np.uint64(1), np.uint64(0), np.uint64(0), 1.0, 0, big)
    assert abs(big.mean()) < 0.01 and abs(big.std() - 1) < 0.01
    assert abs(np.mean(big**3)) < 0.03 and abs(np.mean(big**4) - 3) < 0.05


def test_box_muller_on_the_bits_at_its_edges():
    """The transform of one word at the ends of both halves (r = 0 and the largest r = 6.66;
    the quadrant boundaries of the angle) and on random words, against numpy."""
    from numba import njit

    from gaincell.array import _philox
    from gaincell.array._kernels import _FM

    @njit(fastmath=_FM, error_model="numpy")   # the kernels' flags: reassociation allowed
    def pairs(xs, out):
        for j in range(xs.size):
            out[2 * j], out[2 * j + 1] = _philox._pair(xs[j])

    rng = np.random.default_rng(3)
    hi = np.r_[[0, 1, 2, 2**31, 2**32 - 2, 2**32 - 1], rng.integers(0, 2**32, 4000)]
    lo = np.r_[[0, 2**30, 2**31, 3 * 2**30, 2**30 - 1, 2**32 - 1], rng.integers(0, 2**32, 4000)]
    words = (hi.astype(np.uint64) << np.uint64(32)) | lo.astype(np.uint64)
    got = np.empty(2 * words.size)
    pairs(words, got)
    r = np.sqrt(-2.0 * np.log((2.0**32 - hi) * 2.0**-32))
    ang = 2 * np.pi * lo * 2.0**-32
    want = np.stack([r * np.cos(ang), r * np.sin(ang)], axis=1).ravel()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)
    assert got[0] == 0.0 and got[1] == 0.0                       # 1 - u1 = 1: r = 0
    assert abs(got[10] - np.sqrt(64 * np.log(2))) < 1e-14   # 1 - u1 = 2^-32, angle ~ 1 turn
    assert np.abs(got).max() <= np.sqrt(64 * np.log(2)) + 1e-14


def test_normal_span_is_the_same_numbers_without_a_copy():
    """The kernels' draw into scratch: whole Philox blocks, deviate first + j at off + j."""
    from numba import njit

    from gaincell.array import _philox

    @njit
    def span(key, first, n, buf):
        return _philox.normal_span(key, np.uint64(3), np.uint64(9), np.uint64(2), 2.5, first, n,
                                   buf)

    key = _philox.normal_key([4, 2])
    want = np.empty(80)
    _philox.normals(key, np.uint64(3), np.uint64(9), np.uint64(2), 2.5, 0, want)
    for first, n in ((0, 8), (1, 7), (5, 30), (36, 1), (64, 16), (3, 61)):
        buf = np.full(n + 14, np.nan)
        off = span(key, first, n, buf)
        assert off == first % 8
        np.testing.assert_array_equal(buf[off:off + n], want[first:first + n])


def test_token_noise_is_one_function_of_token_sequence_head_and_index():
    import gaincell as gc
    from gaincell.array._draws import token_noise

    cfg = gc.AttentionConfig.leroux2025(n_heads=2, head_dim=3, window=8, array_cols=4,
                                        sigma_read_noise=1e-14, sigma_write_noise=1e-3)
    block = token_noise(cfg, [7], 5, 4, 2)            # tokens 5..8, batch of 2
    for i in range(4):
        one = token_noise(cfg, [7], 5 + i, 1, 1)      # token 5 + i, batch row 0 only
        for name in ("write_k", "write_v", "read1", "read2"):
            np.testing.assert_array_equal(getattr(block, name)[i, :1], getattr(one, name)[0])
    assert not np.array_equal(block.read1[0, 0], block.read1[0, 1])
    assert not np.array_equal(block.write_k[0], block.write_v[0])
