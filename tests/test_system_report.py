"""Reports: every file written, readable figures, atomic output."""

import json

import matplotlib
import pytest

import gaincell.system as gs
from gaincell.params import AttentionConfig
from gaincell.system import figures as fg
from gaincell.system.report import FIGURES, render_markdown, write_report
from gaincell.system.scaling import scaling_studies

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def est():
    return gs.estimate(AttentionConfig.leroux2025(), n_layers=12)


@pytest.fixture(scope="module")
def report_dir(est, tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "report"
    write_report(est, out)
    return out


def test_all_files_present(report_dir):
    names = {p.name for p in report_dir.iterdir()}
    expected = {"report.md", "report.json", "MANIFEST.json"}
    expected |= {f"{f}.{ext}" for f in FIGURES for ext in ("png", "svg")}
    assert names == expected
    for n in names - {"MANIFEST.json"}:
        assert (report_dir / n).stat().st_size > 1000
    manifest = json.loads((report_dir / "MANIFEST.json").read_text())
    assert {f["name"] for f in manifest["files"]} == names - {"MANIFEST.json"}
    assert not [p for p in report_dir.parent.iterdir() if p.name.startswith(".")]


def test_json_content(report_dir, est):
    d = json.loads((report_dir / "report.json").read_text())
    assert d["headline"]["energy_per_token_head_J"] == pytest.approx(est.energy_head_j)
    assert d["paper_point"]["is_paper_point"] is True
    assert set(d["scaling"]) == {"window", "n_heads", "n_layers"}
    assert d["scaling"]["window"]["values"][0] == 128
    assert d["scaling"]["window"]["values"][-1] == 8192


def test_markdown_says_what_matters(report_dir):
    md = (report_dir / "report.md").read_text()
    for needle in ("65 ns", "1.12 nJ", "unconfirmed", "| quantity | calibrated | predicted | "
                   "published |", "Where and why the predicted estimate differs", "x344",
                   "x97,", "leak per step",
                   "Not modelled", "calibrated", "assumption", "energy_breakdown.png"):
        assert needle in md, needle


def _check_readable(fig):
    for ax in fig.axes:
        if not ax.get_visible() or not (ax.lines or ax.patches or ax.collections):
            continue
        assert ax.get_xlabel() or ax.get_xticklabels(), "x axis unlabelled"
        assert ax.get_ylabel() or ax.get_yticklabels()
    labels = " ".join(ax.get_xlabel() + ax.get_ylabel() for ax in fig.axes)
    assert "(" in labels and ")" in labels, "units in parentheses expected"
    assert any(ax.get_legend() is not None for ax in fig.axes), "no legend"


def test_figures_are_labelled(est):
    import matplotlib.pyplot as plt

    studies = scaling_studies(est, windows=(512, 1024), heads=(8, 12), layers=(6, 12))
    figs = [fg.energy_figure(est, True), fg.latency_figure(est), fg.area_figure(est),
            fg.gpu_figure(est), fg.window_figure(studies["window"]),
            fg.heads_figure(studies["n_heads"]), fg.layers_figure(studies["n_layers"])]
    try:
        for f in figs:
            _check_readable(f)
        for ax in figs[3].axes:
            assert ax.get_yscale() == "log"
    finally:
        for f in figs:
            plt.close(f)


def test_interrupted_report_leaves_nothing(est, tmp_path, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("interrupted")

    import gaincell.system.report as rp

    small = scaling_studies(est, windows=(1024,), heads=(12,), layers=(12,))
    monkeypatch.setattr(rp, "scaling_studies", lambda e: small)
    monkeypatch.setattr(fg, "heads_figure", boom)
    out = tmp_path / "rep"
    with pytest.raises(RuntimeError):
        write_report(est, out)
    assert list(tmp_path.iterdir()) == []
    # an existing report is left as it was
    write_report(est, out, figures=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(RuntimeError):
        write_report(est, out)
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_no_figures_and_data_dependent_section(tmp_path):
    from gaincell.array.activity import Activity

    act = Activity(tokens=4, batch=1, n_heads=12, queries=4, cells_written=512,
                   write_voltage_sum=200.0, q_pulses=240, k_charge_abs=6e-9,
                   stage1_conversions=4096, phi_pulses=2000, v_charge_abs=2e-9,
                   stage2_conversions=4096, counter_counts_abs=16000.0)
    e = gs.estimate(AttentionConfig.leroux2025(window=2048), activity=act)
    paths = write_report(e, tmp_path / "r", figures=False)
    assert sorted(p.name for p in paths) == ["report.json", "report.md"]
    md = (tmp_path / "r" / "report.md").read_text()
    assert "data-dependent" in md
    assert "The paper's design" not in md  # not the leroux2025 geometry
    assert "**Mode: predicted.**" in md
    assert "data-dependent" in render_markdown(e, figures=False)


def test_write_report_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="Estimate"):
        write_report({"a": 1}, tmp_path / "x")
    assert not (tmp_path / "x").exists()
