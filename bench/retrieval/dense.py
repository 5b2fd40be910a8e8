"""Dense retrieval with FAISS: an inner-product index over normalised document vectors (cosine ranking).

`flat` (IndexFlatIP) is exact and the default; `hnsw` (IndexHNSWFlat, inner product) is approximate and is
there for corpora where exact search is too slow (Malkov & Yashunin, "Efficient and robust approximate
nearest neighbor search using Hierarchical Navigable Small World graphs", TPAMI 2020).
"""

from __future__ import annotations

from collections.abc import Sequence

import faiss
import numpy as np

from bench.retrieval.runs import Run
from daft.errors import UserError

INDEXES = ("flat", "hnsw")
HNSW_M = 32  # neighbours per node: FAISS's usual choice for a few hundred dimensions
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 256  # above the usual depth of 100-1000 hits it must return well


def build_index(vectors: np.ndarray, kind: str = "flat") -> faiss.Index:
    """A FAISS inner-product index over `vectors` (n x d, float32, L2-normalised)."""
    if kind not in INDEXES:
        raise UserError(f"unknown index {kind!r}; known: {', '.join(INDEXES)}")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    index.add(vectors)
    return index


def search(
    index: faiss.Index,
    doc_ids: Sequence[str],
    query_vectors: np.ndarray,
    qids: Sequence[str],
    depth: int,
    *,
    label: str = "dense",
) -> Run:
    """The top-`depth` documents of each query as a run (qid -> doc id -> inner product)."""
    if query_vectors.shape[1] != index.d:
        raise UserError(
            f"{label}: query vectors are {query_vectors.shape[1]}-d but the document index is {index.d}-d "
            "(the pair's query and document encoders disagree)"
        )
    k = min(depth, index.ntotal)
    scores, rows = index.search(np.ascontiguousarray(query_vectors, dtype=np.float32), k)
    run: Run = {}
    for qid, row_scores, row_ids in zip(qids, scores, rows, strict=True):
        # HNSW may return fewer than k hits (-1 rows) on small graphs.
        run[qid] = {doc_ids[j]: float(s) for s, j in zip(row_scores, row_ids, strict=True) if j >= 0}
    return run
