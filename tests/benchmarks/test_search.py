"""FAISS search of one query over 20,000 normalised 384-d vectors (minilm-l6's width), depth 100.

The call is `bench.retrieval.dense.search`, so the cost includes turning FAISS's arrays into a run dict,
as the retrieval bench does. FAISS is pinned to one OpenMP thread while searching: one query gains nothing
from threads but noise, and the encode benchmarks run on one thread too.
"""

from __future__ import annotations

from collections.abc import Iterator

import faiss
import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from bench.retrieval.dense import build_index, search

pytestmark = pytest.mark.benchmark(group="search one query")

DOCS, DIM, DEPTH = 20_000, 384, 100


def _unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def corpus() -> tuple[np.ndarray, list[str]]:
    """The document vectors and their ids."""
    return _unit_rows(np.random.default_rng(0), DOCS), [f"d{i}" for i in range(DOCS)]


@pytest.fixture(scope="module", params=["flat", "hnsw"])
def index(request: pytest.FixtureRequest, corpus: tuple[np.ndarray, list[str]]) -> faiss.Index:
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
    benchmark: BenchmarkFixture, index: faiss.Index, corpus: tuple[np.ndarray, list[str]]
) -> None:
    query = _unit_rows(np.random.default_rng(1), 1)
    run = benchmark(search, index, corpus[1], query, ["q0"], DEPTH)
    benchmark.extra_info.update({"docs": DOCS, "dim": DIM, "depth": DEPTH, "faiss_threads": 1})
    assert len(run["q0"]) == DEPTH
