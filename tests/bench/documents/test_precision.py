"""The document side's precisions: close to fp32, each cached under its own key, fp32 keys unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from bench.documents import embeddings
from bench.documents.precision import PRECISIONS, encode_documents
from daft import collections
from daft.core.errors import UserError
from daft.models.build import build
from daft.search import embeddings as daft_embeddings

# Worst cosine to fp32 each precision must keep on the tiny model (int8 weights move vectors by design).
MIN_COSINE = {"fp32": 1.0 - 1e-6, "bf16": 0.99, "onnx-fp32": 1.0 - 1e-5, "onnx-int8": 0.95}


@pytest.fixture
def setup(tiny_model_dir, tiny_beir, tmp_path, monkeypatch):
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "cache"))
    return build({"model": str(tiny_model_dir)}), collections.load(str(tiny_beir))


@pytest.mark.parametrize("precision", PRECISIONS)
def test_each_precision_is_close_to_fp32_in_input_order(setup, precision: str) -> None:
    encoder, collection = setup
    texts = [d.full_text for d in collection.corpus.values()] + ["a much longer potter wheel clay text " * 3]
    want = encode_documents(encoder, texts, max_length=16, batch_size=7)
    counted = []
    got = encode_documents(
        encoder, texts, precision=precision, max_length=16, batch_size=7, on_batch=counted.append
    )
    assert got.shape == want.shape and got.dtype == np.float32 and sum(counted) == len(texts)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-3)
    cosines = (got * want).sum(axis=1)
    assert cosines.min() >= MIN_COSINE[precision], cosines.min()


def test_an_unknown_precision_is_an_error(setup) -> None:
    encoder, _ = setup
    with pytest.raises(UserError, match="unknown document precision 'fp8'; known: fp32, bf16"):
        encode_documents(encoder, ["x"], precision="fp8", max_length=8, batch_size=2)


def test_the_cache_key_includes_the_precision_and_fp32_keeps_its_old_key(setup) -> None:
    encoder, collection = setup
    keys = {p: daft_embeddings.fingerprint(encoder, collection, 16, p) for p in PRECISIONS}
    assert len(set(keys.values())) == len(PRECISIONS)
    assert keys["fp32"] == daft_embeddings.fingerprint(encoder, collection, 16)
    _, int8, status = embeddings.doc_embeddings(encoder, collection, max_length=16, precision="onnx-int8")
    assert status == "built"
    assert daft_embeddings.cached(encoder, collection, 16) == "missing"  # fp32 is not the int8 entry
    _, again, status = embeddings.doc_embeddings(encoder, collection, max_length=16, precision="onnx-int8")
    assert status == "cached" and np.array_equal(again, int8)


def test_auto_is_bf16_only_where_it_is_native(monkeypatch) -> None:
    from bench.documents import precision

    assert precision.resolve_precision("onnx-int8") == "onnx-int8"  # an explicit setting is kept
    monkeypatch.setattr(precision, "native_bf16", lambda device_type="cpu": True)
    assert precision.resolve_precision("auto") == "bf16"
    monkeypatch.setattr(precision, "native_bf16", lambda device_type="cpu": False)
    assert precision.resolve_precision("auto", "cuda") == "fp32"
    assert "auto" in precision.SETTINGS and "auto" not in precision.PRECISIONS
