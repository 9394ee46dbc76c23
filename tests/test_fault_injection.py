"""Fault injection: kill -9 ``report``, ``simulate`` and
``characterize`` at several points and check that every output folder is the old complete
set, the new complete set, or absent, and that no ngspice process or temporary folder
survives.

How: ``tests/fault_inject.py`` runs the command line and SIGKILLs itself just before its K-th
filesystem change under the output's parent folder (K spread over all the changes a full run
makes, counted first), so the kill points cover every write, rename and removal of the output
path. ``characterize`` is also killed while its ngspice workers run (``ngspice -b`` backend,
whose temporary folders are on disk).

A folder holding ``MANIFEST.json`` (written last by :func:`gaincell._io.atomic_folder`) is
complete: the manifest lists every file, its size and digest. On commit f5ba4a6 no command
wrote its folder as one set (a kill could leave a mixed old/new set) and the ngspice workers
outlived a killed ``characterize``.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from spice_support import require_spice

HERE = Path(__file__).resolve().parent

#: command -> (old-run options, new-run options); the output folder is added as --out.
COMMANDS = {
    "report": (["--tokens", "100", "--no-figures"], ["--tokens", "200", "--no-figures"]),
    "simulate": (["--tokens", "16", "--seed", "1"], ["--tokens", "24", "--seed", "2"]),
    "characterize": (["--v-store-points", "5", "--v-in-points", "2", "--t-float", "1e-6"],
                     ["--v-store-points", "6", "--v-in-points", "2", "--t-float", "1e-6"]),
}
#: Kill points per command (spread over the run's filesystem changes).
N_POINTS = 5


def _env(tmpdir: Path) -> dict:
    return dict(os.environ, PYTHONPATH=str(HERE.parent) + os.pathsep
                + os.environ.get("PYTHONPATH", ""), TMPDIR=str(tmpdir), MPLBACKEND="Agg")


def _run(root: Path, k: int, args: list[str], tmpdir: Path, count: Path | None = None):
    """Run gaincell ARGS under the fault injector (kill before change K; 0: never)."""
    cmd = [sys.executable, str(HERE / "fault_inject.py"), str(root), str(k),
           str(count or root / "count.txt"), "--", *args]
    return subprocess.run(cmd, env=_env(tmpdir), capture_output=True, text=True,
                          start_new_session=True, timeout=600)


def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _complete(folder: Path) -> bool:
    """The folder's files are exactly those its MANIFEST.json lists, with their sizes and
    SHA-256 digests (a mixed set fails the digests)."""
    from gaincell._io import folder_is_complete

    return folder_is_complete(folder)


def _check_folder(out: Path, old: dict[str, str]) -> str:
    """'absent', 'old' or 'new'; AssertionError for anything else (a mixed or partial set)."""
    if not os.path.lexists(out):
        return "absent"
    assert out.is_dir() and not out.is_symlink(), f"{out} is not a folder"
    now = _snapshot(out)
    if now == old:
        return "old"
    assert _complete(out), f"{out} is neither the old set nor a complete new one: {now}"
    return "new"


def _session_alive(sid: int) -> list[int]:
    """Live processes of session ``sid`` (the killed command's workers would be there)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        rest = st[st.rindex(")") + 2:].split()
        if rest[0] not in ("Z", "X") and int(rest[3]) == sid:
            out.append(int(d))
    return out


def _leftovers(parent: Path, tmpdir: Path) -> list[str]:
    names = [p.name for p in parent.iterdir() if p.name.endswith((".part", ".old"))]
    return names + [p.name for p in tmpdir.glob("gaincell_spice_*")]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_kill_9_leaves_old_new_or_absent_set(command, tmp_path):
    if command == "characterize":
        require_spice()
    old_opts, new_opts = COMMANDS[command]
    root = tmp_path / "work"
    root.mkdir()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    out = root / "out"
    base = [command, *old_opts, "--out", str(out)]
    new = [command, *new_opts, "--out", str(out)]
    r = _run(root, 0, base, tmpdir)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (out / "MANIFEST.json").is_file(), f"`gaincell {command}` wrote no manifest"
    old = _snapshot(out)
    # count the filesystem changes of the new run (on a copy of the old set)
    probe = tmp_path / "probe"
    probe.mkdir()
    subprocess.run(["cp", "-a", str(out), str(probe / "out")], check=True)
    r = _run(probe, 0, [command, *new_opts, "--out", str(probe / "out")], tmpdir)
    assert r.returncode == 0, r.stderr[-2000:]
    n = int((probe / "count.txt").read_text())
    assert n >= 3, n
    points = sorted({1, n, *(1 + round(i * (n - 1) / (N_POINTS - 1))
                             for i in range(N_POINTS))})
    for k in points:
        r = _run(root, k, new, tmpdir)
        assert r.returncode == -signal.SIGKILL, (k, r.returncode, r.stderr[-1000:])
        if _check_folder(out, old) == "new":   # the new set is in: later kills start from it
            old = _snapshot(out)
    # a later, complete run: the new set, and every partial folder of the killed runs gone
    r = _run(root, 0, new, tmpdir)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _complete(out)
    assert not _leftovers(root, tmpdir), _leftovers(root, tmpdir)


@pytest.mark.spice
@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_kill_characterize_while_ngspice_runs(sig, tmp_path):
    """No ngspice process survives a killed ``characterize``; the next run removes its
    temporary folders; the output folder is untouched or complete."""
    require_spice("subprocess")
    root = tmp_path / "work"
    root.mkdir()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    out = root / "out"
    args = ["characterize", "--backend", "subprocess", "--v-store-points", "50",
            "--v-in-points", "51", "--out", str(out)]
    p = subprocess.Popen([sys.executable, "-m", "gaincell", *args], env=_env(tmpdir),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    try:
        t0 = time.monotonic()
        while not list(tmpdir.glob("gaincell_spice_*")) and time.monotonic() - t0 < 120:
            assert p.poll() is None, "characterize ended before its ngspice run"
            time.sleep(0.05)
        assert list(tmpdir.glob("gaincell_spice_*")), "no ngspice run started"
        os.kill(p.pid, sig)
        p.wait(30)
        t0 = time.monotonic()
        while _session_alive(p.pid) and time.monotonic() - t0 < 15:
            time.sleep(0.1)
        survivors = _session_alive(p.pid)
        for q in survivors:
            os.kill(q, signal.SIGKILL)
        assert not survivors, f"processes {survivors} outlived the killed characterize"
    finally:
        if p.poll() is None:
            p.kill()
    assert not os.path.lexists(out) or _complete(out)
    small = ["characterize", "--backend", "subprocess", "--v-store-points", "5",
             "--v-in-points", "2", "--t-float", "1e-6", "--out", str(out)]
    r = _run(root, 0, small, tmpdir)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not _leftovers(root, tmpdir), _leftovers(root, tmpdir)
