"""Hardening of gaincell/_io.py beyond tests/test_io.py: the folder swap is one atomic
exchange on Linux (the target is never absent), the manifest carries digests so a mixed or
altered set is detected, and zombie writers count as dead for the stale-file cleanup."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gaincell import _io
from gaincell._io import MANIFEST_NAME, atomic_folder, folder_is_complete


def test_manifest_has_digests_and_detects_mixed_sets(tmp_path):
    out = tmp_path / "out"
    with atomic_folder(out) as d:
        (d / "a.txt").write_text("one")
        (d / "sub").mkdir()
        (d / "sub" / "b.txt").write_text("two")
    files = json.loads((out / MANIFEST_NAME).read_text())["files"]
    assert {f["name"] for f in files} == {"a.txt", "sub/b.txt"}
    assert all(len(f["sha256"]) == 64 for f in files)
    assert folder_is_complete(out)
    (out / "a.txt").write_text("ONE")          # same size, other content: a mixed set
    assert not folder_is_complete(out)
    (out / "a.txt").write_text("one")
    (out / "extra.txt").write_text("x")        # a file the manifest does not list
    assert not folder_is_complete(out)
    assert not folder_is_complete(tmp_path / "absent")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux")
def test_folder_swap_never_leaves_the_target_absent(tmp_path, monkeypatch):
    out = tmp_path / "out"
    with atomic_folder(out) as d:
        (d / "v").write_text("1")
    renames = []
    real = os.rename
    monkeypatch.setattr(os, "rename", lambda a, b: (renames.append((a, b)), real(a, b)))
    with atomic_folder(out) as d:
        (d / "v").write_text("2")
    assert (out / "v").read_text() == "2" and folder_is_complete(out)
    assert renames == []   # swapped by one exchange, not moved aside and back in
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_zombie_writer_counts_as_dead(tmp_path):
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    import time

    t0 = time.monotonic()
    while not _io._zombie(p.pid) and time.monotonic() - t0 < 10:
        time.sleep(0.05)
    assert _io._zombie(p.pid), "an exited, unwaited child shows state Z in /proc"
    stale = tmp_path / f".out.{p.pid}.abc.part"
    stale.mkdir()
    with atomic_folder(tmp_path / "out") as d:
        (d / "x").write_text("x")
    assert not stale.exists()
    p.wait()


def test_folder_with_files_gaincell_did_not_write_is_not_replaced(tmp_path):
    out = tmp_path / "out"
    with atomic_folder(out) as d:
        (d / "report.md").write_text("r")
        (d / "figs").mkdir()
        (d / "figs" / "a.png").write_bytes(b"png")
    (out / "my_notes.txt").write_text("precious")
    with pytest.raises(ValueError, match="my_notes.txt"):
        with atomic_folder(out) as d:
            (d / "report.md").write_text("new")
    assert (out / "my_notes.txt").read_text() == "precious"
    (out / "my_notes.txt").unlink()
    with atomic_folder(out) as d:   # exactly what gaincell wrote: replaced
        (d / "report.md").write_text("new")
    assert (out / "report.md").read_text() == "new" and not (out / "figs").exists()
