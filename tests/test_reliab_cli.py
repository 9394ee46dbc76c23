"""One-line errors, exit code 2, for truncated or wrong-type files and for MemoryError in
every command (issue 15, defect 9, the commands other than ``simulate``).

On commit f5ba4a6: a MemoryError escaped ``main`` as a traceback
(``test_memory_error_is_one_line_exit_2``); a truncated checkpoint gave a deep torch
traceback and a truncated ``state.json`` a ``JSONDecodeError`` without the file's name
(``test_nn_*``). (A non-UTF-8 corpus is named by the engine branch's ``load_corpus``.)
"""

from __future__ import annotations

import pytest

from gaincell import cli


@pytest.mark.parametrize("command, hint", [("report", "--tokens"), ("sweep", "--set"),
                                           ("characterize", "--v-store-points"),
                                           ("demo", "--config")])
def test_memory_error_is_one_line_exit_2(command, hint, monkeypatch, capsys):
    def boom(args):
        raise MemoryError("Unable to allocate 27.0 GiB for an array with shape "
                          "(1, 12, 8192, 8192) and data type float32")

    real = cli.build_parser

    def parser():
        p = real()
        for a in p._subparsers._group_actions:
            for sp in a.choices.values():
                sp.set_defaults(func=boom)
        return p

    monkeypatch.setattr(cli, "build_parser", parser)
    assert cli.main([command]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "out of memory" in err and "27.0 GiB" in err and hint in err


def test_nn_truncated_checkpoint_names_the_file(tmp_path):
    torch = pytest.importorskip("torch")
    from gaincell.nn.train import load_torch, save_torch

    p = tmp_path / "softmax.pt"
    save_torch({"model": {"w": torch.zeros(64, 64)}, "iter": 3}, p)
    assert load_torch(p)["iter"] == 3
    p.write_bytes(p.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"softmax\.pt: not a readable gaincell checkpoint"):
        load_torch(p)
    q = tmp_path / "inputs.npy"
    q.write_bytes(b"\x93NUMPY\x01\x00" + b"x" * 100)
    with pytest.raises(ValueError, match=r"inputs\.npy: not a readable"):
        load_torch(q)


def test_nn_checkpoint_never_unpickles_code(tmp_path):
    """``weights_only``: a planted pickle that would run code is refused, not executed."""
    torch = pytest.importorskip("torch")
    from gaincell.nn.train import load_torch

    class Evil:
        def __reduce__(self):
            return (exec, ("open(%r, 'w').write('pwned')" % str(tmp_path / "PWNED"),))

    p = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, p)
    with pytest.raises(ValueError, match="evil.pt"):
        load_torch(p)
    assert not (tmp_path / "PWNED").exists()


def test_nn_truncated_state_json(tmp_path, capsys):
    pytest.importorskip("torch")
    corpus = tmp_path / "c.txt"
    corpus.write_bytes(("abc def\n" * 2000).encode())
    run = tmp_path / "run"
    run.mkdir()
    (run / "state.json").write_text('{"settings": {"n_lay')
    argv = ["model-demo", "--tiny", "--data", str(corpus), "--out", str(run),
            "--no-sensitivity"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "state.json: not a gaincell run state" in err


def test_nn_run_folder_must_be_new_empty_or_a_run(tmp_path):
    """``--restart`` deleted every ``*.pt`` of any folder given as ``--out``; checkpoints
    replaced same-named files in folders no run wrote (issue 15, defect 1)."""
    pytest.importorskip("torch")
    from gaincell.nn.pipeline import PipelineSettings, run_pipeline

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "softmax.pt").write_bytes(b"someone else's")
    s = PipelineSettings.tiny(data_path=str(tmp_path / "absent.txt"))
    with pytest.raises(ValueError, match="no gaincell run wrote"):
        run_pipeline(s, foreign, resume=False, progress=False)
    assert (foreign / "softmax.pt").read_bytes() == b"someone else's"
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        run_pipeline(s, f, progress=False)
