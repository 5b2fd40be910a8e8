"""Runs: the one shape retrieval results take here, and the deterministic ranking everything else uses.

A run maps query id -> doc id -> score, higher is better: the dict shape `ir_measures` and `ranx` accept
(S. MacAvaney, C. Macdonald and I. Ounis, "Streamlining Evaluation with ir-measures", ECIR 2022;
E. Bassani, "ranx: A Blazing-Fast Python Library for Ranking Evaluation and Comparison", ECIR 2022).
Ties in score are broken by doc id ascending, so that a ranking never depends on dict insertion order and
fused runs are reproducible across processes and input files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from daft.errors import UserError
from daft.evaluation import Run

__all__ = ["Run", "check_choice", "check_cutoff", "ranking", "top_k"]


def check_choice(what: str, value: str, known: Sequence[str]) -> None:
    """Raise a UserError naming `value` and the `known` options when `value` is not one of them."""
    if value not in known:
        raise UserError(f"unknown {what} {value!r}; known: {', '.join(known)}")


def check_cutoff(name: str, value: int | None) -> None:
    """Raise a UserError unless `value` is None (no cut-off) or a positive integer."""
    if value is not None and (not isinstance(value, int) or value < 1):
        raise UserError(f"{name} must be a positive integer or None, got {value!r}")


def ranking(scores: Mapping[str, float], k: int | None = None) -> list[tuple[str, float]]:
    """One query's (doc id, score) pairs by score descending, ties by doc id ascending; the first `k` if given."""
    check_cutoff("k", k)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]


def top_k(run: Mapping[str, Mapping[str, float]], k: int | None) -> Run:
    """Each query's top `k` docs, inserted in rank order (every doc when `k` is None)."""
    return {qid: dict(ranking(docs, k)) for qid, docs in run.items()}
