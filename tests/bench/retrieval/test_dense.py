import numpy as np
import pytest

from bench.retrieval.dense import build_index, search
from daft.core.errors import UserError


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_search_matches_brute_force(kind: str):
    rng = np.random.default_rng(0)
    docs, queries = _unit(rng.normal(size=(300, 16))), _unit(rng.normal(size=(5, 16)))
    doc_ids = [f"d{i}" for i in range(300)]
    run = search(build_index(docs, kind), doc_ids, queries, [f"q{i}" for i in range(5)], 10)
    for i in range(5):
        expected = [doc_ids[j] for j in np.argsort(-(docs @ queries[i]))[:10]]
        got = [doc for doc, _ in run[f"q{i}"]]
        # HNSW is approximate: its top hit must match and most of the top 10.
        assert (
            got == expected
            if kind == "flat"
            else (got[0] == expected[0] and len(set(got) & set(expected)) >= 8)
        )
        assert run[f"q{i}"][0][1] == pytest.approx(float(np.max(docs @ queries[i])), abs=1e-5)


def test_depth_beyond_corpus_and_dimension_mismatch():
    docs = _unit(np.eye(3, 4) + 0.1)
    run = search(build_index(docs), ["a", "b", "c"], docs[:1], ["q"], 100)
    assert len(run["q"]) == 3 and run["q"][0][0] == "a"
    with pytest.raises(UserError, match="query vectors are 8-d but the document index is 4-d"):
        search(build_index(docs), ["a", "b", "c"], np.zeros((1, 8), np.float32), ["q"], 2, label="pair x")
    with pytest.raises(UserError, match="unknown index 'ivf'"):
        build_index(docs, "ivf")


def test_ivfpq_finds_most_of_the_exact_top_hits_in_fewer_bytes():
    rng = np.random.default_rng(1)
    # Clustered vectors, as embeddings are: IVF cells then mean something.
    centres = rng.normal(size=(20, 32))
    docs = _unit(centres[rng.integers(0, 20, 4000)] + 0.3 * rng.normal(size=(4000, 32)))
    queries = docs[:20]
    doc_ids = [f"d{i}" for i in range(4000)]
    qids = [f"q{i}" for i in range(20)]
    exact = search(build_index(docs, "flat"), doc_ids, queries, qids, 10)
    index = build_index(docs, "ivfpq")
    assert index.code_size == 8  # 32 dims -> 8 one-byte codes, not 128 bytes of float32
    approx = search(index, doc_ids, queries, qids, 10)
    exact, approx = exact.to_dict(), approx.to_dict()
    overlap = np.mean([len(set(exact[q]) & set(approx[q])) / 10 for q in qids])
    # 8 bytes a vector is lossy (docs/SCALE.md measures real embeddings), but far from chance (~0.003).
    assert overlap >= 0.2
    # A query that is a document finds it.
    assert np.mean([f"d{i}" in approx[q] for i, q in enumerate(qids)]) >= 0.9


def test_ivfpq_refuses_a_corpus_too_small_to_train():
    with pytest.raises(UserError, match="at least 256 documents"):
        build_index(_unit(np.random.default_rng(0).normal(size=(100, 16))), "ivfpq")
