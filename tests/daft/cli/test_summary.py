"""`daft summary`: one experiment-table row per pair manifest."""

from __future__ import annotations

import json
from pathlib import Path

from daft.cli import summary


def _pair(tmp_path: Path, query: dict, spec: dict) -> Path:
    manifest = {
        "method": "daft",
        "query": query,
        "recipe": {"query_encoder": spec},
        "metrics": {"final": {"test": {"nDCG@10": 0.25}}, "diagnostics": {"kl": 20.9}},
        "training": {"stages": {"align": {"steps": 384}, "finetune": {"steps": 256}}, "train_seconds": 120.0},
    }
    (tmp_path / "pair.json").write_text(json.dumps(manifest))
    return tmp_path


def test_row_names_a_projection(tmp_path: Path) -> None:
    query = {"type": "static", "dim": 384, "projection": True, "parameters": 3955968}
    r = summary.row(_pair(tmp_path, query, {"model": "bert-l2-h128"}))
    cells = summary.cells(r)
    assert cells[2] == "static bert-l2-h128 → 384"
    assert cells[3] == "3.96 M" and cells[4] == "20.9" and cells[9] == "0.250"
    assert cells[11:] == ["384 / 256", "2.0 min"]


def test_row_without_projection(tmp_path: Path) -> None:
    query = {"type": "transformer", "dim": 384, "projection": False, "parameters": 17_240_000}
    r = summary.row(_pair(tmp_path, query, {"model": "/cache/assets/minilm-l3"}))
    assert summary.cells(r)[2] == "transformer minilm-l3"
