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
