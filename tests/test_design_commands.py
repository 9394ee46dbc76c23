"""gaincell init / show-config, the vdd scaling helper and the converter coherence checks."""

import numpy as np
import pytest

from gaincell.cli import main
from gaincell.commands.design import init_text
from gaincell.device import CellTransfer
from gaincell.device.coherence import design_usage, design_warnings
from gaincell.params import AttentionConfig, DeviceParams, load_toml


@pytest.mark.parametrize("vdd", [None, 1.2, 1.8])
def test_init_round_trips_through_load_toml(tmp_path, vdd):
    p = tmp_path / "design.toml"
    p.write_text(init_text(vdd))
    cfg = load_toml(p)
    dev = DeviceParams.leroux2025() if vdd is None else DeviceParams().scaled_to_vdd(vdd)
    assert cfg == AttentionConfig.leroux2025(device=dev)
    text = p.read_text()
    for key in ("vdd", "v_read", "tau", "temperature", "stage1_q_sat", "token_period"):
        assert f"\n{key} = " in text, key
    from gaincell.params import ALLOWED

    for key in ALLOWED:                       # every key, set or shown commented
        assert (f"\n{key} = " in text or f"\n# {key} = " in text
                or key in ("iv_table", "retention_table")), key
    assert "# [device.iv_table]" in text


def test_init_1v2_sets_no_voltage_at_the_papers_values(tmp_path):
    cfg = load_toml(_write(tmp_path, init_text(1.2)))
    d = cfg.device
    assert (d.vdd, d.v_weight_zero, d.v_read, d.v_read_idle, d.v_rest, d.kv_hi) == \
        (1.2, pytest.approx(0.6), 1.2, pytest.approx(0.6), pytest.approx(0.6), 1.2)
    assert d.poly_v_in_range == (1.2, 1.2)
    assert design_warnings(cfg) == []


def _write(tmp_path, text):
    p = tmp_path / "d.toml"
    p.write_text(text)
    return p


def test_scaled_cell_gives_the_same_currents_at_corresponding_voltages():
    base = DeviceParams()
    for vdd in (0.6, 1.2, 3.3):
        s = base.scaled_to_vdd(vdd)
        v = np.linspace(0, 0.9, 11)
        np.testing.assert_allclose(CellTransfer(s).current(v * vdd / 0.9),
                                   CellTransfer(base).current(v), rtol=1e-12, atol=1e-18)
    lin = DeviceParams(cell_model="linear").scaled_to_vdd(1.8)
    assert lin.linear_gain_ua_per_v == pytest.approx(19.3 / 2)
    with pytest.raises(ValueError, match="vdd"):
        base.scaled_to_vdd(0.0)


def test_coherence_warns_for_weak_and_strong_cells_only():
    cfg = AttentionConfig.leroux2025()
    assert design_warnings(cfg) == []
    weak = cfg.replace(cell_model="linear", linear_gain_ua_per_v=19.3 / 4)
    (w,) = design_warnings(weak)
    assert "counter levels" in w and design_usage(weak).counter_levels_used < 8
    strong = cfg.replace(cell_model="linear", linear_gain_ua_per_v=19.3 * 8)
    assert any("saturates" in w for w in design_warnings(strong))
    assert design_usage(cfg.replace(out_levels=None)).counter_levels_used is None


def test_cli_init_and_show_config(tmp_path, capsys):
    out = tmp_path / "d.toml"
    assert main(["init", "--vdd", "1.2", "--out", str(out)]) == 0
    assert main(["init", "--out", str(out)]) == 2          # no silent replacement
    assert "exists" in capsys.readouterr().err
    assert main(["show-config", str(out)]) == 0
    text = capsys.readouterr().out
    assert "vdd = 1.2" in text and "leak per token step = 0.00016" in text
    assert "no coherence warnings" in text
    assert main(["init", "--vdd", "-1"]) == 2


def test_every_field_is_documented_with_its_allowed_values():
    from dataclasses import fields

    from gaincell.params import ALLOWED, field_docs

    for cls in (AttentionConfig, DeviceParams):
        docs = field_docs(cls)
        for f in fields(cls):
            if f.init and f.name != "device":
                assert f.name in ALLOWED, f.name
                assert len(docs.get(f.name, "")) > 20, f.name
