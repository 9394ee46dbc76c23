"""Character-level text data: vocabulary, 90/10 split, seeded batches.

The pipeline's corpus is tiny Shakespeare, shipped with the package (:func:`load_corpus`):
about 1.1 MB of Shakespeare's plays, public-domain text, the "tiny shakespeare" corpus of
char-rnn as shipped in the paper's repository for its character-level experiments. The
conventional split puts the first 90 % in training and the last 10 % in validation.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from gaincell.nn._torch import torch

__all__ = ["CharData", "TRAIN_FRACTION", "load_corpus"]

#: Fraction of the corpus used for training (the rest validates). Source: the char-rnn /
#: nanoGPT convention for tiny Shakespeare.
TRAIN_FRACTION = 0.9
#: The shipped corpus (package data): 1,115,394 characters.
CORPUS_FILE = "tinyshakespeare.txt"


def load_corpus(path: str | os.PathLike | None = None) -> str:
    """The text of a UTF-8 corpus file, or of the shipped tiny Shakespeare when ``path`` is
    None."""
    if path is None:
        return resources.files("gaincell").joinpath("data", CORPUS_FILE).read_text("utf-8")
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"data file {str(p)!r} does not exist: allowed a UTF-8 text file "
                         f"(or none: the shipped tiny Shakespeare)")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"data file {str(p)!r} is not UTF-8 text ({e.reason} at byte "
                         f"{e.start})") from None


class CharData:
    """A text corpus encoded as character ids.

    Parameters
    ----------
    text : str
        The whole corpus (at least a few hundred characters).
    train_fraction : float
        Fraction in (0, 1) of the text (from its start) used for training.
    """

    def __init__(self, text: str, train_fraction: float = TRAIN_FRACTION):
        if not isinstance(text, str) or len(text) < 200:
            raise ValueError(f"text has {len(text) if isinstance(text, str) else 'no'} "
                             f"characters: allowed a string of at least 200")
        if not 0.0 < float(train_fraction) < 1.0:
            raise ValueError(f"train_fraction = {train_fraction!r}: allowed (0, 1)")
        self.chars = sorted(set(text))
        self.stoi = {c: i for i, c in enumerate(self.chars)}
        ids = torch.tensor([self.stoi[c] for c in text], dtype=torch.long)
        n = int(len(ids) * train_fraction)
        self.train = ids[:n]
        self.val = ids[n:]

    @classmethod
    def from_file(cls, path: str | os.PathLike | None = None,
                  train_fraction: float = TRAIN_FRACTION,
                  max_chars: int | None = None) -> "CharData":
        """Read a UTF-8 corpus (None: the shipped tiny Shakespeare, :func:`load_corpus`);
        ``max_chars`` keeps only its beginning (for tiny tests)."""
        text = load_corpus(path)
        if max_chars is not None:
            text = text[:int(max_chars)]
        return cls(text, train_fraction)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, s: str) -> torch.Tensor:
        unknown = sorted(set(s) - set(self.stoi))
        if unknown:
            raise ValueError(f"characters {unknown} are not in the vocabulary")
        return torch.tensor([self.stoi[c] for c in s], dtype=torch.long)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)

    def _split(self, split: str) -> torch.Tensor:
        if split not in ("train", "val"):
            raise ValueError(f"split = {split!r}: allowed 'train' or 'val'")
        return self.train if split == "train" else self.val

    def batch(self, split: str, batch_size: int, block_size: int,
              gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Random windows ``(x, y)`` of shape (batch_size, block_size); y is x shifted by one."""
        data = self._split(split)
        if len(data) <= block_size + 1:
            raise ValueError(f"block_size = {block_size} is too long for the {split} split "
                             f"({len(data)} characters)")
        ix = torch.randint(len(data) - block_size - 1, (batch_size,), generator=gen)
        x = torch.stack([data[i:i + block_size] for i in ix.tolist()])
        y = torch.stack([data[i + 1:i + 1 + block_size] for i in ix.tolist()])
        return x, y

    def fixed_batches(self, split: str, n_batches: int, batch_size: int, block_size: int,
                      seed: int = 1234) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The same ``n_batches`` batches for every call with the same arguments (evaluation)."""
        g = torch.Generator().manual_seed(int(seed))
        return [self.batch(split, batch_size, block_size, g) for _ in range(int(n_batches))]
