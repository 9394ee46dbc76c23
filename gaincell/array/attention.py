"""Sliding-window gain-cell attention: one layer of heads, batched (prefill) and streaming.

Hardware dataflow per head (docs/design.md, "reference semantics"):

1. token j's key and value are written by the DAC into ring-buffer column ``j mod W``
   (with write noise, held within the rails);
2. the query drives the K array's word lines with pulse widths; each column's bit line
   integrates ``S = sum_r q_r g_r I(w_r)`` (cells relax toward ``v_rest``:
   ``w = v_rest - V0 + (v_stored - v_rest) exp(-age dt / tau_cell)``; ``g`` the cell's gain)
   plus read noise;
3. each column's charge-to-pulse converter emits ``phi = clip((S - offset) / S_sat1, 0, 1)``;
4. the pulses drive the V array's rows; each 64-row sub-array's bit lines integrate
   ``A_g = sum_j phi_j g I(w_v)`` plus read noise, and a signed counter reads
   ``quantize((A_g - offset) / S_fs2)``;
5. the head output is the digital sum over the W / 64 sub-arrays.

This module is the facade: input checks, the streaming state and the traces. The arithmetic
lives behind one small protocol (:class:`gaincell.array._design.Engine`) in two engines, the
*fast* one (Numba kernels and BLAS, :mod:`gaincell.array._fast`) and the *reference* one
(vectorized NumPy, :mod:`gaincell.array._reference`); the ring buffer is
:mod:`gaincell.array._state`, the random numbers :mod:`gaincell.array._draws`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from gaincell._checks import as_finite
from gaincell.array._design import Design, Engine, Read, activity_of
from gaincell.array._draws import seed_entropy, stream, token_noise
from gaincell.array._fast import FastEngine
from gaincell.array._kernels import scan_inputs
from gaincell.array._reference import ReferenceEngine
from gaincell.array._state import RingBuffer
from gaincell.array.activity import Activity
from gaincell.array.mapping import CLIP_WARN_FRACTION, _clipped, clip_bounds, warn_clipped
from gaincell.device.quantize import pwm, pwm_grid, quantize_on
from gaincell.params import UA as _UA
from gaincell.params import AttentionConfig

__all__ = ["GainCellAttention", "AttentionTrace"]

_ENGINES = ("auto", "fast", "reference")
_NO_WARN = np.full(3, np.inf)


@dataclass
class AttentionTrace:
    """Intermediates of a simulation (``forward(..., trace=True)`` or ``step(..., trace=True)``).

    Arrays are indexed by ring-buffer slot (column) ``s = j mod W`` of key token j; slots
    that hold no token carry zero. For ``step`` the token axis T is absent.

    Attributes
    ----------
    charge1 : numpy.ndarray, (B, H, T, W)
        First-stage bit-line charge of every K column (read noise included), C.
    phi : numpy.ndarray, (B, H, T, W)
        First-stage output pulse widths, fraction of T_max, in [0, 1].
    subarray_out : numpy.ndarray, (B, H, T, G, D)
        Each V sub-array's signed counter output (units of its full scale) before the
        digital sum over the G = W / array_cols sub-arrays.
    activity : Activity
        Counts and physical sums for data-dependent energy.
    clipped : dict
        Fraction of the elements of each input (``"q"``, ``"k"``, ``"v"``) outside the PWM
        range ``[q_lo, q_hi]`` or the DAC range ``[kv_lo, kv_hi]``, which the converters clip
        (:func:`gaincell.array.mapping.clipped_fraction`).
    """

    charge1: np.ndarray
    phi: np.ndarray
    subarray_out: np.ndarray
    activity: Activity
    clipped: dict | None = None


class GainCellAttention:
    """One layer of gain-cell sliding-window attention heads.

    Parameters
    ----------
    cfg : AttentionConfig
        Geometry, leakage and device (see :meth:`AttentionConfig.leroux2025`); read-only.
    seed : int, tuple of int, numpy.random.SeedSequence or numpy.random.Generator
        Seeds the chip's static draws (mismatch, offsets) and the per-token noise streams
        (:mod:`gaincell.array._draws`); the same seed gives the same numbers in either engine,
        with any thread count, and ``forward`` gives the same numbers as ``step``.
    engine : {"auto", "fast", "reference"}
        ``auto`` and ``fast`` use the Numba/BLAS engine (every device option); ``reference``
        forces the slow vectorized NumPy engine, e.g. to cross-check the fast one (equal to
        1e-12). ``"general"`` is a deprecated alias of ``"reference"``.

    Inputs are in hardware units: ``q`` is the pulse width as a fraction of T_max (the PWM
    clips to its range and quantizes), ``k`` and ``v`` are the voltages to store, V (the DAC
    clips and quantizes). When more than 2 % of an input lies outside its range an
    :class:`~gaincell.array.mapping.InputClippedWarning` is raised (``step``: once per input
    until :meth:`reset`); model tensors are mapped into the ranges by
    :func:`gaincell.fit_input_map`. Outputs are the digital sums of the sub-array counters
    (units of one counter's full scale), float64.
    """

    def __init__(self, cfg: AttentionConfig, seed: int = 0, engine: str = "auto"):
        if not isinstance(cfg, AttentionConfig):
            raise ValueError(f"cfg must be an AttentionConfig, got {type(cfg).__name__}")
        if engine == "general":
            warnings.warn("engine = 'general' is deprecated: use 'reference'",
                          DeprecationWarning, stacklevel=2)
            engine = "reference"
        if engine not in _ENGINES:
            raise ValueError(f"engine = {engine!r} is invalid: allowed 'auto', 'fast', "
                             f"'reference'")
        self._cfg = cfg
        self.seed = seed
        self._design = Design(cfg, seed_entropy(seed))
        todo = self._design.fast_unsupported
        if engine == "fast" and todo:
            raise ValueError(f"engine = 'fast' does not model {' and '.join(todo)} yet: "
                             f"allowed engine = 'auto' or 'reference' for this design")
        self._engine: Engine = (ReferenceEngine(self._design)
                                if engine == "reference" or todo
                                else FastEngine(self._design))
        self._state: RingBuffer | None = None
        self._clip_warned: set[str] = set()   # inputs step() has warned about since reset()
        #: clipped fraction of q, k, v above which step() warns (inf once it has)
        self._warn_at = np.full(3, CLIP_WARN_FRACTION)
        #: the engine whose fused step runs the whole streaming step (the preset family)
        self._fused = (self._engine if isinstance(self._engine, FastEngine)
                       and self._design.is_preset else None)
        self._pwm = pwm_grid(cfg.device)
        self._bounds = clip_bounds(cfg)
        self._counts = np.zeros(6, np.int64)

    # -- public API ---------------------------------------------------------------------------
    @property
    def cfg(self) -> AttentionConfig:
        """The design simulated (read-only: build a new simulator for another design)."""
        return self._cfg

    @property
    def engine(self) -> str:
        """``"fast"`` or ``"reference"``."""
        return self._engine.name

    def reset(self) -> None:
        """Empty the ring buffer (streaming state); static mismatch is kept."""
        self._state = None
        self._clip_warned = set()
        self._warn_at = np.full(3, CLIP_WARN_FRACTION)

    @property
    def tokens_seen(self) -> int:
        """Tokens streamed since the last :meth:`reset`."""
        return 0 if self._state is None else self._state.t

    @property
    def state_nbytes(self) -> int:
        """Bytes held by the streaming state: the ring buffer and the chip's static draws."""
        n = 0 if self._state is None else self._state.nbytes
        return n + self._design.chip.nbytes

    def step(self, q_t, k_t, v_t, trace: bool = False):
        """Stream one token: write ``k_t``, ``v_t`` into the ring buffer, read with ``q_t``.

        Parameters
        ----------
        q_t, k_t, v_t : array_like, (B, H, D)
            Query pulse widths (fraction of T_max) and key/value voltages (V).
        trace : bool
            Also return an :class:`AttentionTrace` (without the token axis).

        Returns
        -------
        y_t : numpy.ndarray (B, H, D) float64, or ``(y_t, trace)``.

        On invalid input a ``ValueError`` is raised and the state is left unchanged.
        """
        q, k, v = self._check_inputs(q_t, k_t, v_t, ndim=3, finite=False)
        B = q.shape[0]
        st = self._state
        if st is not None and st.k.shape[0] != B:
            raise ValueError(f"batch size {B} differs from the streaming state's "
                             f"{st.k.shape[0]}: allowed {st.k.shape[0]} (or call reset())")
        new = self._design.writer.empty(B) if st is None else st  # mutated once inputs pass
        cfg = self._cfg
        if self._fused is not None:
            # the preset family: checks, clipped counts, PWM, DAC, write and read in one call
            # (a second one only on a step that warns, so that the state is untouched when a
            # warning raises)
            status, r, qq, counts = self._fused.step_fused(new, q, k, v, self._warn_at, trace)
            if status == 1:
                self._refuse_nonfinite(counts)
            if status == 2:
                self._warn_step(counts, q.size)
                status, r, qq, counts = self._fused.step_fused(new, q, k, v, _NO_WARN, trace)
            if status == 3:   # the kernel found non-finite outputs
                self._check_finite(r.y)
        else:
            counts = self._scan(q, k, v)
            self._warn_step(counts, q.size)
            qq = quantize_on(q, self._pwm)
            noise = token_noise(cfg, self._design.entropy, new.t, 1, B)
            r = self._engine.step(new, qq, k, v, noise, trace)
            self._check_finite(r.y)
        self._state = new
        if not trace:
            return r.y
        cols_valid = min(new.t, cfg.window)
        return r.y, self._trace(r, 1, B, qq, cols_valid, self._fractions(counts, q.size))

    def forward(self, q, k, v, trace: bool = False):
        """Process whole sequences from an empty ring buffer (prefill).

        Parameters
        ----------
        q, k, v : array_like, (B, H, T, D)
            Query pulse widths (fraction of T_max) and key/value voltages (V). T may exceed
            the window: the ring buffer then overwrites its oldest tokens.
        trace : bool
            Also return an :class:`AttentionTrace`.

        Returns
        -------
        y : numpy.ndarray (B, H, T, D) float64, or ``(y, trace)``. Equal to ``T`` calls of
        :meth:`step` after :meth:`reset`; the streaming state is not touched.
        """
        q, k, v = self._check_inputs(q, k, v, ndim=4)
        clipped = _clipped(q, k, v, self._cfg)
        warn_clipped(clipped, self._cfg, stacklevel=2)
        qq = pwm(q, self._cfg.device)
        r = self._engine.forward(qq, k, v, trace)
        self._check_finite(r.y)
        if not trace:
            return r.y
        B, _, T, _ = q.shape
        cols_valid = np.minimum(np.arange(1, T + 1), self._cfg.window)
        return r.y, self._trace(r, T, B, qq, cols_valid, clipped)

    # -- helpers ------------------------------------------------------------------------------
    def _forward_stats(self, q, k, v) -> tuple[np.ndarray, int, int]:
        """Outputs, saturated first-stage pulses and saturated counters of a forward (without
        the memory of a full trace on the fast engine)."""
        q, k, v = self._check_inputs(q, k, v, ndim=4)
        qq = pwm(q, self._cfg.device)
        if isinstance(self._engine, FastEngine):
            warn_clipped(_clipped(q, k, v, self._cfg), self._cfg, stacklevel=3)
            y, n1, n2 = self._engine.forward_stats(qq, k, v)
        else:
            y, tr = self.forward(q, k, v, trace=True)
            n1, n2 = tr.activity.phi_saturated, tr.activity.counter_saturated
        self._check_finite(y)
        return y, n1, n2

    def _trace(self, r: Read, T: int, B: int, qq, cols_valid, clipped) -> AttentionTrace:
        act = activity_of(self._design, T, B, qq, r.phi, cols_valid, r.sub, r.k_abs,
                          r.v_abs, r.written)
        return AttentionTrace(r.S * _UA * self._cfg.device.t_max, r.phi, r.sub, act, clipped)

    def _scan(self, q, k, v) -> np.ndarray:
        """(6,) non-finite and clipped counts of a step's inputs (one pass); a ValueError
        naming the first input that holds NaN or inf."""
        counts = self._counts
        scan_inputs(q, k, v, self._bounds, counts)
        if counts[:3].any():
            self._refuse_nonfinite(counts)
        return counts

    @staticmethod
    def _refuse_nonfinite(counts) -> None:
        for i, name in enumerate(("q", "k", "v")):
            if counts[i]:
                raise ValueError(f"{name} contains {int(counts[i])} NaN or infinite value(s): "
                                 f"allowed finite values")

    @staticmethod
    def _fractions(counts, size: int) -> dict[str, float]:
        """Clipped fractions from the counts (as
        :func:`~gaincell.array.mapping.clipped_fraction`)."""
        return {name: float(counts[3 + i]) / size for i, name in enumerate(("q", "k", "v"))}

    def _warn_step(self, counts, size: int) -> None:
        """step()'s InputClippedWarning (from the caller's frame): once per input until
        :meth:`reset`."""
        if not counts[3:].any():
            return
        warned = warn_clipped(self._fractions(counts, size), self._cfg, stacklevel=3,
                              skip=self._clip_warned)
        self._clip_warned.update(warned)
        for i, name in enumerate(("q", "k", "v")):
            if name in self._clip_warned:
                self._warn_at[i] = np.inf

    def _check_finite(self, y: np.ndarray) -> None:
        if not np.isfinite(y).all():
            raise ValueError("the simulation produced NaN or infinite outputs: the device "
                             "parameters (cell coefficients, saturation charges) are outside "
                             "a usable range")

    def _rng(self, *key: int) -> np.random.Generator:
        """Independent stream ``key`` of this seed ((0,): the static draws; the token noise
        is counter-based, see :mod:`gaincell.array._draws`)."""
        return stream(self._design.entropy, *key)

    def _check_inputs(self, q, k, v, ndim: int, finite: bool = True):
        """q, k, v as float64 arrays of the design's shape (C-contiguous when not
        ``finite``: the caller then tests finiteness itself, :meth:`_scan`)."""
        cfg = self._cfg
        axes = "(B, H, D)" if ndim == 3 else "(B, H, T, D)"
        arrs = []
        for name, x in (("q", q), ("k", k), ("v", v)):
            if type(x) is np.ndarray and x.dtype == np.float64:   # the common case, fast
                a = x
                if finite and x.size and not np.isfinite(x).all():
                    as_finite(name, x)   # raises, naming the input
            elif np.iscomplexobj(x):
                raise ValueError(f"{name} is complex: allowed a real array {axes}")
            else:
                a = as_finite(name, x) if finite else _as_float(name, x)
            if a.ndim != ndim:
                raise ValueError(f"{name} has shape {a.shape}: allowed a {ndim}-D array {axes}")
            if a.shape[1] != cfg.n_heads or a.shape[-1] != cfg.head_dim:
                raise ValueError(f"{name} has shape {a.shape}: allowed {axes} with H = "
                                 f"n_heads = {cfg.n_heads} and D = head_dim = {cfg.head_dim}")
            if a.shape[0] < 1 or (ndim == 4 and a.shape[2] < 1):
                raise ValueError(f"{name} has shape {a.shape}: allowed non-empty batch and "
                                 f"token axes")
            arrs.append(a)
        if not (arrs[0].shape == arrs[1].shape == arrs[2].shape):
            raise ValueError(f"q, k, v shapes differ: {arrs[0].shape}, {arrs[1].shape}, "
                             f"{arrs[2].shape}: allowed identical shapes {axes}")
        if not finite:
            arrs = [np.ascontiguousarray(a) for a in arrs]
        return arrs


def _as_float(name: str, x) -> np.ndarray:
    """``x`` as a float64 array (not yet tested finite); the family's error if not numeric."""
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real numeric array, got {type(x).__name__}") from None
