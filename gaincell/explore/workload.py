"""Workloads: the q, k, v (hardware units) on which a study measures accuracy.

- ``uniform``: q uniform on the PWM range [q_lo, q_hi] (fraction of T_max), k and v uniform
  on the DAC range [kv_lo, kv_hi] (V).
- ``gaussian``: projection-like activations: a latent sequence ``e ~ N(0, I_D)`` per token
  and per-head projections ``W ~ N(0, 1/D)`` give ``x = e W`` for q, k and v (tokens are
  correlated through the shared latent, heads differ), then a per-head affine map sends each
  head's mean +- 3 standard deviations onto the hardware range (q: PWM range; k, v: DAC range),
  like the per-head scalers of a trained model (``gaincell.nn.scaler``); the 0.3 % of values
  beyond 3 sigma are clipped to the range.
- ``npz``: q, k, v recorded from a model, an ``.npz`` with arrays ``q``, ``k``, ``v`` of shape
  (B, H, T, D) already in hardware units (the output of the model's per-head scalers: q as
  pulse widths in [0, 1] x T_max, k and v as voltages); the first ``heads`` heads, ``batch``
  sequences and ``tokens`` tokens are used.

The workload depends only on the study seed (``SeedSequence(seed, spawn_key=(3,))``) and its
shape, so every point of a study sees the same inputs. Accuracy is measured on ``heads`` heads
of the design (heads are independent arrays; the cost always counts all ``n_heads``).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gaincell._checks import check_number
from gaincell.params import AttentionConfig

__all__ = ["Workload", "KINDS"]

KINDS = ("uniform", "gaussian", "npz")
_WORKLOAD_DOMAIN = 3
_LIMITS = {"tokens": (1, 65536), "batch": (1, 4096), "heads": (1, 4096)}


@dataclass(frozen=True)
class Workload:
    """Inputs of the accuracy measurement.

    Attributes
    ----------
    kind : {"uniform", "gaussian", "npz"}
    tokens : int or None
        Tokens per sequence (default 64; for ``npz`` default all).
    batch : int or None
        Sequences (default 1; for ``npz`` default all).
    heads : int
        Heads simulated (at most the design's ``n_heads``). Default 2.
    path : str or None
        The ``.npz`` of ``kind = "npz"``.
    """

    kind: str = "uniform"
    tokens: int | None = None
    batch: int | None = None
    heads: int = 2
    path: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"workload kind = {self.kind!r} is invalid: allowed one of "
                             f"{list(KINDS)}")
        for name, (lo, hi) in _LIMITS.items():
            v = getattr(self, name)
            if v is None and name != "heads":
                continue
            object.__setattr__(self, name,
                               check_number(f"workload {name}", v, lo, hi, integer=True))
        if (self.kind == "npz") != (self.path is not None):
            raise ValueError(f"workload path = {self.path!r} is invalid for kind = "
                             f"{self.kind!r}: allowed a path exactly when kind = 'npz'")
        if self.kind == "npz":
            object.__setattr__(self, "path", os.fspath(self.path))
            _load_npz(self.path)   # fail early: missing file, arrays, shapes

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("kind", self.kind), ("tokens", self.tokens),
                                  ("batch", self.batch), ("heads", self.heads),
                                  ("path", self.path)) if v is not None}

    def check(self, cfg: AttentionConfig) -> None:
        """``ValueError`` if the workload cannot feed design ``cfg`` (npz head dim or heads)."""
        if self.kind != "npz":
            return
        q = _load_npz(self.path)[0]
        if q.shape[-1] != cfg.head_dim:
            raise ValueError(f"workload {self.path}: head dim D = {q.shape[-1]} does not match "
                             f"the design's head_dim = {cfg.head_dim}: allowed equal")

    def sim_config(self, cfg: AttentionConfig) -> AttentionConfig:
        """The design restricted to the simulated heads."""
        h = min(self.heads, cfg.n_heads)
        if self.kind == "npz":
            h = min(h, _load_npz(self.path)[0].shape[1])
        return cfg if h == cfg.n_heads else cfg.replace(n_heads=h)

    def arrays(self, cfg_sim: AttentionConfig, seed: int):
        """``(q, k, v)`` float64 (B, H, T, D) for the simulated design ``cfg_sim``."""
        self.check(cfg_sim)
        d = cfg_sim.device
        if self.kind == "npz":
            q, k, v = _load_npz(self.path)
            H, B, T = cfg_sim.n_heads, self.batch or q.shape[0], self.tokens or q.shape[2]
            if B > q.shape[0] or T > q.shape[2]:
                raise ValueError(f"workload {self.path}: batch {B} / tokens {T} exceed the "
                                 f"file's {q.shape[0]} / {q.shape[2]}: allowed at most those")
            return tuple(np.ascontiguousarray(a[:B, :H, :T]) for a in (q, k, v))
        shape = (self.batch or 1, cfg_sim.n_heads, self.tokens or 64, cfg_sim.head_dim)
        ranges = ((d.q_lo, d.q_hi), (d.kv_lo, d.kv_hi), (d.kv_lo, d.kv_hi))
        return _synthetic(self.kind, shape, ranges, seed)


def _load_npz(path: str):
    """The arrays of a workload file (cached while the file is unchanged)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such workload file") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read the workload file ({e.strerror})") from None
    return _load_npz_cached(path, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=4)
def _load_npz_cached(path: str, mtime_ns: int, size: int):
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as f:
            files = getattr(f, "files", None)
            if files is None:
                raise ValueError(f"{p}: a single .npy array: allowed an .npz with arrays q, "
                                 f"k, v")
            missing = sorted({"q", "k", "v"} - set(files))
            if missing:
                raise ValueError(f"{p}: missing array(s) {missing}: allowed an .npz with q, k, "
                                 f"v shaped (B, H, T, D)")
            q, k, v = (np.asarray(f[n], dtype=np.float64) for n in ("q", "k", "v"))
    except FileNotFoundError:
        raise ValueError(f"{p}: no such workload file") from None
    except ValueError as e:
        if str(e).startswith(str(p)):
            raise
        raise ValueError(f"{p}: cannot read as .npz ({e})") from None
    except Exception as e:   # BadZipFile, EOFError, OSError: not a readable .npz
        raise ValueError(f"{p}: cannot read as .npz ({type(e).__name__}: {e})") from None
    if q.ndim != 4 or not (q.shape == k.shape == v.shape) or 0 in q.shape:
        raise ValueError(f"{p}: q, k, v have shapes {q.shape}, {k.shape}, {v.shape}: allowed "
                         f"one non-empty shape (B, H, T, D)")
    for n, a in (("q", q), ("k", k), ("v", v)):
        if not np.isfinite(a).all():
            raise ValueError(f"{p}: {n} holds NaN or infinite values: allowed finite values")
    for a in (q, k, v):
        a.setflags(write=False)
    return q, k, v


@functools.lru_cache(maxsize=8)
def _synthetic(kind: str, shape: tuple, ranges: tuple, seed: int):
    B, H, T, D = shape
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_WORKLOAD_DOMAIN,)))
    out = []
    if kind == "uniform":
        for lo, hi in ranges:
            out.append(rng.uniform(lo, hi, shape))
    else:
        e = rng.standard_normal((B, 1, T, D))
        for lo, hi in ranges:
            w = rng.standard_normal((1, H, D, D)) / np.sqrt(D)
            x = e @ w                                             # (B, H, T, D)
            mu = x.mean(axis=(0, 2, 3), keepdims=True)
            sd = x.std(axis=(0, 2, 3), keepdims=True)
            sd = np.where(sd > 0, sd, 1.0)
            a = (hi - lo) / (6.0 * sd)                            # +-3 sigma -> [lo, hi]
            b = 0.5 * (lo + hi) - a * mu
            out.append(np.clip(a * x + b, lo, hi))
    for a in out:
        a.setflags(write=False)
    return tuple(out)
