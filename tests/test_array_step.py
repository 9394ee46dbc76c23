"""The fused streaming step of the preset family and the step's input scan, each against a slow,
obviously correct NumPy twin (gaincell/array/_kernels.py: step_preset, scan_inputs)."""

import warnings

import numpy as np
import pytest

import gaincell as gc
from gaincell.array import _kernels
from gaincell.array.mapping import InputClippedWarning, clip_bounds, clipped_fraction
from gaincell.device.quantize import dac, dac_grid, pwm, pwm_grid


def quant(x, lo, hi, step):
    x = np.clip(x, lo, hi)
    return np.round(x / step) * step if step > 0 else x


def twin_read(q, kst, vst, t, W, cols, scale, off, leak, out_step, A):
    """The ring buffer after token t was written, read with pulses q (B,H,D) through the
    cubic A (uA / V^i): y, S, phi, sub."""
    s = np.arange(W)
    age = (t - s) % W
    valid = t - age >= 0
    dpow = np.exp(-age * leak)[:, None] ** np.arange(4)
    wk, wv = kst * scale - off, vst * scale - off
    S = sum(A[i] * dpow[:, i] * np.einsum("bhd,bhwd->bhw", q, wk**i) for i in range(4))
    S = np.where(valid, S, 0.0)
    phi = np.where(valid, np.clip(S / 80, 0, 1), 0.0)
    B, H = q.shape[:2]
    Ag = sum(A[i] * np.einsum("bhgc,bhgcd->bhgd", (phi * dpow[:, i]).reshape(B, H, -1, cols),
                              (wv**i).reshape(B, H, -1, cols, wv.shape[-1])) for i in range(4))
    sub = quant(Ag / 40, -1, 1, out_step)
    return sub.sum(axis=2), S, phi, sub


def _args(cfg, t, kbuf, vbuf, q, k, v, warn_at, int1):
    d = cfg.device
    sim = gc.GainCellAttention(cfg)
    e = sim._engine
    B, H, W, D = kbuf.shape
    out = dict(qq=np.empty((B, H, D)), y=np.empty((B, H, D)), S=np.empty((B, H, W)),
               phi=np.empty((B, H, W)), sub=np.empty((B, H, cfg.n_subarrays, D)),
               counts=np.zeros(6, np.int64))
    args = (q, k, v, kbuf, vbuf, t, clip_bounds(cfg), warn_at, np.array(pwm_grid(d)),
            np.array(dac_grid(d)), sim._design.writer.codes, int1, e._coef, e._dpow,
            sim._design.a, e._read, out["qq"], out["y"], out["S"], out["phi"], out["sub"],
            out["counts"])
    return args, out, e


@pytest.mark.parametrize("kernel", ["parallel", "serial"])
@pytest.mark.parametrize("levels, int1", [
    (dict(q_levels=16, kv_levels=8, out_levels=32), True),      # codes, integer first stage
    (dict(q_levels=16, kv_levels=8, out_levels=32), False),     # codes, float first stage
    (dict(q_levels=None, kv_levels=None, out_levels=None), False),   # analog: voltages
    (dict(q_levels=9, kv_levels=300, out_levels=17), False),    # > 256 levels: voltages
])
@pytest.mark.parametrize("t", [5, 37])   # buffer partly filled / wrapped around
def test_step_preset_twin(kernel, levels, int1, t):
    rng = np.random.default_rng(t)
    B, H, W, D, cols, leak = 2, 3, 16, 5, 8, 0.02
    cfg = gc.AttentionConfig.leroux2025(n_heads=H, head_dim=D, window=W, array_cols=cols,
                                        leak_per_step=leak, **levels)
    d = cfg.device
    codes = levels["kv_levels"] == 8
    dt = np.uint8 if codes else np.float64
    if codes:
        kbuf = rng.integers(0, 8, (B, H, W, D)).astype(dt)
        vbuf = rng.integers(0, 8, (B, H, W, D)).astype(dt)
    else:
        kbuf, vbuf = rng.uniform(0, 0.9, (2, B, H, W, D))
    q = rng.uniform(-0.1, 1.1, (B, H, D))      # some clipped
    k = rng.uniform(-0.05, 0.95, (B, H, D))
    v = rng.uniform(-0.05, 0.95, (B, H, D))
    k0, v0 = kbuf.copy(), vbuf.copy()
    args, out, e = _args(cfg, t, kbuf, vbuf, q, k, v, np.full(3, np.inf), int1)
    fn = _kernels.step_preset if kernel == "parallel" else _kernels.step_preset_serial
    assert fn(*args) == 0
    # the converters: bit for bit the device layer's PWM and DAC (and the DAC's codes)
    np.testing.assert_array_equal(out["qq"], pwm(q, d))
    slot = t % W
    vk, vv = dac(k, d), dac(v, d)
    if codes:
        step = 0.9 / 7
        np.testing.assert_array_equal(kbuf[:, :, slot], np.rint(np.clip(k, 0, 0.9) / step))
        np.testing.assert_array_equal(kbuf[:, :, slot] * step, vk)
        np.testing.assert_array_equal(vbuf[:, :, slot] * step, vv)
    else:
        step = 1.0
        np.testing.assert_array_equal(kbuf[:, :, slot], vk)
        np.testing.assert_array_equal(vbuf[:, :, slot], vv)
    others = np.arange(W) != slot    # every other slot untouched
    np.testing.assert_array_equal(kbuf[:, :, others], k0[:, :, others])
    np.testing.assert_array_equal(vbuf[:, :, others], v0[:, :, others])
    # the read
    oq = 0.0 if d.out_levels is None else 2 / (d.out_levels - 1)
    y, S, phi, sub = twin_read(out["qq"], kbuf, vbuf, t, W, cols, step, 0.45, leak, oq,
                               args[14])
    np.testing.assert_allclose(out["S"], S, rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(out["phi"], phi, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(out["sub"], sub, atol=1e-12)
    np.testing.assert_allclose(out["y"], y, atol=1e-12)
    # the clipped counts (q is partly outside [0, 1], k and v partly outside [0, 0.9])
    n = q.size
    frac = clipped_fraction(q, k, v, cfg)
    assert [c / n for c in out["counts"][3:]] == [frac["q"], frac["k"], frac["v"]]
    assert out["counts"][0] == out["counts"][1] == out["counts"][2] == 0
    assert out["counts"][3] > 0


def test_step_preset_stops_before_writing():
    rng = np.random.default_rng(3)
    B, H, W, D = 1, 2, 8, 4
    cfg = gc.AttentionConfig.leroux2025(n_heads=H, head_dim=D, window=W, array_cols=4)
    kbuf = rng.integers(0, 8, (B, H, W, D)).astype(np.uint8)
    vbuf = kbuf.copy()
    k0 = kbuf.copy()
    q, k, v = rng.uniform(0, 0.9, (3, B, H, D))
    bad = k.copy()
    bad[0, 1, 2] = np.inf
    bad[0, 0, 0] = np.nan
    args, out, _ = _args(cfg, 3, kbuf, vbuf, q, bad, v, np.full(3, np.inf), True)
    assert _kernels.step_preset_serial(*args) == 1       # non-finite: nothing written
    assert list(out["counts"][:3]) == [0, 2, 0]
    np.testing.assert_array_equal(kbuf, k0)
    far = v.copy()
    far[0, 0, :2] = 2.0                                    # 2 of 8 values clipped: 25 %
    args, out, _ = _args(cfg, 3, kbuf, vbuf, q, k, far, np.array([0.02, 0.02, 0.2]), True)
    assert _kernels.step_preset_serial(*args) == 2       # a warning is due: nothing written
    assert out["counts"][5] == 2
    np.testing.assert_array_equal(kbuf, k0)
    args, out, _ = _args(cfg, 3, kbuf, vbuf, q, k, far, np.array([0.02, 0.02, 0.25]), True)
    assert _kernels.step_preset_serial(*args) == 0       # 25 % is not above 25 %
    assert not np.array_equal(kbuf, k0)


def test_scan_inputs_twin():
    rng = np.random.default_rng(9)
    cfg = gc.AttentionConfig.leroux2025(n_heads=3, head_dim=7, window=8, array_cols=4)
    q, k, v = rng.uniform(-0.2, 1.2, (3, 2, 3, 7))
    q[0, 0, 0] = 1.0 + 1e-12      # inside the edge tolerance: not clipped
    k[1, 2, 3] = np.nan
    v[0, 1, :3] = [np.inf, -np.inf, np.nan]
    counts = np.full(6, -1, np.int64)
    _kernels.scan_inputs(q, k, v, clip_bounds(cfg), counts)
    assert list(counts[:3]) == [0, 1, 3]
    fin = [np.where(np.isfinite(x), x, 0.5) for x in (q, k, v)]   # 0.5: inside both ranges
    frac = clipped_fraction(*fin, cfg)
    assert [c / q.size for c in counts[3:]] == [frac["q"], frac["k"], frac["v"]]


def test_step_warns_exactly_as_before_and_a_raising_warning_leaves_the_state():
    """The fused step warns once per input until reset; a warning turned into an error
    leaves the state as it was (the kernel stops before it writes)."""
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=10, window=8, array_cols=4)
    x = np.full((1, 1, 10), 0.5)
    far = x.copy()
    far[..., :3] = 1.5                                     # 30 % of k outside [0, 0.9]
    a, b = gc.GainCellAttention(cfg), gc.GainCellAttention(cfg)
    a.step(x, x, x)
    b.step(x, x, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputClippedWarning)
        with pytest.raises(InputClippedWarning, match="k: 30.0 %"):
            a.step(x, far, x)
    assert a.tokens_seen == 1
    np.testing.assert_array_equal(a._state.k, b._state.k)
    with pytest.warns(InputClippedWarning, match="k: 30.0 %") as rec:
        ya = a.step(x, far, x)
    assert rec[0].filename == __file__                     # points at the caller
    with pytest.warns(InputClippedWarning, match="k: 30.0 %"):
        yb = b.step(x, far, x)
    np.testing.assert_array_equal(ya, yb)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a.step(x, far, x)                                  # once until reset
    a.reset()
    with pytest.warns(InputClippedWarning):
        a.step(x, far, x)


@pytest.mark.parametrize("noisy", [False, True])
def test_step_buffers_are_not_shared_with_the_caller(noisy):
    """Reused buffers never alias an output or a trace that the caller holds."""
    cfg = gc.AttentionConfig.leroux2025(n_heads=2, head_dim=4, window=8, array_cols=4)
    if noisy:
        cfg = cfg.replace(sigma_read_noise=1e-14, sigma_gain_mismatch=0.05)
    rng = np.random.default_rng(2)
    q, k, v = rng.uniform(0, 0.9, (3, 1, 2, 12, 4))
    a = gc.GainCellAttention(cfg, seed=1)
    ys = [a.step(q[:, :, t], k[:, :, t], v[:, :, t]) for t in range(6)]
    y6, tr = a.step(q[:, :, 6], k[:, :, 6], v[:, :, 6], trace=True)
    kept = [x.copy() for x in (*ys, y6, tr.charge1, tr.phi, tr.subarray_out)]
    for t in range(7, 12):
        a.step(q[:, :, t], k[:, :, t], v[:, :, t])
    for x, c in zip((*ys, y6, tr.charge1, tr.phi, tr.subarray_out), kept):
        np.testing.assert_array_equal(x, c)
    np.testing.assert_array_equal(np.stack(ys + [y6], axis=2),
                                  gc.GainCellAttention(cfg, seed=1).forward(
                                      q[:, :, :7], k[:, :, :7], v[:, :, :7]))


def test_serial_twins_have_cache_names_of_their_own():
    """A serial twin built from the parallel kernel's function object would share its Numba
    cache entry (the cache keys module, name, line, signature and bytecode, not the compile
    options), and one of the two would then run the other's code."""
    from gaincell.array import _kernels_full, _kernels_tiles

    pairs = [(_kernels.step_preset, _kernels.step_preset_serial),
             (_kernels.step_poly, _kernels.step_poly_serial),
             (_kernels.step_charge_abs, _kernels.step_charge_abs_serial),
             (_kernels_full.run_tokens, _kernels_full.run_tokens_serial),
             (_kernels_tiles.forward_tiles, _kernels_tiles.forward_tiles_serial)]
    for par, ser in pairs:
        assert par.targetoptions.get("parallel") and not ser.targetoptions.get("parallel")
        assert ser.py_func.__qualname__ == par.py_func.__qualname__ + "_serial"
        assert ser.py_func.__code__ is par.py_func.__code__     # the same arithmetic


def test_step_preset_parallel_equals_serial_bit_for_bit():
    rng = np.random.default_rng(8)
    B, H, W, D = 2, 4, 16, 6
    cfg = gc.AttentionConfig.leroux2025(n_heads=H, head_dim=D, window=W, array_cols=8)
    kbuf = rng.integers(0, 8, (B, H, W, D)).astype(np.uint8)
    q, k, v = rng.uniform(0, 0.9, (3, B, H, D))
    outs = []
    for fn in (_kernels.step_preset, _kernels.step_preset_serial):
        kb, vb = kbuf.copy(), kbuf[::-1].copy()
        args, out, _ = _args(cfg, 21, kb, vb, q, k, v, np.full(3, np.inf), True)
        assert fn(*args) == 0
        outs.append((kb, vb, *out.values()))
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("noisy", [False, True])
def test_parallel_steps_on_request_give_the_same_numbers(monkeypatch, noisy):
    # GAINCELL_PARALLEL_STEPS=1: a step of 2^17 cell reads runs the parallel kernel
    from gaincell.array import _kernels_full

    o = dict(sigma_gain_mismatch=0.05, sigma_tau_mismatch=0.2, sigma_read_noise=1e-14,
             sigma_comparator_offset=5e-15) if noisy else {}
    cfg = gc.AttentionConfig.leroux2025(n_heads=4, head_dim=16, window=1024, **o)
    rng = np.random.default_rng(1)
    q, k, v = (rng.uniform(0, 0.9, (6, 1, 4, 16)) for _ in range(3))
    serial = gc.GainCellAttention(cfg, seed=3)
    ys = [serial.step(q[t], k[t], v[t]) for t in range(6)]
    mod, name = (_kernels_full, "run_tokens") if noisy else (_kernels, "step_preset")
    calls = []
    kernel = getattr(mod, name)

    def spy(*a):
        calls.append(1)
        return kernel(*a)

    monkeypatch.setattr(mod, name, spy)
    monkeypatch.setenv("GAINCELL_THREADS", "2")
    monkeypatch.setenv("GAINCELL_PARALLEL_STEPS", "1")
    par = gc.GainCellAttention(cfg, seed=3)
    for t in range(6):
        np.testing.assert_array_equal(par.step(q[t], k[t], v[t]), ys[t])
    assert len(calls) == 6
    monkeypatch.setenv("GAINCELL_PARALLEL_STEPS", "yes")
    with pytest.raises(ValueError, match="GAINCELL_PARALLEL_STEPS = 'yes' is invalid"):
        par.step(q[0], k[0], v[0])
