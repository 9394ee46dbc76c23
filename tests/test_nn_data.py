"""The shipped corpus: model-demo needs no --data, and a bad corpus file gets a clear error."""

import hashlib

import pytest

pytest.importorskip("torch")

from gaincell.commands.model_demo import register  # noqa: E402
from gaincell.nn.data import CharData, load_corpus  # noqa: E402
from gaincell.nn.pipeline import PipelineSettings  # noqa: E402

#: SHA-256 of tiny Shakespeare as shipped in the paper's repository (1,115,394 characters).
TINY_SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def test_shipped_corpus_is_tiny_shakespeare():
    text = load_corpus()
    assert len(text) == 1_115_394
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == TINY_SHAKESPEARE_SHA256
    assert text.startswith("First Citizen:")
    d = CharData.from_file(max_chars=5000)
    assert d.decode(d.encode("First Citizen")) == "First Citizen"


def test_model_demo_defaults_to_the_shipped_corpus():
    import argparse

    sub = argparse.ArgumentParser().add_subparsers()
    register(sub)
    args = sub.choices["model-demo"].parse_args([])
    assert args.data is None and PipelineSettings().data_path is None


def test_bad_corpus_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_corpus(tmp_path / "missing.txt")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9 " * 100)
    with pytest.raises(ValueError, match="latin1.txt.*not UTF-8"):
        load_corpus(bad)
