"""Monte Carlo over chips: the spread of a design's errors from mismatch and noise.

Chip i is ``GainCellAttention(cfg, seed=numpy.random.SeedSequence(seed, spawn_key=(i,)))``:
its static draws (gain and retention mismatch, comparator offsets) and its per-token noise
come from spawn key i of ``seed``, so a chip's numbers do not depend on ``n_chips``, on the
order the chips run in, or on the number of workers.

Per chip, the metrics compare its outputs ``y`` with

- the ideal float attention (:func:`gaincell.reference.hardsigmoid_attention`: linear cell,
  no leakage, no quantization), and
- the same design without noise and mismatch (every sigma 0; leakage, quantization, cell
  model and rest voltage kept),

as the relative RMS error ``rms(y - ref) / rms(ref)`` and the Pearson correlation (NaN when
either output is constant), plus the saturated first-stage pulses and counters.
"""

from __future__ import annotations

import math
import numbers
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from gaincell.array._fast import FastEngine, n_threads
from gaincell.array.attention import GainCellAttention
from gaincell.metrics import Reference
from gaincell.params import AttentionConfig

__all__ = ["monte_carlo", "MonteCarloResult", "METRICS", "DEFAULT_MEMORY_LIMIT"]

#: Per-chip metrics, in the order of :attr:`MonteCarloResult.metrics` and ``chips.csv``.
METRICS = ("rel_rms_vs_ideal", "corr_vs_ideal", "rel_rms_vs_clean", "corr_vs_clean",
           "phi_saturated", "counter_saturated")
#: Largest size of the kept per-chip outputs, bytes (``keep_outputs=None`` keeps them below).
DEFAULT_MEMORY_LIMIT = 2**30


@dataclass
class MonteCarloResult:
    """Per-chip metrics (and outputs) of :func:`monte_carlo`.

    Attributes
    ----------
    metrics : dict of str to numpy.ndarray
        Each of :data:`METRICS` as a 1-D array over the chips (index i = chip i): relative
        RMS errors (dimensionless), correlations (:mod:`gaincell.metrics`; NaN where undefined:
        a zero reference, a constant output), saturation counts (over the whole run).
    outputs : numpy.ndarray (n_chips, B, H, T, D) or None
        Each chip's outputs (units of one counter's full scale), when kept.
    seed : int
        The seed whose spawn keys 0 .. n_chips - 1 are the chips.
    ideal, clean : numpy.ndarray (B, H, T, D) or None
        The two references (kept with the outputs).
    """

    metrics: dict[str, np.ndarray]
    outputs: np.ndarray | None
    seed: int
    ideal: np.ndarray | None = field(default=None, repr=False)
    clean: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_chips(self) -> int:
        return len(next(iter(self.metrics.values())))

    def summary(self) -> dict[str, dict[str, float | None]]:
        """Spread of every metric: mean, std (ddof 1), min, 5th/50th/95th percentiles, max
        and the 95 % confidence interval of the mean (normal approximation,
        mean +- 1.96 std / sqrt(n)); None where undefined (NaNs, or std with one chip)."""
        out = {}
        for name, x in self.metrics.items():
            x = np.asarray(x, dtype=np.float64)
            if not np.isfinite(x).all() or x.size == 0:
                out[name] = {k: None for k in ("mean", "std", "min", "p5", "p50", "p95",
                                               "max", "ci95_lo", "ci95_hi")}
                continue
            n = x.size
            mean = float(x.mean())
            std = float(x.std(ddof=1)) if n > 1 else None
            half = 1.96 * std / math.sqrt(n) if std is not None else None
            p5, p50, p95 = (float(v) for v in np.percentile(x, [5, 50, 95]))
            out[name] = {"mean": mean, "std": std, "min": float(x.min()), "p5": p5,
                         "p50": p50, "p95": p95, "max": float(x.max()),
                         "ci95_lo": None if half is None else mean - half,
                         "ci95_hi": None if half is None else mean + half}
        return out

    def rows(self) -> list[dict[str, float]]:
        """One dict per chip (``chip`` then the metrics), e.g. for a CSV file."""
        return [{"chip": i, **{m: self.metrics[m][i].item() for m in self.metrics}}
                for i in range(self.n_chips)]


def chip(cfg: AttentionConfig, seed: int, i: int) -> GainCellAttention:
    """Chip ``i`` of ``seed``."""
    return GainCellAttention(cfg, seed=np.random.SeedSequence(seed, spawn_key=(i,)))


def _run_chip(sim: GainCellAttention, q, k, v, single: bool):
    """(y, saturated first-stage pulses, saturated counters) of one chip's forward."""
    if single and isinstance(sim._engine, FastEngine):
        sim._engine.threads = 1
    return sim._forward_stats(q, k, v)


def simulate_chips(cfg: AttentionConfig, q, k, v, seeds, workers: int | None = None
                   ) -> list[tuple[np.ndarray, int, int]]:
    """``(y, phi_saturated, counter_saturated)`` of the chips seeded by ``seeds`` (each
    anything :class:`GainCellAttention` takes as a seed), run side by side on ``workers``
    threads as in :func:`monte_carlo` (the numbers do not depend on it). For callers that
    choose their own chip seeds (e.g. ``gaincell.explore``)."""
    seeds = list(seeds)
    n_workers = min(n_threads() if workers is None else int(workers), max(1, len(seeds)))

    def one(s):
        return _run_chip(GainCellAttention(cfg, seed=s), q, k, v, n_workers > 1)

    if n_workers <= 1:
        return [one(s) for s in seeds]
    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(n_workers) as pool:
        return list(pool.map(one, seeds))


def monte_carlo(cfg: AttentionConfig, q, k, v, n_chips: int, seed: int = 0, *,
                keep_outputs: bool | None = None, workers: int | None = None,
                progress: bool = True, memory_limit: int = DEFAULT_MEMORY_LIMIT
                ) -> MonteCarloResult:
    """Simulate ``n_chips`` independent chips of a design on the same inputs.

    Parameters
    ----------
    cfg : AttentionConfig
        The design (its sigmas set the spread).
    q, k, v : array_like (B, H, T, D)
        Inputs as for :meth:`GainCellAttention.forward` (pulse widths, fraction of T_max;
        voltages, V).
    n_chips : int
        Chips to simulate, >= 1 (chip i uses spawn key i of ``seed``).
    seed : int
        Root seed (>= 0).
    keep_outputs : bool or None
        Keep every chip's outputs (``True``), only the metrics (``False``), or keep them when
        they fit within ``memory_limit`` (``None``, the default).
    workers : int or None
        Chips run side by side on this many threads (default: ``GAINCELL_THREADS`` or the
        cores); each chip then runs single-threaded. The numbers do not depend on it.
    progress : bool
        Show a progress bar over the chips.
    memory_limit : int
        Bytes the kept outputs may take (default 1 GiB).

    Returns
    -------
    MonteCarloResult
    """
    if isinstance(n_chips, bool) or not isinstance(n_chips, numbers.Integral) or n_chips < 1:
        raise ValueError(f"n_chips = {n_chips!r} is invalid: allowed an integer >= 1")
    n_chips = int(n_chips)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed = {seed!r} is invalid: allowed an integer >= 0")
    if workers is not None and (isinstance(workers, bool) or not isinstance(
            workers, numbers.Integral) or workers < 1):
        raise ValueError(f"workers = {workers!r} is invalid: allowed an integer >= 1 or None")
    if keep_outputs not in (None, True, False):
        raise ValueError(f"keep_outputs = {keep_outputs!r} is invalid: allowed True, False "
                         f"or None (keep when they fit in memory_limit)")
    if not isinstance(cfg, AttentionConfig):
        raise ValueError(f"cfg must be an AttentionConfig, got {type(cfg).__name__}")
    from gaincell.reference import hardsigmoid_attention

    clean_sim = GainCellAttention(cfg.replace(device=cfg.device.noiseless()), seed=seed)
    q, k, v = clean_sim._check_inputs(q, k, v, ndim=4)
    need = n_chips * q.size * 8
    if keep_outputs is None:
        keep_outputs = need <= memory_limit
    elif keep_outputs and need > memory_limit:
        raise ValueError(f"keeping the outputs of n_chips = {n_chips} chips needs "
                         f"{need / 2**30:.2f} GiB, above the memory limit of "
                         f"{memory_limit / 2**30:.2f} GiB: use keep_outputs=False (per-chip "
                         f"metrics only), fewer chips, or a larger memory_limit")
    outputs = np.empty((n_chips,) + q.shape) if keep_outputs else None
    metrics = {m: np.empty(n_chips) for m in METRICS}
    n_workers = min(n_threads() if workers is None else int(workers), n_chips)
    B, H = q.shape[:2]
    ideal = np.empty(q.shape)

    def ideal_part(bh: int) -> None:
        b, h = divmod(bh, H)
        sl = (slice(b, b + 1), slice(h, h + 1))
        ideal[sl] = hardsigmoid_attention(q[sl], k[sl], v[sl], cfg)

    refs: list[Reference] = []     # the ideal and the noiseless outputs, once computed

    def run(i: int) -> None:
        y, n1, n2 = _run_chip(chip(cfg, seed, i), q, k, v, n_workers > 1)
        metrics["rel_rms_vs_ideal"][i], metrics["corr_vs_ideal"][i] = refs[0].rel_rms_corr(y)
        metrics["rel_rms_vs_clean"][i], metrics["corr_vs_clean"][i] = refs[1].rel_rms_corr(y)
        metrics["phi_saturated"][i] = n1
        metrics["counter_saturated"][i] = n2
        if outputs is not None:
            outputs[i] = y

    from tqdm.auto import tqdm

    # Every part runs single-threaded inside (BLAS too: nested threads oversubscribe the
    # cores, and a busy machine slows spinning BLAS threads down by several times); the
    # chips, and the ideal reference's heads, run side by side on the workers.
    bar = tqdm(total=n_chips, desc="chips", unit="chip", disable=not progress)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            clean = clean_sim.forward(q, k, v)
            if n_workers > 1:
                with ThreadPoolExecutor(n_workers) as pool:
                    list(pool.map(ideal_part, range(B * H)))
                    refs[:] = [Reference(ideal), Reference(clean)]
                    futures = [pool.submit(run, i) for i in range(n_chips)]
                    try:
                        for f in as_completed(futures):
                            f.result()
                            bar.update()
                    except BaseException:
                        for f in futures:
                            f.cancel()
                        raise
            else:
                for bh in range(B * H):
                    ideal_part(bh)
                refs[:] = [Reference(ideal), Reference(clean)]
                for i in range(n_chips):
                    run(i)
                    bar.update()
    finally:
        bar.close()
    return MonteCarloResult(metrics, outputs, int(seed),
                            ideal if keep_outputs else None, clean if keep_outputs else None)
