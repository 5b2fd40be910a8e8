"""FAISS search of one query over 20,000 normalised 384-d vectors (minilm-l6's width), depth 100.

The call is `bench.retrieval.dense.search`, so the cost includes ranking FAISS's arrays into a compact run
(ties by doc id), as the retrieval bench does; the ids are a sorted `DocIndex`'s own, so mapping index rows
onto the run's table costs nothing here. FAISS is pinned to one OpenMP thread while searching: one query gains nothing
from threads but noise, and the encode benchmarks run on one thread too.
"""

from __future__ import annotations

from collections.abc import Iterator

import faiss
import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from bench.retrieval.dense import build_index, search
from bench.retrieval.runs import DocIndex

pytestmark = pytest.mark.benchmark(group="search one query")

DOCS, DIM, DEPTH = 20_000, 384, 100


def _unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def corpus() -> tuple[np.ndarray, DocIndex]:
    """The document vectors and their ids (sorted: "d00000" ...)."""
    return _unit_rows(np.random.default_rng(0), DOCS), DocIndex(f"d{i:05d}" for i in range(DOCS))


@pytest.fixture(scope="module", params=["flat", "hnsw"])
def index(request: pytest.FixtureRequest, corpus: tuple[np.ndarray, DocIndex]) -> faiss.Index:
    """Each index kind over the corpus (built with FAISS's default threads: the build is not timed)."""
    return build_index(corpus[0], request.param)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """FAISS on one OpenMP thread for the test, restored afterwards."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


@pytest.mark.usefixtures("one_thread")
def test_search_one_query(
    benchmark: BenchmarkFixture, index: faiss.Index, corpus: tuple[np.ndarray, DocIndex]
) -> None:
    query = _unit_rows(np.random.default_rng(1), 1)
    table = corpus[1]
    run = benchmark(search, index, table.ids, query, ["q0"], DEPTH, table=table)
    benchmark.extra_info.update({"docs": DOCS, "dim": DIM, "depth": DEPTH, "faiss_threads": 1})
    assert len(run["q0"]) == DEPTH
