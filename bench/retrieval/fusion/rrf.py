"""Reciprocal rank fusion: ``score(d) = sum over runs r of 1 / (k + rank_r(d))``.

G. V. Cormack, C. L. A. Clarke and S. Buettcher, "Reciprocal Rank Fusion outperforms Condorcet and
individual Rank Learning Methods", SIGIR 2009, with k = 60 as there. Ranks start at 1 and come from
`bench.retrieval.runs.ranking` (ties by doc id), so fusing runs with tied scores is deterministic. A doc a
run did not retrieve (or ranked below `depth`) gets nothing from that run.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.retrieval.runs import Run, check_cutoff, ranking
from daft.errors import UserError

__all__ = ["rrf"]


def rrf(runs: Sequence[Run], k: int = 60, *, depth: int | None = None) -> Run:
    """Fuse `runs` by reciprocal rank, counting only each run's top `depth` ranks when `depth` is given."""
    if not runs:
        raise UserError("rrf needs at least one run, got none")
    if k < 0:
        raise UserError(f"rrf k must be >= 0, got {k!r}")
    check_cutoff("depth", depth)
    fused: Run = {}
    for run in runs:
        for qid, docs in run.items():
            scores = fused.setdefault(qid, {})
            for rank, (doc, _) in enumerate(ranking(docs, depth), start=1):
                scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    return fused
