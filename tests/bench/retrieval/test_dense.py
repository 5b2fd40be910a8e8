import numpy as np
import pytest

from bench.retrieval.dense import build_index, search
from daft.errors import UserError


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
        got = list(run[f"q{i}"])
        # HNSW is approximate: its top hit must match and most of the top 10.
        assert (
            got == expected
            if kind == "flat"
            else (got[0] == expected[0] and len(set(got) & set(expected)) >= 8)
        )
        assert run[f"q{i}"][got[0]] == pytest.approx(float(np.max(docs @ queries[i])), abs=1e-5)


def test_depth_beyond_corpus_and_dimension_mismatch():
    docs = _unit(np.eye(3, 4) + 0.1)
    run = search(build_index(docs), ["a", "b", "c"], docs[:1], ["q"], 100)
    assert len(run["q"]) == 3 and next(iter(run["q"])) == "a"
    with pytest.raises(UserError, match="query vectors are 8-d but the document index is 4-d"):
        search(build_index(docs), ["a", "b", "c"], np.zeros((1, 8), np.float32), ["q"], 2, label="pair x")
    with pytest.raises(UserError, match="unknown index 'ivf'"):
        build_index(docs, "ivf")
