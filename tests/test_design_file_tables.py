"""A design file is read by one reader, and rewriting it (save_toml, characterize) keeps its
[system] and [meta] tables."""

import pytest
from spice_support import require_spice

import gaincell as gc
from gaincell.params import dumps_toml, keep_tables, load_toml, read_design_file, save_toml
from gaincell.system import load_design

SYSTEM = {"array": {"cell_area": 2.5e-12}, "mode": "predicted"}
META = {"name": "my design", "source": "a user's notes"}


def _design(tmp_path, **kw):
    cfg = gc.AttentionConfig.leroux2025(n_heads=4)
    p = tmp_path / "d.toml"
    p.write_text(dumps_toml(cfg, system=SYSTEM, meta=META))
    return cfg, p


def test_dumps_with_tables_reads_back_through_both_loaders(tmp_path):
    cfg, p = _design(tmp_path)
    assert load_toml(p) == cfg
    cfg2, spec = load_design(p)
    assert cfg2 == cfg
    assert spec.name == "my design" and spec.mode == "predicted"
    assert read_design_file(p)["system"] == SYSTEM


def test_save_toml_keeps_the_tables_of_the_file_it_rewrites(tmp_path):
    cfg, p = _design(tmp_path)
    new = cfg.replace(window=512)
    save_toml(new, p)
    data = read_design_file(p)
    assert data["system"] == SYSTEM and data["meta"] == META
    assert load_toml(p) == new
    # given tables replace them; {} drops them
    save_toml(new, p, meta={"name": "renamed"})
    data = read_design_file(p)
    assert data["meta"] == {"name": "renamed"} and data["system"] == SYSTEM
    save_toml(new, p, system={}, meta={})
    assert set(read_design_file(p)) == {"attention", "device"}
    # a new file gets none
    q = save_toml(new, tmp_path / "new.toml")
    assert set(read_design_file(q)) == {"attention", "device"}


def test_save_toml_refuses_a_broken_file_to_rewrite_and_leaves_it(tmp_path):
    p = tmp_path / "d.toml"
    p.write_text("[system\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        save_toml(gc.AttentionConfig(), p)
    assert p.read_text() == "[system\n"


def test_keep_tables_merges_under_the_files_own_keys():
    cfg = gc.AttentionConfig()
    own = dumps_toml(cfg, system={"array": {"c_store": 3e-15}}, meta={"kind": "fit"})
    text = keep_tables(own, {"system": SYSTEM, "meta": META})
    from gaincell.params import tomllib

    data = tomllib.loads(text)
    assert data["system"] == {"array": {"cell_area": 2.5e-12, "c_store": 3e-15},
                              "mode": "predicted"}
    assert data["meta"] == {**META, "kind": "fit"}
    assert gc.AttentionConfig.from_dict(data) == cfg
    text = keep_tables(own, {"meta": {"kind": "old"}})
    assert tomllib.loads(text)["meta"] == {"kind": "fit"}


@pytest.mark.parametrize("content, match", [
    (None, "no such design file"),
    ("folder", "cannot read the design file"),
    (b"[attention\n", "not valid TOML"),
    (b"\xff\xfe[attention]\n", "not UTF-8"),
    (b"[atention]\nwindow = 3\n", "unknown table"),
    (b"system = 5\n", r"\[system\]"),
])
def test_both_loaders_give_the_same_clear_error(tmp_path, content, match):
    p = tmp_path / "d.toml"
    if content == "folder":
        p.mkdir()
    elif content is not None:
        p.write_bytes(content)
    msgs = []
    for load in (load_toml, load_design):
        with pytest.raises(ValueError, match=match) as e:
            load(p)
        msgs.append(str(e.value))
        assert str(p) in msgs[-1] and "\n" not in msgs[-1]
    assert msgs[0] == msgs[1]


@pytest.mark.spice
def test_characterize_keeps_the_designs_system_and_meta(tmp_path, capsys):
    require_spice()
    from gaincell.cli import main

    _, p = _design(tmp_path)
    out = tmp_path / "ch"
    rc = main(["characterize", "--config", str(p), "--out", str(out), "--v-store-points", "6",
               "--v-in-points", "3", "--t-float", "5"])
    assert rc == 0, capsys.readouterr().err
    data = read_design_file(out / "characterization.toml")
    assert data["system"]["mode"] == "predicted"
    assert data["system"]["array"]["cell_area"] == 2.5e-12   # the generic kit has no area
    assert "c_store" in data["system"]["array"] and "spice_energy" in data["system"]
    meta = data["meta"]
    assert meta["name"] == "my design" and meta["source"] == "a user's notes"
    assert meta["derived_from"] == "d.toml"
    assert meta["kind"] == "gaincell SPICE characterization"
    cfg, spec = load_design(out / "characterization.toml")
    assert spec.name == "my design" and cfg.n_heads == 4
    # characterizing the result again replaces the provenance, keeps the name
    out2 = tmp_path / "ch2"
    assert main(["characterize", "--config", str(out / "characterization.toml"), "--out",
                 str(out2), "--v-store-points", "6", "--v-in-points", "3",
                 "--t-float", "5"]) == 0
    meta2 = read_design_file(out2 / "characterization.toml")["meta"]
    assert meta2["name"] == "my design" and "source" not in meta2
    assert meta2["derived_from"] == "characterization.toml"
