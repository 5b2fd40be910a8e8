"""Which FAISS index for a corpus: build time, search time, size and recall@k against exact search.

Recall here is the overlap of each index's top-k with the exact (flat) top-k, averaged over queries:
what the approximation loses, independent of relevance judgements.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import faiss
import numpy as np

from bench.retrieval.dense import INDEXES, build_index


@dataclass(frozen=True)
class IndexFigures:
    """One index kind measured on one corpus and query set."""

    kind: str
    build_s: float
    search_s: float
    bytes: int
    recall: float  # mean |top-k ∩ exact top-k| / k


def measure(
    docs: np.ndarray, queries: np.ndarray, *, k: int = 100, kinds: tuple[str, ...] = INDEXES
) -> list[IndexFigures]:
    """Build every index of `kinds` over `docs`, search `queries` at depth `k`, compare with flat."""
    k = min(k, len(docs))
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    rows: list[IndexFigures] = []
    exact: np.ndarray | None = None
    for kind in ("flat", *[kind for kind in kinds if kind != "flat"]):
        started = time.perf_counter()
        index = build_index(docs, kind)
        built = time.perf_counter()
        _, found = index.search(queries, k)
        searched = time.perf_counter()
        if exact is None:
            exact = found
        recall = float(
            np.mean(
                [
                    len(set(a[a >= 0].tolist()) & set(b.tolist())) / k
                    for a, b in zip(found, exact, strict=True)
                ]
            )
        )
        size = int(faiss.serialize_index(index).size)
        rows.append(IndexFigures(kind, built - started, searched - built, size, recall))
    return [row for row in rows if row.kind in kinds]
