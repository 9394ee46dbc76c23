"""Issue 15, defects 7 and 12 (params part): TOML strings round-trip, NumPy integers are
accepted, a non-UTF-8 design file's error names the file.

Each test fails on commit f5ba4a6 (before the fix): there ``_toml_value`` escaped only quotes
and backslashes (a newline or control character wrote a file ``load_toml`` rejects),
``_int_in``/``_levels`` required ``isinstance(v, int)`` (``np.int64`` refused), and
``load_design`` let ``UnicodeDecodeError`` escape as a traceback.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaincell.params import AttentionConfig, IVTable, dumps_toml, load_toml, save_toml

try:
    import tomllib
except ImportError:  # pragma: no cover
    import tomli as tomllib


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_toml_strings_round_trip(text):
    """Any text (control characters, newlines, quotes, backslashes, unicode) survives
    ``dumps_toml`` -> TOML parser, as an iv_table source string."""
    t = IVTable.leroux2025()
    cfg = AttentionConfig.leroux2025()
    cfg = cfg.replace(device=cfg.device.replace(
        cell_model="table", iv_table=dataclasses.replace(t, source=text)))
    data = tomllib.loads(dumps_toml(cfg))
    assert data["device"]["iv_table"]["source"] == text


@pytest.mark.parametrize("text", ["line1\nline2", "tab\tcr\r\x00\x1f\x7f", 'q"\\"',
                                  "é ✓ \u2028 \U0001F600"])
def test_save_toml_load_toml_round_trip_hostile_strings(tmp_path, text):
    t = IVTable.leroux2025()
    cfg = AttentionConfig.leroux2025()
    cfg = cfg.replace(device=cfg.device.replace(
        cell_model="table", iv_table=dataclasses.replace(t, source=text)))
    assert load_toml(save_toml(cfg, tmp_path / "d.toml")) == cfg


def test_toml_refuses_lone_surrogate():
    from gaincell.params import _toml_value

    with pytest.raises(ValueError, match="surrogate"):
        _toml_value("a\ud800b")


def test_characterization_meta_strings_are_escaped():
    """characterization.toml's [meta] table goes through the same writer."""
    from gaincell.params import _toml_value

    line = "name = " + _toml_value("deck\n.control")
    assert tomllib.loads(line)["name"] == "deck\n.control"


@pytest.mark.parametrize("cast", [np.int64, np.int32, np.uint16])
def test_numpy_integer_windows_heads_levels_accepted(cast, tmp_path):
    cfg = AttentionConfig.leroux2025(window=cast(256), n_heads=cast(4), q_levels=cast(16),
                                     kv_levels=cast(8), out_levels=cast(32))
    assert cfg.window == 256 and cfg.n_heads == 4 and cfg.device.q_levels == 16
    assert load_toml(save_toml(cfg, tmp_path / "d.toml")) == cfg   # writer takes them too


@pytest.mark.parametrize("kw", [{"window": True}, {"n_heads": np.bool_(True)},
                                {"q_levels": True}, {"window": np.float64(8.0)}])
def test_bools_and_floats_still_refused_as_integers(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        AttentionConfig.leroux2025(**kw)


def test_numpy_float_reals_accepted():
    cfg = AttentionConfig.leroux2025(leak_per_step=np.float32(1e-4))
    assert cfg.leak_per_step == pytest.approx(1e-4)


@pytest.mark.parametrize("loader", ["params", "system"])
def test_non_utf8_design_file_error_names_the_file(tmp_path, loader):
    p = tmp_path / "latin1.toml"
    p.write_bytes("[attention]\n# caf\xe9\nwindow = 64\n".encode("latin-1"))
    if loader == "params":
        f = load_toml
    else:
        from gaincell.system.design_file import load_design as f
    with pytest.raises(ValueError, match=r"latin1\.toml: not UTF-8"):
        f(p)
