"""Output files, the one place for them: atomic single files, atomic folders, strict JSON.

Rules every command's output follows:

- a reader never sees a half-written file: a file is written under a temporary name in its
  destination folder (same filesystem) and renamed onto its target when complete;
- a multi-file output (a report, a simulation) is written as a whole folder and swapped in
  as a set (:func:`atomic_folder`): after any interruption the target is the old complete
  set, the new complete set, or absent;
- outputs replace only what gaincell may replace: a regular file, or a folder that is empty or
  that gaincell wrote (it holds ``MANIFEST_NAME``). A symbolic link, a device node, a FIFO or a
  socket at the target is refused with a clear error, never replaced or followed;
- temporary names carry the writer's process id, so a later run removes the stale partial
  files and folders of writers that died (``kill -9``), and only those.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = [
    "MANIFEST_NAME",
    "AtomicStream",
    "atomic_folder",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "atomic_write_with",
    "check_output_target",
    "pid_alive",
    "remove_stale",
    "folder_is_complete",
    "save_figure",
    "to_jsonable",
]

#: File written last into every folder made by :func:`atomic_folder`: the list of its files
#: with their sizes and SHA-256 digests. A folder holding it was written by gaincell (and is
#: complete: :func:`folder_is_complete` checks it).
MANIFEST_NAME = "MANIFEST.json"

_SPECIAL = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
            stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFLNK: "a symbolic link"}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_output_target(path: str | os.PathLike, kind: str = "file") -> Path:
    """Refuse an output target gaincell must not replace; return it as a ``Path``.

    ``kind="file"``: ``path`` must be absent or a regular file. ``kind="folder"``: absent, an
    empty folder, or a folder gaincell wrote (holding ``MANIFEST_NAME``). Symbolic links,
    device nodes, FIFOs and sockets are refused for both (``ValueError`` naming the path).
    The parent folder must not be a special file either.
    """
    if kind not in ("file", "folder"):
        raise ValueError(f"kind = {kind!r} is invalid: allowed 'file' or 'folder'")
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    fmt = stat.S_IFMT(st.st_mode)
    if fmt in _SPECIAL:
        raise ValueError(f"{path} is {_SPECIAL[fmt]}: refusing to replace it; allowed a new "
                         f"path, a regular file or a folder gaincell wrote")
    if kind == "file":
        if fmt != stat.S_IFREG:
            raise ValueError(f"{path} exists and is not a regular file: allowed a new path or "
                             f"a regular file")
        return path
    if fmt != stat.S_IFDIR:
        raise ValueError(f"{path} exists and is not a folder: allowed a new path or a folder "
                         f"gaincell wrote")
    if not any(True for _ in path.iterdir()):
        return path
    if not (path / MANIFEST_NAME).is_file():
        raise ValueError(f"{path} is a folder gaincell did not write (no {MANIFEST_NAME}): "
                         f"refusing to replace its contents; allowed a new or empty folder, "
                         f"or one written by gaincell")
    extra = _unlisted(path)
    if extra:
        raise ValueError(f"{path} holds files gaincell did not write ({', '.join(extra[:5])}"
                         f"{', ...' if len(extra) > 5 else ''}, not in its {MANIFEST_NAME}): "
                         f"refusing to replace them; move them away or choose another folder")
    return path


def _unlisted(path: Path) -> list[str]:
    """Files and folders in ``path`` that its manifest does not account for (sorted)."""
    try:
        listed = {f["name"] for f in json.loads(
            (path / MANIFEST_NAME).read_text(encoding="utf-8"))["files"]}
    except (OSError, ValueError, KeyError, TypeError):
        return [MANIFEST_NAME + " (unreadable)"]
    dirs = {str(Path(n).parent) for n in listed} | {
        str(p) for n in listed for p in Path(n).parents}
    out = []
    for p in path.rglob("*"):
        rel = str(p.relative_to(path))
        if rel == MANIFEST_NAME or rel in listed or (p.is_dir() and rel in dirs):
            continue
        out.append(rel)
    return sorted(out)


_STALE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.(part|old)$")


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` runs (this process included); a zombie counts as dead."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Linux: the process has exited and awaits its parent's ``wait`` (state Z or X)."""
    try:
        st = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return st[st.rindex(")") + 2:][:1] in ("Z", "X")


def remove_stale(parent: str | os.PathLike, name: str | None = None) -> None:
    """Remove the ``.NAME.PID.*.part|old`` leftovers in ``parent`` whose writer is dead (of
    the output ``name`` only, or of any output when ``name`` is None)."""
    parent = Path(parent)
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    for p in entries:
        m = _STALE.match(p.name)
        if not m or (name is not None and m["name"] != name) or pid_alive(int(m["pid"])):
            continue
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink()
        except OSError:
            pass


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


def atomic_write_with(path: str | os.PathLike, writer: Callable[[str], None]) -> Path:
    """Call ``writer(tmp_path)`` to produce the file, then rename it onto ``path``.

    The temporary file lives in the destination folder (same filesystem, so the rename is
    atomic) and is removed if ``writer`` raises or the process is interrupted. ``path`` must
    be new or a regular file (see :func:`check_output_target`).
    """
    path = check_output_target(path, "file")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        os.chmod(tmp, 0o666 & ~_umask())   # mkstemp creates 0600; give the usual mode
        check_output_target(path, "file")  # nothing special appeared meanwhile
        os.replace(tmp, path)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    return path


class AtomicStream:
    """A text file written piece by piece (rows as they are computed) and renamed onto
    ``path`` by :meth:`commit` (after an interruption too: what was written so far); removed
    by :meth:`discard`. ``path`` must be new or a regular file (:func:`check_output_target`);
    the temporary file carries the writer's pid, so a later writer removes it if this one
    dies. ``file`` is the open text file (UTF-8)."""

    def __init__(self, path: str | os.PathLike, newline: str | None = ""):
        self.path = check_output_target(path, "file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale(self.path.parent, self.path.name)
        self.tmp = self.path.with_name(f"{_temp_prefix(self.path)}stream.part")
        self.file = open(self.tmp, "w", encoding="utf-8", newline=newline)

    def commit(self) -> Path:
        """Close the file and rename it onto ``path``; returns ``path``."""
        self.file.close()
        os.chmod(self.tmp, 0o666 & ~_umask())
        check_output_target(self.path, "file")   # nothing special appeared meanwhile
        os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        """Close the file and remove it; ``path`` is untouched."""
        self.file.close()
        if os.path.lexists(self.tmp):
            os.unlink(self.tmp)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    def w(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    return atomic_write_with(path, w)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    def w(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
    return atomic_write_with(path, w)


def to_jsonable(x: Any) -> Any:
    """``x`` as plain JSON data: NumPy scalars and arrays to Python numbers and lists, tuples
    to lists, paths to strings; non-finite floats to ``None`` (strict JSON has no NaN or
    Infinity). Anything else unknown becomes its ``str``."""
    import numpy as np

    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, np.generic):
        return to_jsonable(x.item())
    if isinstance(x, bool) or x is None or isinstance(x, (int, str)):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, os.PathLike):
        return os.fspath(x)
    return str(x)


def atomic_write_json(path: str | os.PathLike, obj: Any, indent: int | None = 1) -> Path:
    """Write ``obj`` as strict JSON (see :func:`to_jsonable`) to ``path`` atomically."""
    text = json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def save_figure(fig, path: str | os.PathLike, dpi: int = 130) -> Path:
    """Save a matplotlib figure atomically; the format follows the suffix of ``path``."""
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"{path}: figure format {fmt!r} is invalid: allowed png, svg, pdf")
    return atomic_write_with(path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi))


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def folder_is_complete(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a complete set written by :func:`atomic_folder`: its files are
    exactly those ``MANIFEST_NAME`` lists, with the listed sizes and SHA-256 digests."""
    path = Path(path)
    try:
        listed = json.loads((path / MANIFEST_NAME).read_text(encoding="utf-8"))["files"]
        want = {f["name"]: (f["bytes"], f.get("sha256")) for f in listed}
    except (OSError, ValueError, KeyError, TypeError):
        return False
    have = {str(p.relative_to(path)): p for p in path.rglob("*")
            if p.is_file() and p.name != MANIFEST_NAME}
    if set(have) != set(want):
        return False
    return all(have[n].stat().st_size == b and (h is None or _sha256(have[n]) == h)
               for n, (b, h) in want.items())


_RENAME_EXCHANGE = 2   # linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False where the
    system or the filesystem cannot, and the caller then falls back to two renames."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        f = libc.renameat2
    except (OSError, AttributeError):
        return False
    f.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = f(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Write a multi-file output as one set.

    Yields a new temporary folder beside ``path``; write every file into it (plain writes are
    fine: nobody reads it). When the block ends without error, ``MANIFEST_NAME`` (the list of
    files, sizes included) is written last and the folder replaces ``path``: on Linux by one
    atomic exchange of the two folders (``renameat2``; ``path`` is never absent), elsewhere
    by renames (the old set moved aside, the new set moved in). The old set is then removed.
    After an interruption at any point, ``path`` holds the old complete set, the new complete
    set, or (without the atomic exchange) nothing, and
    a later call removes the partial folders that dead writers left. If the block raises, the
    temporary folder is removed and ``path`` is untouched.

    ``path`` must be new, an empty folder, or a folder gaincell wrote (see
    :func:`check_output_target`).
    """
    path = check_output_target(path, "folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(path.parent, path.name)
    tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".part", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private; outputs are ordinary folders
    old: Path | None = None
    try:
        yield tmp
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        manifest = {"files": [{"name": str(p.relative_to(tmp)), "bytes": p.stat().st_size,
                               "sha256": _sha256(p)}
                              for p in files if p.name != MANIFEST_NAME]}
        (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n",
                                         encoding="utf-8")
        check_output_target(path, "folder")
        if os.path.lexists(path) and _exchange(tmp, path):
            old = tmp   # one atomic swap: ``path`` was never absent; tmp now holds the old set
        else:
            if os.path.lexists(path):
                old = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".old",
                                            dir=path.parent))
                os.rmdir(old)
                os.rename(path, old)
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old != tmp and old.exists() and not os.path.lexists(path):
            os.rename(old, path)   # put the old set back
            old = None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
