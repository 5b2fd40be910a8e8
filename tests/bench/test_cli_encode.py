"""`python -m bench encode`: a precision's entry is the one a suite at that doc_precision reads; --limit
only times (nothing cached)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import main
from daft import collections
from daft.models.build import build
from daft.search import embeddings


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


@pytest.mark.parametrize("limit", ["-1", "0"])
def test_a_limit_below_one_is_an_error_not_the_whole_corpus(tiny_model_dir, tiny_beir, capsys, limit):
    with pytest.raises(SystemExit) as stop:
        main(["encode", str(tiny_beir), "--model", str(tiny_model_dir), "--limit", limit])
    assert stop.value.code == 2 and "--limit: expected a positive integer" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("device", "message"),
    [("tpu", "expected cpu, cuda or cuda:N"), ("cuda", "torch sees no CUDA device"), ("cuda:1", "no CUDA")],
)
def test_a_device_this_machine_lacks_is_one_line_exit_2(
    tiny_model_dir, tiny_beir, capsys, monkeypatch, device, message
):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["encode", str(tiny_beir), "--model", str(tiny_model_dir), "--device", device]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"--device {device}" in err[0].replace("'", "") and message in err[0]


def test_indexes_depth_zero_is_an_error(tiny_model_dir, tiny_beir, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["indexes", str(tiny_beir), "--model", str(tiny_model_dir), "--depth", "0"])
    assert stop.value.code == 2 and "--depth: expected a positive integer" in capsys.readouterr().err
