import numpy as np
import pytest
import torch

from daft import collections
from daft.collections.collection import Collection, Document
from daft.models.build import build
from daft.search import embeddings


@pytest.fixture
def setup(tiny_model_dir, tiny_beir, tmp_path, monkeypatch):
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "cache"))
    return build({"model": str(tiny_model_dir)}), collections.load(str(tiny_beir))


def test_built_once_then_cached(setup):
    encoder, collection = setup
    ids, vectors, status = embeddings.doc_embeddings(encoder, collection, max_length=16)
    assert status == "built" and ids == sorted(collection.corpus) and vectors.shape == (40, encoder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    ids2, vectors2, status2 = embeddings.doc_embeddings(encoder, collection, max_length=16)
    assert status2 == "cached" and ids2 == ids and np.array_equal(vectors2, vectors)


def test_key_changes_with_encoder_weights_pooling_and_length(setup, tiny_model_dir):
    encoder, collection = setup
    key = embeddings.fingerprint(encoder, collection, 16)
    assert embeddings.fingerprint(encoder, collection, 32) != key
    assert (
        embeddings.fingerprint(build({"model": str(tiny_model_dir), "pooling": "cls"}), collection, 16) != key
    )
    other = build({"model": str(tiny_model_dir)})
    with torch.no_grad():
        next(other.parameters()).add_(1.0)
    assert embeddings.fingerprint(other, collection, 16) != key


def test_a_corrupted_entry_is_rebuilt(setup):
    encoder, collection = setup
    _, vectors, _ = embeddings.doc_embeddings(encoder, collection, max_length=16)
    entry = embeddings.entry_dir(embeddings.fingerprint(encoder, collection, 16))
    (entry / embeddings.VECTORS).write_bytes(b"not a numpy file")
    _, again, status = embeddings.doc_embeddings(encoder, collection, max_length=16)
    assert status.startswith("rebuilt") and np.allclose(again, vectors)


def test_other_queries_qrels_and_splits_reuse_the_vectors(setup, monkeypatch):
    encoder, collection = setup
    embeddings.doc_embeddings(encoder, collection, max_length=16)
    encodes = []
    real = type(encoder).encode
    monkeypatch.setattr(
        type(encoder), "encode", lambda self, *a, **kw: encodes.append(1) or real(self, *a, **kw)
    )
    split = collection.splits[0]
    rejudged = Collection(
        name="rejudged",
        corpus=collection.corpus,
        queries={**collection.queries, "new-q": "a query no one asked"},
        qrels={**collection.qrels, "fold1": {"new-q": {next(iter(collection.corpus)): 1}}, split: {}},
    )
    assert rejudged.fingerprint != collection.fingerprint
    _, _, status = embeddings.doc_embeddings(encoder, rejudged, max_length=16)
    assert status == "cached" and not encodes
    edited = Collection(
        name="edited",
        corpus={**collection.corpus, "extra-doc": Document("one more document")},
        queries=collection.queries,
        qrels=collection.qrels,
    )
    _, vectors, status = embeddings.doc_embeddings(encoder, edited, max_length=16)
    assert status == "built" and encodes == [1] and len(vectors) == len(collection.corpus) + 1
