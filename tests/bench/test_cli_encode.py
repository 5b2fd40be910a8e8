"""`python -m bench encode`: a precision's entry is the one a suite at that doc_precision reads; --limit
only times (nothing cached)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import main
from daft import collections, embeddings
from daft.encoders import build


@pytest.fixture
def setup(tiny_model_dir: Path, tiny_beir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "cache"))
    return build({"model": str(tiny_model_dir)}), collections.load(str(tiny_beir))


def test_encode_at_a_precision_fills_that_precisions_entry(setup, tiny_model_dir, tiny_beir, capsys):
    encoder, collection = setup
    args = ["encode", str(tiny_beir), "--model", str(tiny_model_dir), "--max-length", "16"]
    assert main([*args, "--precision", "bf16"]) == 0
    assert "40 document embeddings built by 1 process(es) at bf16" in capsys.readouterr().err
    assert not isinstance(embeddings.cached(encoder, collection, 16, "bf16"), str)
    assert embeddings.cached(encoder, collection, 16) == "missing"


def test_limit_times_without_caching(setup, tiny_model_dir, tiny_beir, capsys):
    encoder, collection = setup
    args = ["encode", str(tiny_beir), "--model", str(tiny_model_dir), "--max-length", "16", "--limit", "25"]
    assert main([*args, "--precision", "onnx-int8", "--batch-size", "8"]) == 0
    err = capsys.readouterr().err
    assert "25 documents at onnx-int8 in" in err and "docs/s (batch 8, max length 16" in err
    assert embeddings.cached(encoder, collection, 16, "onnx-int8") == "missing"


def test_a_negative_limit_is_an_error(tiny_model_dir, tiny_beir, capsys):
    assert main(["encode", str(tiny_beir), "--model", str(tiny_model_dir), "--limit", "-1"]) == 2
    assert "--limit not negative" in capsys.readouterr().err
