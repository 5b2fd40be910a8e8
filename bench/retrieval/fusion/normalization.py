"""Per-query score normalisation, so that scores from different retrievers can be added.

* ``none``: scores as given.
* ``min-max``: ``(s - min) / (max - min)`` over the query's list, into [0, 1].
* ``z-score``: ``(s - mean) / std`` with the population standard deviation (ddof=0) over the query's list.

Min-max is from J. H. Lee, "Analyses of multiple evidence combination", SIGIR 1997; z-score from
M. Montague and J. A. Aslam, "Relevance score normalization for metasearch", CIKM 2001; both are compared
for hybrid lexical/dense retrieval in S. Bruch, S. Gai and A. Ingber, "An Analysis of Fusion Functions for
Hybrid Retrieval", ACM TOIS 42(1), 2023. A query whose scores are all equal maps to all 0.0 under both,
see `_spread`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bench.retrieval.runs import AnyRun, RankedRun, check_choice, compact

__all__ = ["NORMALIZATIONS", "normalize"]


def _spread(scores: np.ndarray) -> bool:
    """Whether the scores differ at all; equal scores normalise to 0.0 rather than to 0 / 0."""
    # All-equal scores say nothing about which doc is better. 0 / 0 would be NaN and poison every fused
    # score; 0.0 (min-max's floor, z-score's mean) adds the same constant to every candidate, so the other
    # side alone decides the order. Comparing max and min, not std against 0, also catches a constant list
    # whose float mean is off by an ulp (std 1e-17 would blow the scores up instead).
    return bool(scores.max() > scores.min())


def _min_max(scores: np.ndarray) -> np.ndarray:
    """Min-max scaling into [0, 1]."""
    if not _spread(scores):
        return np.zeros_like(scores)
    return (scores - scores.min()) / (scores.max() - scores.min())


def _z_score(scores: np.ndarray) -> np.ndarray:
    """Standard scores with the population standard deviation."""
    if not _spread(scores):
        return np.zeros_like(scores)
    return (scores - scores.mean()) / scores.std()


_METHODS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": lambda scores: scores,
    "min-max": _min_max,
    "z-score": _z_score,
}

NORMALIZATIONS = tuple(_METHODS)


def normalize(run: AnyRun, method: str) -> RankedRun:
    """Normalise each query's scores with `method` (one of `NORMALIZATIONS`), using only that query's list;
    float64 scores, the hits in the order they came."""
    check_choice("normalization", method, NORMALIZATIONS)
    run = compact(run)
    scale = _METHODS[method]
    scores = run.scores.astype(np.float64)  # a copy: the input run is left as it is
    if method != "none":
        bounds = run.offsets.tolist()
        for start, end in zip(bounds[:-1], bounds[1:], strict=True):
            if end > start:  # an empty list has no min or max: it stays empty
                scores[start:end] = scale(scores[start:end])
    return RankedRun(run.qids, run.doc_table, run.offsets, run.docs, scores)
