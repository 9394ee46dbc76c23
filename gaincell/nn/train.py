"""Training loop with resumable checkpoints, and loss evaluation.

A checkpoint holds the model and optimizer states, the iteration, the batch generator's state
(and, for noise-aware training, the noise generator's) and the loss history, written
atomically (temporary file, then ``os.replace``) every
``ckpt_every`` iterations. Re-running :func:`train` with the same ``ckpt_path`` resumes from it;
because batches come from a saved ``torch.Generator`` and dropout defaults to 0, a resumed run
reproduces the uninterrupted one.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from gaincell._io import atomic_write_with
from gaincell.nn._torch import torch
from gaincell.nn.data import CharData
from gaincell.nn.model import GPT

__all__ = ["TrainSettings", "train", "evaluate", "save_torch", "load_torch"]


def save_torch(obj, path: str | os.PathLike) -> Path:
    """``torch.save`` atomically."""
    return atomic_write_with(path, lambda tmp: torch.save(obj, tmp))


def load_torch(path: str | os.PathLike):
    """Read a checkpoint written by :func:`save_torch`: tensors and plain data only
    (``weights_only=True``: a checkpoint never runs code). A truncated or foreign file is a
    ``ValueError`` naming it."""
    import pickle
    import zipfile

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile,
            UnicodeDecodeError) as e:
        raise ValueError(f"{path}: not a readable gaincell checkpoint (a torch file of "
                         f"tensors and plain data; truncated or foreign?): "
                         f"{str(e).splitlines()[0][:200] if str(e) else type(e).__name__}; "
                         f"delete it or pass --restart") from None


@torch.no_grad()
def evaluate(model: GPT, batches) -> float:
    """Mean cross-entropy (nats per character) over fixed ``batches`` (eval mode)."""
    was = model.training
    model.eval()
    try:
        losses = [float(model(x, y)[1]) for x, y in batches]
    finally:
        model.train(was)
    return sum(losses) / len(losses)


@dataclass(frozen=True)
class TrainSettings:
    """One training stage.

    iters: optimizer steps; lr / min_lr: peak and final learning rate (cosine decay after a
    linear warm-up of ``warmup`` steps); batch_size: sequences per step; weight_decay: AdamW's;
    grad_clip: max gradient norm; eval_every: steps between validation estimates on
    ``eval_batches``; ckpt_every: steps between checkpoints; seed: batch-sampling seed.
    """

    iters: int
    lr: float
    min_lr: float
    warmup: int = 50
    batch_size: int = 16
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    eval_every: int = 100
    ckpt_every: int = 100
    seed: int = 0

    def __post_init__(self):
        for n in ("iters", "batch_size", "eval_every", "ckpt_every"):
            v = getattr(self, n)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if n == "iters" else 1):
                raise ValueError(f"TrainSettings.{n} = {v!r}: allowed an integer >= "
                                 f"{0 if n == 'iters' else 1}")
        if not (self.lr > 0 and 0 <= self.min_lr <= self.lr):
            raise ValueError(f"TrainSettings.lr = {self.lr!r}, min_lr = {self.min_lr!r}: "
                             f"allowed 0 <= min_lr <= lr, lr > 0")

    def lr_at(self, it: int) -> float:
        if it < self.warmup:
            return self.lr * (it + 1) / self.warmup
        span = max(1, self.iters - self.warmup)
        r = min(1.0, (it - self.warmup) / span)
        return self.min_lr + 0.5 * (1 + math.cos(math.pi * r)) * (self.lr - self.min_lr)


def train(model: GPT, data: CharData, st: TrainSettings, eval_batches, ckpt_path,
          desc: str = "train", progress: bool = True,
          callback: Callable[[str, int], None] | None = None,
          noise_aware: bool = False) -> dict:
    """Train ``model`` in place for ``st.iters`` steps, resuming from ``ckpt_path`` if present.

    Returns the history ``{"train": [(iter, loss)], "val": [(iter, val_loss)]}``.
    ``callback(desc, it)`` runs after every step (after any checkpoint of that step).
    ``noise_aware``: every training forward samples the design's write and read noise afresh
    (a ``torch.Generator`` seeded from ``st.seed``); validation losses use the simulator's
    noise of the model's chips (eval mode), so they are the simulator's numbers. Needs a
    design with read or write noise (``ModelConfig.hw_overrides``).
    """
    if noise_aware and not model.has_sampled_noise:
        raise ValueError("noise_aware = True but the model's design has no read or write "
                         "noise to sample: allowed a design with sigma_read_noise > 0, "
                         "sigma_write_noise > 0 or write_noise_ktc (ModelConfig.hw_overrides)")
    ckpt_path = Path(ckpt_path)
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": st.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=st.lr, betas=(0.9, 0.99))
    gen = torch.Generator().manual_seed(int(st.seed))
    noise_gen = torch.Generator().manual_seed(int(st.seed) + 10_007) if noise_aware else None
    hist = {"train": [], "val": []}
    start = 0
    if ckpt_path.exists():
        ck = load_torch(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        gen.set_state(ck["generator"])
        if noise_gen is not None and "noise_generator" in ck:
            noise_gen.set_state(ck["noise_generator"])
        hist = ck["history"]
        start = int(ck["iter"])
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=st.iters, initial=start, desc=desc, leave=True)
    model.train()
    model.noise_aware(noise_aware, noise_gen)
    try:
        hist = _loop(model, data, st, eval_batches, ckpt_path, desc, callback, opt, gen,
                     noise_gen, hist, start, bar)
    finally:
        model.noise_aware(False)
    return hist


def _loop(model, data, st, eval_batches, ckpt_path, desc, callback, opt, gen, noise_gen,
          hist, start, bar):
    ema = None
    for it in range(start, st.iters):
        for g in opt.param_groups:
            g["lr"] = st.lr_at(it)
        x, y = data.batch("train", st.batch_size, model.cfg.block_size, gen)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if st.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), st.grad_clip)
        opt.step()
        lv = loss.item()
        if not math.isfinite(lv):
            raise FloatingPointError(f"{desc}: training loss became {lv} at step {it}")
        ema = lv if ema is None else 0.9 * ema + 0.1 * lv
        hist["train"].append((it + 1, lv))
        done = it + 1
        if done % st.eval_every == 0 or done == st.iters:
            hist["val"].append((done, evaluate(model, eval_batches)))
        if done % st.ckpt_every == 0 or done == st.iters:
            ck = {"model": model.state_dict(), "optimizer": opt.state_dict(),
                  "generator": gen.get_state(), "history": hist, "iter": done,
                  "model_cfg": model.cfg.to_dict()}
            if noise_gen is not None:
                ck["noise_generator"] = noise_gen.get_state()
            save_torch(ck, ckpt_path)
        if bar is not None:
            bar.update(1)
            post = {"loss": f"{ema:.3f}"}
            if hist["val"]:
                post["val"] = f"{hist['val'][-1][1]:.3f}"
            bar.set_postfix(post)
        if callback is not None:
            callback(desc, done)
    if bar is not None:
        bar.close()
    return hist
