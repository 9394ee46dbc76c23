"""Study files: every mistake fails before any work, naming the key and the allowed range."""

import numpy as np
import pytest

from gaincell.cli import main
from gaincell.explore.study import build_study, load_study

GOOD = """
[study]
name = "levels"
sample = "grid"
seed = 1
chips = 2

[workload]
kind = "gaussian"
tokens = 16
heads = 1

[space]
"device.kv_levels" = [4, 8]
window = [128, 256]
"system.technology_nm" = [28, 65]
"system.array.cell_area" = [1e-12, 2e-12]
"""


def test_a_study_file(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(GOOD)
    s = load_study(p)
    assert len(s.space) == 16 and s.chips == 2 and s.seed == 1 and s.name == "levels"
    assert s.space.keys == ("device.kv_levels", "window", "system.technology_nm",
                            "system.array.cell_area")
    assert s.workload.kind == "gaussian" and s.workload.tokens == 16
    s2 = load_study(p, chips=0, sample="random", n=5, set={"device.tau": {"lo": 1e-3,
                                                                         "hi": 1e-2}})
    assert s2.chips == 0 and len(s2.space) == 5 and "device.tau" in s2.space.keys
    assert s.to_dict() != s2.to_dict()


def test_a_design_file_is_the_base(tmp_path):
    (tmp_path / "d.toml").write_text("[attention]\nwindow = 256\n[system]\nn_layers = 6\n")
    (tmp_path / "s.toml").write_text('[study]\nconfig = "d.toml"\n[space]\nkv_levels = [4]\n')
    s = load_study(tmp_path / "s.toml")
    assert s.cfg.window == 256 and s.spec.n_layers == 6


@pytest.mark.parametrize("edit, match", [
    (('"device.kv_levels" = [4, 8]', '"device.kv_lvls" = [4, 8]'),
     r"'device.kv_lvls' is unknown: allowed .*DeviceParams"),
    (('"device.kv_levels" = [4, 8]', '"device.kv_levels" = [4, 1]'),
     r"device.kv_levels = 1: DeviceParams.kv_levels = 1 is invalid: allowed an integer in "
     r"\[2, 65536\]"),
    (('window = [128, 256]', 'window = [128, 100]'), r"window = 100.*multiple of array_cols"),
    (('"system.technology_nm" = [28, 65]', '"system.technology_nm" = [28, 400]'),
     r"technology_nm = 400.*\[3.0, 180.0\] nm"),
    (('"system.technology_nm" = [28, 65]', '"system.technology_nm" = [28, 10]'),
     r"system.technology_nm = 10: .*predicted mode: allowed \[22, 180\] nm"),
    (('"system.array.cell_area" = [1e-12, 2e-12]', '"system.array.cell_area" = [-1.0]'),
     r"system.array.cell_area = -1.0.*cell_area"),
    (('"system.array.cell_area" = [1e-12, 2e-12]', '"system.array.size" = [1]'),
     r"system.array.FIELD with FIELD in"),
    (("chips = 2", "chips = -1"), r"chips = -1 is invalid: allowed an integer in \[0, 10000\]"),
    (("chips = 2", "chip = 2"), r"unknown key\(s\) \['chip'\] in \[study\]"),
    (('kind = "gaussian"', 'kind = "normal"'), r"kind = 'normal' is invalid"),
    (("tokens = 16", "tokens = 0"), r"workload tokens = 0 is invalid: allowed an integer in"),
    (('sample = "grid"', 'sample = "lhs"'), r"n = None is invalid for sample = 'lhs'"),
    (("[workload]", "[workloads]"), r"unknown table\(s\) \['workloads'\]"),
    (('window = [128, 256]', 'window = []'), r"'window' is empty"),
    (('window = [128, 256]', 'kv_levels = [4]'), r"repeats a parameter"),
])
def test_bad_study_files(tmp_path, edit, match):
    p = tmp_path / "s.toml"
    p.write_text(GOOD.replace(*edit))
    with pytest.raises(ValueError, match=match):
        load_study(p)


def test_an_empty_space_and_bad_workload_files(tmp_path):
    with pytest.raises(ValueError, match="space is empty"):
        build_study({"study": {"chips": 1}})
    bad = tmp_path / "qkv.npz"
    np.savez(bad, q=np.zeros((1, 2, 8, 32)), k=np.zeros((1, 2, 8, 32)), v=np.zeros((1, 2, 8,
                                                                                    32)))
    with pytest.raises(ValueError, match="head dim D = 32 does not match the design's "
                                         "head_dim = 64"):
        build_study({"space": {"window": [128]}}, overrides={"workload": str(bad)})
    np.savez(bad, q=np.zeros((1, 2, 8, 64)))
    with pytest.raises(ValueError, match=r"missing array\(s\) \['k', 'v'\]"):
        build_study({"space": {"window": [128]}}, overrides={"workload": str(bad)})
    (tmp_path / "t.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="cannot read as .npz"):
        build_study({"space": {"window": [128]}},
                    overrides={"workload": str(tmp_path / "t.npz")})


def test_the_command_line_refuses_before_any_work(tmp_path, capsys):
    out = tmp_path / "o"
    p = tmp_path / "s.toml"
    p.write_text(GOOD.replace("[4, 8]", "[4, 0]"))
    assert main(["explore", str(p), "--workers", "0", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "device.kv_levels = 0" in err and "[2, 65536]" in err and len(err.splitlines()) == 1
    assert not out.exists()
    assert main(["explore", "--set", "window=128", "--set", "attention.window=256",
                 "--workers", "0", "--out", str(out)]) == 2
    assert "repeats the parameter 'window'" in capsys.readouterr().err
    p.write_text(GOOD)
    assert main(["explore", str(p), "--set", "device.kv_levels=2", "--workers", "0",
                 "--out", str(out)]) == 2
    assert "repeats the parameter 'device.kv_levels'" in capsys.readouterr().err
    assert main(["explore", "--workers", "0", "--out", str(out)]) == 2
    assert "space is empty" in capsys.readouterr().err
    assert main(["explore", str(tmp_path / "none.toml"), "--out", str(out)]) == 2
    assert "no such study file" in capsys.readouterr().err
    assert not out.exists()
