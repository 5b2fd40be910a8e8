"""Reciprocal rank fusion: ``score(d) = sum over runs r of 1 / (k + rank_r(d))``.

G. V. Cormack, C. L. A. Clarke and S. Buettcher, "Reciprocal Rank Fusion outperforms Condorcet and
individual Rank Learning Methods", SIGIR 2009, with k = 60 as there. Ranks start at 1 and come from
`bench.retrieval.runs.rank` (ties by doc id), so fusing runs with tied scores is deterministic. A doc a
run did not retrieve (or ranked below `depth`) gets nothing from that run.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench.retrieval.runs import AnyRun, RankedRun, Rows, check_cutoff, compact, on_one_table, rank
from daft.core.errors import UserError

__all__ = ["rrf"]


def rrf(runs: Sequence[AnyRun], k: int = 60, *, depth: int | None = None) -> RankedRun:
    """Fuse `runs` by reciprocal rank, counting only each run's top `depth` ranks when `depth` is given;
    each query's fused hits ranked (ties by doc id)."""
    if not runs:
        raise UserError("rrf needs at least one run, got none")
    if k < 0:
        raise UserError(f"rrf k must be >= 0, got {k!r}")
    check_cutoff("depth", depth)
    compacts = on_one_table([compact(run) for run in runs])
    qids = list(dict.fromkeys(qid for run in compacts for qid in run.qids))
    # Per doc of the table, its sum so far in the current query (reset after it: a query costs its hits).
    total = np.zeros(len(compacts[0].doc_table), np.float64)
    rows = Rows()
    for qid in qids:
        fused = []
        for run in compacts:
            if qid in run:
                docs, scores = run.row(qid)
                ranked = docs[rank(docs, scores)[:depth]]
                # Run by run, in order: the same float additions as summing each doc's terms in a loop.
                total[ranked] += 1.0 / (k + np.arange(1, len(ranked) + 1))
                fused.append(ranked)
        docs = np.concatenate(fused) if fused else np.zeros(0, np.int32)
        docs = np.unique(docs)
        scores = total[docs]
        total[docs] = 0.0
        order = rank(docs, scores)
        rows.add(qid, docs[order], scores[order])
    return rows.build(compacts[0].doc_table)
