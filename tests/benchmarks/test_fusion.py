"""Fusion of two 1000-doc rankings (a lexical and a dense run), for one query and for 100 queries.

The two runs overlap in part (each draws its 1000 docs from the same 1500), so interpolation fills the
missing side for some candidates, as it does with real BM25 and dense runs. They are compact runs on one
table of doc ids, as the retrieval runner makes them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from bench.retrieval.fusion import interpolate, rrf
from bench.retrieval.runs import RankedRun, compact, on_one_table

pytestmark = pytest.mark.benchmark(group="fuse two 1000-doc runs")

DEPTH, POOL = 1000, 1500

METHODS: dict[str, Callable[[RankedRun, RankedRun], RankedRun]] = {
    "interpolate": lambda lexical, dense: interpolate(lexical, dense, 0.5),
    "rrf": lambda lexical, dense: rrf([lexical, dense]),
}


def _run(rng: np.random.Generator, queries: int, scale: float) -> dict[str, dict[str, float]]:
    """`queries` queries of DEPTH docs each, drawn from a pool of POOL, with random scores."""
    return {
        f"q{q}": {
            f"d{doc}": float(score)
            for doc, score in zip(
                rng.choice(POOL, size=DEPTH, replace=False), rng.random(DEPTH) * scale, strict=True
            )
        }
        for q in range(queries)
    }


@pytest.mark.parametrize("queries", [1, 100])
@pytest.mark.parametrize("method", list(METHODS))
def test_fuse(benchmark: BenchmarkFixture, method: str, queries: int) -> None:
    rng = np.random.default_rng(0)
    # BM25 scores are unbounded, cosines are in [-1, 1]: the normalisation has real work to do.
    lexical, dense = on_one_table([compact(_run(rng, queries, 30.0)), compact(_run(rng, queries, 1.0))])
    fused = benchmark(METHODS[method], lexical, dense)
    benchmark.extra_info.update({"queries": queries, "depth": DEPTH})
    assert len(fused) == queries and all(len(docs) >= DEPTH for docs in fused.values())
