"""Helper of tests/test_fault_injection.py: run the gaincell command line and kill -9 itself
just before its K-th filesystem change under a folder.

Usage: ``python fault_inject.py ROOT K COUNT_FILE -- gaincell-args...``. Every file opened
for writing, created, renamed, replaced or removed under ROOT by this process counts as one
event; at event K (1-based) the process sends itself SIGKILL, before the change happens.
K = 0 never kills; the number of events is then written to COUNT_FILE at exit.
"""

import builtins
import io
import os
import signal
import sys

ROOT = os.path.abspath(sys.argv[1])
K = int(sys.argv[2])
COUNT_FILE = sys.argv[3]
ARGS = sys.argv[sys.argv.index("--") + 1:]
ME = os.getpid()
_n = 0


def _under_root(path) -> bool:
    try:
        p = os.path.abspath(os.fsdecode(path))
    except TypeError:   # a file descriptor
        return False
    return p == ROOT or p.startswith(ROOT + os.sep)


def _event(*paths) -> None:
    global _n
    if os.getpid() != ME or not any(_under_root(p) for p in paths):
        return
    _n += 1
    if _n == K:
        os.kill(ME, signal.SIGKILL)


def _wrap_open(real):
    def f(file, mode="r", *a, **kw):
        if any(c in mode for c in "wxa+"):
            _event(file)
        return real(file, mode, *a, **kw)
    return f


def _wrap_os_open(real):
    def f(path, flags, *a, **kw):
        if kw.get("dir_fd") is None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            _event(path)
        return real(path, flags, *a, **kw)
    return f


def _wrap(real, n_paths):
    def f(*a, **kw):
        if kw.get("dir_fd") is None and kw.get("src_dir_fd") is None:
            _event(*a[:n_paths])
        return real(*a, **kw)
    return f


builtins.open = _wrap_open(builtins.open)
io.open = _wrap_open(io.open)
os.open = _wrap_os_open(os.open)
for name, n in (("rename", 2), ("replace", 2), ("mkdir", 1), ("rmdir", 1), ("unlink", 1),
                ("remove", 1)):
    setattr(os, name, _wrap(getattr(os, name), n))

if __name__ == "__main__":
    from gaincell.cli import main

    try:
        rc = main(ARGS)
    finally:
        if K == 0:
            with io.open(COUNT_FILE, "w") as fh:
                fh.write(str(_n))
    sys.exit(rc)
