import numpy as np

from bench.retrieval.index_choice import measure


def test_flat_is_exact_and_the_approximations_are_measured_against_it():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 16))
    docs = centres[rng.integers(0, 10, 2000)] + 0.2 * rng.normal(size=(2000, 16))
    docs = (docs / np.linalg.norm(docs, axis=1, keepdims=True)).astype(np.float32)
    rows = {row.kind: row for row in measure(docs, docs[:30], k=20)}
    assert set(rows) == {"flat", "hnsw", "ivfpq"}
    assert rows["flat"].recall == 1.0
    assert 0.5 < rows["hnsw"].recall <= 1.0
    assert 0.0 < rows["ivfpq"].recall < 1.0  # 4 bytes a vector cannot be exact
    assert rows["ivfpq"].bytes < rows["flat"].bytes
    assert [row.kind for row in measure(docs, docs[:3], k=5, kinds=("hnsw",))] == ["hnsw"]
