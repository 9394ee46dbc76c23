import os
import stat

import pytest

from gaincell._io import atomic_write_text, atomic_write_with


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    def broken(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        atomic_write_with(tmp_path / "out.txt", broken)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_with_usual_mode(tmp_path):
    p = atomic_write_text(tmp_path / "a.txt", "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask


# -- targets gaincell must not replace ------------------------------------------------------

import json  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from gaincell._io import (  # noqa: E402
    MANIFEST_NAME,
    atomic_folder,
    atomic_write_json,
    check_output_target,
)


def test_symlink_target_is_refused_and_its_target_kept(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "out.txt"
    link.symlink_to(victim)
    with pytest.raises(ValueError, match="symbolic link"):
        atomic_write_text(link, "new")
    assert link.is_symlink() and victim.read_text() == "precious"


def test_fifo_target_is_refused(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="FIFO"):
        atomic_write_text(fifo, "x")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root")
def test_device_node_target_is_refused(tmp_path):
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    with pytest.raises(ValueError, match="character device"):
        atomic_write_text(node, "x")
    with pytest.raises(ValueError, match="character device"):
        with atomic_folder(node):
            pass
    assert stat.S_ISCHR(os.lstat(node).st_mode)


def test_folder_not_written_by_gaincell_is_refused(tmp_path):
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.tex").write_text("work")
    with pytest.raises(ValueError, match="did not write"):
        with atomic_folder(mine):
            pass
    assert (mine / "chapter1.tex").read_text() == "work"
    with pytest.raises(ValueError, match="not a regular file"):
        check_output_target(mine, "file")


def test_atomic_folder_swaps_whole_sets(tmp_path):
    out = tmp_path / "rep"
    with atomic_folder(out) as d:
        (d / "a.txt").write_text("1")
        (d / "b.txt").write_text("1")
    assert sorted(p.name for p in out.iterdir()) == sorted(["a.txt", "b.txt", MANIFEST_NAME])
    names = [f["name"] for f in json.loads((out / MANIFEST_NAME).read_text())["files"]]
    assert names == ["a.txt", "b.txt"]
    with atomic_folder(out) as d:      # the new set replaces the old one entirely
        (d / "c.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == sorted(["c.txt", MANIFEST_NAME])
    with pytest.raises(RuntimeError):
        with atomic_folder(out) as d:  # a failing writer leaves the old set untouched
            (d / "half.txt").write_text("x")
            raise RuntimeError("boom")
    assert sorted(p.name for p in out.iterdir()) == sorted(["c.txt", MANIFEST_NAME])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


_KILLED_WRITER = r"""
import os, sys
from gaincell._io import atomic_folder, atomic_write_with
out = sys.argv[1]
with atomic_folder(out + "/rep") as d:
    (d / "a.txt").write_text("new")
    def w(tmp):
        open(tmp, "w").write("half")
        os.kill(os.getpid(), 9)
    atomic_write_with(out + "/single.txt", w)
"""


def test_kill_9_leaves_old_set_and_later_run_cleans_up(tmp_path):
    with atomic_folder(tmp_path / "rep") as d:
        (d / "a.txt").write_text("old")
    r = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(tmp_path)])
    assert r.returncode == -9
    assert (tmp_path / "rep" / "a.txt").read_text() == "old"
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("."))
    assert len(leftovers) == 2          # the killed writer's partial folder and file
    with atomic_folder(tmp_path / "rep") as d:
        (d / "a.txt").write_text("new")
    atomic_write_text(tmp_path / "single.txt", "ok")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "single.txt"]
    assert (tmp_path / "rep" / "a.txt").read_text() == "new"


def test_json_is_strict(tmp_path):
    import numpy as np

    p = atomic_write_json(tmp_path / "r.json",
                          {"inf": math.inf, "nan": float("nan"), "arr": np.arange(3),
                           "x": np.float32(1.5), "t": (1, 2)})
    text = p.read_text()
    assert "Infinity" not in text and "NaN" not in text
    assert json.loads(text) == {"inf": None, "nan": None, "arr": [0, 1, 2], "x": 1.5,
                                "t": [1, 2]}
