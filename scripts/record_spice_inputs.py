"""Record q, k, v from the trained tiny model of gaincell.nn for the SPICE tile check.

Trains the tiny model-demo pipeline (``PipelineSettings.tiny(seed=0)``: 1 layer, 1 head,
head_dim 64, 64-token window, softmax -> linear -> nonlinear hardware stages), then records
layer 0's scaler outputs (``gaincell.nn.record_qkv``: q as pulse widths, fraction of T_max;
k and v as stored voltages of the leroux2025 design, V) on the first validation sequence,
and writes ``gaincell/data/spice_tile_qkv.npz`` with its provenance. The SPICE layer reads
this file and never imports ``gaincell.nn`` (layer rule).

Usage: ``python scripts/record_spice_inputs.py [OUT.npz]`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

SEED = 0


def main(argv=None) -> int:
    from gaincell._io import atomic_write_with
    from gaincell._version import __version__
    from gaincell.explore.model_loss import _model_and_batches
    from gaincell.nn import record_qkv
    from gaincell.nn.pipeline import PipelineSettings, run_pipeline

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else (Path(__file__).resolve().parents[1] / "gaincell" / "data"
                                      / "spice_tile_qkv.npz")
    settings = PipelineSettings.tiny(seed=SEED, sensitivity=False, control=False)
    with tempfile.TemporaryDirectory(prefix="gaincell_record_") as tmp:
        run_pipeline(settings, out_dir=Path(tmp) / "run", progress=False, write_report=False)
        model, batches = _model_and_batches(str(Path(tmp) / "run"))
        x = batches[0][0][:1]                       # the first validation sequence
        rec = record_qkv(model, x, layer=0)
    cfg = model.attentions()[0].core.cfg
    d = cfg.device
    prov = {"source": "gaincell.nn.record_qkv, layer 0, head 0, first validation sequence of "
                      "the tiny model-demo pipeline (scripts/record_spice_inputs.py)",
            "settings": settings.to_dict(), "seed": SEED, "gaincell_version": __version__,
            "units": "q: pulse width / T_max; k, v: stored voltage, V, of the design below",
            "design_vdd_v": d.vdd, "design_v_weight_zero_v": d.v_weight_zero,
            "design_kv_lo_v": d.kv_lo, "design_kv_hi_v": d.kv_hi,
            "design_q_lo": d.q_lo, "design_q_hi": d.q_hi,
            "tokens": int(x.shape[1]), "head_dim": int(rec["q"].shape[-1])}
    arrays = {n: np.asarray(rec[n][0, 0], dtype=np.float64) for n in ("q", "k", "v")}

    def w(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, provenance_json=np.array(json.dumps(prov, sort_keys=True)),
                                **arrays)
    atomic_write_with(out, w)
    print(f"wrote {out}: q, k, v of shape {arrays['q'].shape}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
