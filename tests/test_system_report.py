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


def _strict(text):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def test_report_json_is_strict_even_with_infinite_quantities(tmp_path):
    # no leak in the design: the retention mismatch is infinite; strict JSON writes null
    e = gs.estimate(AttentionConfig.leroux2025(leak_per_step=0.0))
    assert e.retention.mismatch == float("inf")
    write_report(e, tmp_path / "r", figures=False)
    d = _strict((tmp_path / "r" / "report.json").read_text())
    assert d["retention"]["relative_mismatch"] is None


def test_a_failed_swap_leaves_the_old_complete_report(est, tmp_path, monkeypatch):
    import os

    out = tmp_path / "rep"
    write_report(est, out, figures=False)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = {"n": 0}
    real_rename, real_replace = os.rename, os.replace

    def flaky(fn):
        def wrapped(a, b, *k, **kw):
            calls["n"] += 1
            if calls["n"] == 2:       # the second move of the swap fails (disk full, kill)
                raise OSError("injected failure")
            return fn(a, b, *k, **kw)
        return wrapped

    import gaincell._io as gio

    # the portable two-rename swap (where Linux's one-call exchange is not available)
    monkeypatch.setattr(gio, "_exchange", lambda a, b: False)
    monkeypatch.setattr(os, "rename", flaky(real_rename))
    monkeypatch.setattr(os, "replace", flaky(real_replace))
    e2 = gs.estimate(AttentionConfig.leroux2025(), n_layers=6)
    with pytest.raises(OSError, match="injected"):
        write_report(e2, out, figures=False)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_refuses_a_folder_it_did_not_write(est, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    with pytest.raises(ValueError, match="did not write"):
        write_report(est, out, figures=False)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_assumption_labels_follow_the_overrides(tmp_path):
    spec = gs.SystemSpec(mode="predicted", circuit={"gm_over_id": 10.0},
                         technology={"c_mim": 1e-3}, components={"array": {"cell_area": 2e-12}})
    e = gs.estimate(spec=spec)
    md = render_markdown(e, figures=False)
    line = [ln for ln in md.splitlines() if "CircuitAssumptions.gm_over_id" in ln][0]
    assert "design file override" in line and "| 10 |" in line
    tech = [ln for ln in md.splitlines() if ln.startswith("| technology | c_mim")][0]
    assert "design file override" in tech
    # the calibrated mode's component overrides
    e2 = gs.estimate(spec=gs.SystemSpec(components={"array": {"cell_area": 2e-12}}))
    line = [ln for ln in render_markdown(e2, figures=False).splitlines()
            if "GainCellArray.cell_area" in ln][0]
    assert "design file override" in line and "unconfirmed" in line   # default's label kept
    cell = [ln for ln in render_markdown(est_default(), figures=False).splitlines()
            if "GainCellArray.cell_area" in ln][0]
    assert "override" not in cell


def est_default():
    return gs.estimate()


def test_figures_are_readable_when_one_item_dominates_and_state_their_normalization():
    import matplotlib.pyplot as plt

    p = gs.estimate(mode="predicted")
    pair = (gs.estimate(), p)
    f = fg.energy_figure(p, True, companions=pair)
    g = fg.gpu_figure(p)
    studies = scaling_studies(p, windows=(512, 1024, 2048), heads=(8, 12), layers=(6, 12))
    w = fg.window_figure(studies["window"])
    try:
        assert f.axes[0].get_yscale() == "log" and f.axes[1].get_xscale() == "log"
        labels = [t.get_text() for t in f.axes[0].get_legend().get_texts()]
        assert labels == ["calibrated", "predicted", "published"]
        text = " ".join(t.get_text() for t in g.texts)
        assert "Normalization" in text and "batch" in text and "H100" in text
        assert any("B=64" in t.get_text() for t in g.axes[0].get_xticklabels())
        for ax in w.axes:
            assert ax.get_xscale() == "linear" and ax.get_yscale() == "linear"
            assert any("design point" in t.get_text() for t in ax.get_legend().get_texts())
    finally:
        for x in (f, g, w):
            plt.close(x)
