"""ngspice workers die with their parent, carry their own time limit, and leave no temporary
folder behind (issue 15, defects 3 and 10).

On commit f5ba4a6 these fail: the time limit lived only in the parent, so a worker of a
parent killed with SIGKILL/SIGTERM/SIGHUP ran on at 100 % CPU (``test_workers_die_with_*``),
a stopped parent's worker never ended (``test_worker_carries_its_own_time_limit``), and the
``ngspice -b`` backend's ``TemporaryDirectory`` was never removed when the parent killed its
worker at the timeout (``test_timeout_leaves_no_temporary_folder``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from spice_support import require_spice

from gaincell.spice import runner
from gaincell.spice.errors import SpiceTimeout
from gaincell.spice.netlist import Netlist

HERE = Path(__file__).resolve().parent
BACKENDS = ["shared", "subprocess"]
DIVIDER = "* divider\nv1 a 0 0.9\nr1 a b 1k\nr2 b 0 2k\n.op\n.end\n"
sys.path.insert(0, str(HERE))
from spice_long_job import LONG  # noqa: E402


def _proc_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (ppid, state, command name) from /proc."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2:].split()
        out[int(d)] = (int(rest[1]), rest[0], name)
    return out


def descendants(pid: int) -> set[int]:
    table = _proc_table()
    found, frontier = set(), {pid}
    while frontier:
        kids = {p for p, (pp, _, _) in table.items() if pp in frontier} - found
        found |= kids
        frontier = kids
    return found


def alive(pids) -> set[int]:
    table = _proc_table()
    return {p for p in pids if p in table and table[p][1] not in ("Z", "X")}


def start_job(backend: str, timeout_s: float, tmpdir: Path):
    env = dict(os.environ, PYTHONPATH=str(HERE.parent) + os.pathsep
               + os.environ.get("PYTHONPATH", ""), TMPDIR=str(tmpdir))
    p = subprocess.Popen([sys.executable, str(HERE / "spice_long_job.py"), backend,
                          str(timeout_s)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env=env, text=True, start_new_session=True)
    assert p.stdout.readline().strip() == "started"
    want = "ngspice" if backend == "subprocess" else None
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60:   # until the worker (and ngspice) runs
        kids = descendants(p.pid)
        names = {_proc_table().get(k, (0, "", ""))[2] for k in kids}
        if kids and (want is None or want in names):
            time.sleep(0.5)   # let the worker set its limits and start ngspice
            return p, descendants(p.pid)
        time.sleep(0.1)
    p.kill()
    raise AssertionError("the ngspice worker did not start")


def wait_gone(pids, limit_s: float = 15.0) -> set[int]:
    t0 = time.monotonic()
    while alive(pids) and time.monotonic() - t0 < limit_s:
        time.sleep(0.1)
    return alive(pids)


@pytest.mark.spice
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("backend", BACKENDS)
def test_workers_die_with_their_parent(backend, sig, tmp_path):
    require_spice(backend)
    p, kids = start_job(backend, 300.0, tmp_path)
    assert kids
    try:
        os.kill(p.pid, sig)
        p.wait(10)
        survivors = wait_gone(kids)
        assert not survivors, f"ngspice workers {survivors} outlived their parent ({sig!r})"
    finally:
        for k in alive(kids):
            os.kill(k, signal.SIGKILL)


@pytest.mark.spice
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("backend", BACKENDS)
def test_worker_carries_its_own_time_limit(backend, tmp_path):
    """A stopped (hung) parent cannot enforce its timeout; the worker ends itself."""
    require_spice(backend)
    p, kids = start_job(backend, 1.0, tmp_path)
    try:
        os.kill(p.pid, signal.SIGSTOP)
        survivors = wait_gone(kids, 1.0 + runner.CHILD_GRACE_S + 10.0)
        assert not survivors, f"workers {survivors} ran past their own time limit"
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(10)
        for k in alive(kids):
            os.kill(k, signal.SIGKILL)


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Point tempfile (and the forked workers) at a private folder."""
    d = tmp_path / "tmp"
    d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(d))
    return d


@pytest.mark.spice
def test_timeout_leaves_no_temporary_folder(private_tmp):
    require_spice("subprocess")
    with pytest.raises(SpiceTimeout):
        runner.simulate(Netlist(LONG, "long.cir", ["v(b)"]), timeout_s=1.0,
                        backend="subprocess")
    assert not list(private_tmp.glob("gaincell_spice_*"))
    runner.simulate(Netlist(DIVIDER, "d.cir", ["v(b)"]), backend="subprocess")
    assert not list(private_tmp.glob("gaincell_spice_*"))


@pytest.mark.spice
def test_stale_temporary_folders_of_dead_workers_are_removed(private_tmp):
    require_spice("subprocess")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = private_tmp / f"gaincell_spice_{dead.pid}_abc"
    (stale / "sub").mkdir(parents=True)
    mine = private_tmp / f"gaincell_spice_{os.getpid()}_keep"
    mine.mkdir()
    runner.simulate(Netlist(DIVIDER, "d.cir", ["v(b)"]), backend="subprocess")
    assert not stale.exists()
    assert mine.exists()   # a live process's folder is not touched


@pytest.mark.spice
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_parent_leaves_temp_folder_that_next_run_removes(tmp_path):
    require_spice("subprocess")
    p, kids = start_job("subprocess", 300.0, tmp_path)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(10)
    survivors = wait_gone(kids)
    for k in survivors:
        os.kill(k, signal.SIGKILL)
    assert not survivors
    env = dict(os.environ, PYTHONPATH=str(HERE.parent), TMPDIR=str(tmp_path))
    subprocess.run([sys.executable, "-c",
                    "from gaincell.spice.runner import simulate; "
                    "from gaincell.spice.netlist import Netlist; "
                    f"simulate(Netlist({DIVIDER!r}, 'd.cir', ['v(b)']), backend='subprocess')"],
                   env=env, check=True)
    assert not list(tmp_path.glob("gaincell_spice_*"))
