"""`daft summary`: one experiment-table row per pair manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daft.__main__ import main
from daft.training import summary


def _pair(tmp_path: Path, query: dict, spec: dict, ndcg: float = 0.25) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    manifest = {
        "method": "daft",
        "query": query,
        "recipe": {"query_encoder": spec},
        "metrics": {"final": {"test": {"nDCG@10": ndcg}}, "diagnostics": {"kl": 20.9}},
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
    assert cells[11:] == ["-", "384 / 256", "2.0 min"]  # no reference given


def test_row_without_projection(tmp_path: Path) -> None:
    query = {"type": "transformer", "dim": 384, "projection": False, "parameters": 17_240_000}
    r = summary.row(_pair(tmp_path, query, {"model": "/cache/assets/minilm-l3"}))
    assert summary.cells(r)[2] == "transformer minilm-l3"


def test_row_names_where_an_l0_table_started(tmp_path: Path) -> None:
    query = {"type": "static", "dim": 384, "projection": False, "parameters": 11_720_448}
    spec = {"model": "minilm-l6", "init": "distilled", "token_weights": "idf"}
    assert summary.cells(summary.row(_pair(tmp_path, query, spec)))[2] == "static minilm-l6 (distilled, idf)"
    plain = {"model": "minilm-l6", "init": "embeddings", "token_weights": "none"}
    assert summary.cells(summary.row(_pair(tmp_path, query, plain)))[2] == "static minilm-l6"


def test_a_reference_gives_each_pair_its_fraction(tmp_path: Path, capsys) -> None:
    query = {"type": "static", "dim": 384, "projection": False, "parameters": 1}
    cheap = _pair(tmp_path / "cheap", query, {"model": "minilm-l6"}, ndcg=0.30)
    ref = _pair(tmp_path / "ref", query, {"model": "minilm-l6"}, ndcg=0.40)
    out = tmp_path / "t.json"
    assert main(["summary", str(cheap), str(ref), "--reference", str(ref), "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["of_reference"] for r in rows] == pytest.approx([0.75, 1.0]) and rows[0]["reference"] == "ref"
    assert "75.0%" in capsys.readouterr().out


def test_a_bug_exits_with_the_crash_code_not_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pair = _pair(tmp_path, {"type": "static", "dim": 1, "projection": False, "parameters": 1}, {})

    def broken(directory: Path) -> dict:
        raise RuntimeError("a bug")

    monkeypatch.setattr(summary, "row", broken)
    assert main(["summary", str(pair)]) == 3  # daft shares bench's runner: a crash never reads as a verdict
