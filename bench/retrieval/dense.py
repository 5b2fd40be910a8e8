"""Dense retrieval with FAISS: an inner-product index over normalised document vectors (cosine ranking).

`flat` (IndexFlatIP) is exact and the default; `hnsw` (IndexHNSWFlat, inner product) is approximate and is
there for corpora where exact search is too slow (Malkov & Yashunin, "Efficient and robust approximate
nearest neighbor search using Hierarchical Navigable Small World graphs", TPAMI 2020); `ivfpq`
(IndexIVFPQ: an inverted file of k-means cells, vectors compressed by product quantisation; Jegou et al.,
"Product quantization for nearest neighbor search", TPAMI 2011) is for corpora whose float32 vectors do
not fit in memory: `dim / 4` bytes per vector instead of `4 * dim`. docs/SCALE.md measures all three.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from bench.retrieval.runs import DocIndex, RankedRun, Rows
from daft.core.errors import UserError

if TYPE_CHECKING:
    import faiss

INDEXES = ("flat", "hnsw", "ivfpq")
HNSW_M = 32  # neighbours per node: FAISS's usual choice for a few hundred dimensions
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 256  # above the usual depth of 100-1000 hits it must return well
IVF_CELLS_PER_SQRT_N = 4  # nlist = 4 sqrt(n): FAISS's guideline range is 4-16 sqrt(n)
IVF_NPROBE = 32  # cells visited per query
# One 8-bit code per 4 dimensions: on minilm-l6 wordnet-small, recall@100 vs flat 0.76 (per 8: 0.66).
PQ_DIMS_PER_CODE = 4
PQ_BITS = 8
# k-means wants ~39 training points per centroid (FAISS warns below); PQ needs 2^bits per sub-quantiser.
TRAIN_POINTS_PER_CELL = 39
# Queries ranked at a time: bounds the temporaries of sorting the hits (a block at depth 1000 is ~40 MB).
RANK_BLOCK = 2048


def _sub_quantizers(dim: int) -> int:
    """The largest divisor of `dim` not above dim / 4: FAISS needs the sub-vectors to tile the vector."""
    target = max(1, dim // PQ_DIMS_PER_CODE)
    return max(m for m in range(1, target + 1) if dim % m == 0)


def ivfpq_index(vectors: np.ndarray, *, nprobe: int = IVF_NPROBE) -> faiss.Index:
    """An IVF-PQ inner-product index trained on `vectors` (all of them, or a seeded sample of a big corpus)."""
    n, dim = vectors.shape
    if n < 2**PQ_BITS:
        raise UserError(f"index ivfpq needs at least {2**PQ_BITS} documents to train on, got {n}; use flat")
    import faiss  # imported where an index is built: suite validation reads INDEXES without it

    nlist = max(1, min(int(IVF_CELLS_PER_SQRT_N * math.sqrt(n)), n // TRAIN_POINTS_PER_CELL))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFPQ(quantizer, dim, nlist, _sub_quantizers(dim), PQ_BITS, faiss.METRIC_INNER_PRODUCT)
    sample = max(nlist * 256, 2**PQ_BITS * 100)
    train = vectors if n <= sample else vectors[np.random.default_rng(0).choice(n, sample, replace=False)]
    index.train(train)
    index.nprobe = min(nprobe, nlist)
    return index


def build_index(vectors: np.ndarray, kind: str = "flat") -> faiss.Index:
    """A FAISS inner-product index over `vectors` (n x d, float32, L2-normalised)."""
    if kind not in INDEXES:
        raise UserError(f"unknown index {kind!r}; known: {', '.join(INDEXES)}")
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = ivfpq_index(vectors)
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
    table: DocIndex | None = None,
) -> RankedRun:
    """The top-`depth` documents of each query by inner product (float32, as FAISS computes it), ranked
    with ties by doc id; doc indices into `table` (the run's own sorted table of `doc_ids` if not given)."""
    if query_vectors.shape[1] != index.d:
        raise UserError(
            f"{label}: query vectors are {query_vectors.shape[1]}-d but the document index is {index.d}-d "
            "(the pair's query and document encoders disagree)"
        )
    table = DocIndex(doc_ids) if table is None else table
    where = table.positions(doc_ids, label)  # index row -> doc index in the table
    k = min(depth, index.ntotal)
    # One FAISS call for every query: FAISS's BLAS blocking depends on the number of queries, and scores
    # searched in other blocks can differ in the last bit (the runs would then differ from earlier ones).
    all_scores, all_found = index.search(np.ascontiguousarray(query_vectors, dtype=np.float32), k)
    rows = Rows()
    for start in range(0, len(qids), RANK_BLOCK):
        scores, found = all_scores[start : start + RANK_BLOCK], all_found[start : start + RANK_BLOCK]
        # HNSW and IVF may return fewer than k hits (-1 rows: a small graph, too few probed cells): those
        # sort last and are dropped.
        hit = found >= 0
        docs = where[np.where(hit, found, 0)]
        order = np.lexsort((docs, np.where(hit, -scores, np.inf)), axis=-1)
        docs, scores, hit = (np.take_along_axis(a, order, axis=-1) for a in (docs, scores, hit))
        block_qids = qids[start : start + RANK_BLOCK]
        for qid, row_docs, row_scores, row_hit in zip(block_qids, docs, scores, hit, strict=True):
            rows.add(qid, row_docs[row_hit], row_scores[row_hit])
    return rows.build(table.ids)
