"""Dense retrieval evaluated with ir-measures: the one rule every quality figure in daft and bench follows.

`dense_run` ranks documents by exact inner product; `evaluate_run` scores any run (dense, BM25, fused) with
measures named by their ir-measures strings. Aggregates are means over *every judged query*: a query the run
misses counts 0 (trec_eval's `-c`), where ir-measures on its own would leave it out and flatter a system that
returns nothing for hard queries. ir-measures (pytrec_eval) wants the run as dicts; they are made for
`EVAL_CHUNK` queries at a time, so a compact run at depth 1000 is never a dict as a whole.

Every measure scores the run's one ranking (`daft.search.ranked`): a dict run is ranked first (ties by doc
id), and the scores handed over strictly decrease in rank order, so pytrec_eval's measures and ir-measures'
own (RR) cannot order tied hits differently.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence

import ir_measures
import numpy as np
import torch

from daft.search.measures import parse_measures
from daft.search.ranked import AnyRun, RankedRun

Run = dict[str, dict[str, float]]  # qid -> doc id -> score, higher is better
Qrels = Mapping[str, Mapping[str, int]]
PerQuery = dict[str, dict[str, float]]  # measure -> qid -> value
DEPTH = 100
# Queries per ir-measures call: each query's measures depend on its own hits and judgements alone.
EVAL_CHUNK = 512


def _chunks(run: RankedRun, qrels: Qrels, size: int) -> Iterator[tuple[dict, dict]]:
    """(qrels, run) as dicts for up to `size` judged queries the run has hits for, chunk by chunk; each
    query's hits with its final (strictly decreasing) scores."""
    judged: dict[str, dict[str, int]] = {}
    hits: dict[str, dict[str, float]] = {}
    for qid in run:
        if qid in qrels and (found := dict(run.final(qid))):
            judged[qid], hits[qid] = dict(qrels[qid]), found
            if len(hits) == size:
                yield judged, hits
                judged, hits = {}, {}
    if hits:
        yield judged, hits


def evaluate_run(run: AnyRun, qrels: Qrels, names: Sequence[str]) -> tuple[dict[str, float], PerQuery]:
    """(measure -> mean, measure -> qid -> value) over every judged query of `qrels`; missed queries count 0."""
    measures = parse_measures(names)
    run = run if isinstance(run, RankedRun) else RankedRun.from_scores(run)
    per_query: PerQuery = {str(m): dict.fromkeys(qrels, 0.0) for m in measures}
    for judged, hits in _chunks(run, qrels, EVAL_CHUNK):
        for metric in ir_measures.iter_calc(measures, judged, hits):
            per_query[str(metric.measure)][metric.query_id] = float(metric.value)
    n = max(len(qrels), 1)
    aggregate = {name: sum(values.values()) / n for name, values in per_query.items()}
    return aggregate, per_query


def dense_run(
    query_vectors: np.ndarray,
    qids: Sequence[str],
    doc_vectors: np.ndarray,
    doc_ids: Sequence[str],
    depth: int = DEPTH,
) -> Run:
    """Exact inner-product top-`depth` per query, as a run (qid -> doc id -> score)."""
    with warnings.catch_warnings():
        # The cached document vectors are a read-only memmap (daft.search.embeddings); the product only
        # reads them, so torch's warning about writing to a non-writable array does not apply.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        docs = torch.from_numpy(np.ascontiguousarray(doc_vectors))
    run: Run = {}
    k = min(depth, len(doc_ids))
    for start in range(0, len(qids), 256):  # chunks bound the score matrix's memory
        scores = torch.from_numpy(np.ascontiguousarray(query_vectors[start : start + 256])) @ docs.T
        top = torch.topk(scores, k, dim=1)
        for row, qid in enumerate(qids[start : start + 256]):
            run[qid] = {doc_ids[j]: float(s) for s, j in zip(top.values[row], top.indices[row], strict=True)}
    return run


def evaluate_dense(
    query_vectors: np.ndarray,
    qids: Sequence[str],
    doc_vectors: np.ndarray,
    doc_ids: Sequence[str],
    qrels: Qrels,
    names: Sequence[str],
    depth: int = DEPTH,
) -> dict[str, float]:
    """The mean of each measure over the judged queries of `qrels` for the exact dense ranking of `qids`."""
    return evaluate_run(dense_run(query_vectors, qids, doc_vectors, doc_ids, depth), qrels, names)[0]
