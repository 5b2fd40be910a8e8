"""Runs: the one shape retrieval results take here, and the deterministic ranking everything else uses.

A run is a `daft.search.ranked.RankedRun`: per query, its hits best first as slices of flat arrays (an int32
index into a table of doc ids and a float32 or float64 score), 8-12 bytes a hit. The qid -> doc id -> score
dict that `ir_measures` and `ranx` accept (S. MacAvaney, C. Macdonald and I. Ounis, "Streamlining
Evaluation with ir-measures", ECIR 2022; E. Bassani, "ranx: A Blazing-Fast Python Library for Ranking
Evaluation and Comparison", ECIR 2022) costs some hundred bytes a hit: a depth-1000 run over 10k queries
would be about a gigabyte. Dict runs are still accepted wherever a run goes in (`compact`).

Ties in score are broken by doc id ascending (`daft.search.ranked.rank`), so that a ranking never depends on input
order and fused runs are reproducible across processes and input files. Runs that are combined share one
*sorted* table (`DocIndex`), where index order is doc id order, so sorting hits by (score descending, index)
is that rule. That order is the run's one ranking: evaluation and TREC files see it through
`daft.search.ranked.strictly_decreasing` scores.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence

import numpy as np

from daft.core.errors import UserError
from daft.search.ranked import AnyRun, RankedRun, rank

__all__ = [
    "AnyRun",
    "DocIndex",
    "RankedRun",
    "Rows",
    "check_choice",
    "check_cutoff",
    "compact",
    "concat",
    "on_one_table",
    "rank",
]


def check_choice(what: str, value: str, known: Sequence[str]) -> None:
    """Raise a UserError naming `value` and the `known` options when `value` is not one of them."""
    if value not in known:
        raise UserError(f"unknown {what} {value!r}; known: {', '.join(known)}")


def check_cutoff(name: str, value: int | None) -> None:
    """Raise a UserError unless `value` is None (no cut-off) or a positive integer."""
    if value is not None and (not isinstance(value, int) or value < 1):
        raise UserError(f"{name} must be a positive integer or None, got {value!r}")


class DocIndex:
    """A sorted table of doc ids and where each id is: the table the runs of one corpus share."""

    def __init__(self, doc_ids: Iterable[str]) -> None:
        self.ids: tuple[str, ...] = tuple(sorted(set(doc_ids)))
        self._position = {doc_id: i for i, doc_id in enumerate(self.ids)}

    def positions(self, doc_ids: Sequence[str], label: str) -> np.ndarray:
        """The index of each of `doc_ids`; one outside the table is a UserError naming it."""
        if doc_ids is self.ids:
            return np.arange(len(self.ids), dtype=np.int32)
        try:
            return np.fromiter((self._position[d] for d in doc_ids), dtype=np.int32, count=len(doc_ids))
        except KeyError as err:
            raise UserError(f"{label}: document {err.args[0]!r} is not in the corpus") from None

    def adopt(self, run: RankedRun, label: str) -> RankedRun:
        """`run` with its hits indexing this table (same queries, order and scores)."""
        if run.doc_table is self.ids:
            return run
        remap = self.positions(run.doc_table, label)
        return RankedRun(run.qids, self.ids, run.offsets, remap[run.docs], run.scores)


class Rows:
    """Collects ranked rows (qid, doc indices, scores) into one RankedRun."""

    def __init__(self) -> None:
        self._qids: list[str] = []
        self._docs: list[np.ndarray] = []
        self._scores: list[np.ndarray] = []

    def add(self, qid: str, docs: np.ndarray, scores: np.ndarray) -> None:
        """Append query `qid`'s hits, already ranked."""
        self._qids.append(qid)
        self._docs.append(docs)
        self._scores.append(scores)

    def build(self, table: tuple[str, ...]) -> RankedRun:
        """The run of every row added, its doc indices into `table`."""
        return RankedRun.from_rows(self._qids, table, self._docs, self._scores, empty=np.float64)


def _is_sorted(table: Sequence[str]) -> bool:
    return all(map(operator.lt, table, table[1:]))


def compact(run: AnyRun) -> RankedRun:
    """`run` as a RankedRun: a dict run ranked (ties by doc id), scores kept exactly (float64)."""
    return run if isinstance(run, RankedRun) else RankedRun.from_scores(run)


def on_one_table(runs: Sequence[RankedRun]) -> list[RankedRun]:
    """`runs` indexing one sorted table: as they are when they already share one (the runner's case)."""
    first = runs[0].doc_table
    if all(run.doc_table is first for run in runs) and _is_sorted(first):
        return list(runs)
    table = DocIndex(doc for run in runs for doc in run.doc_table)
    return [table.adopt(run, "run") for run in runs]


def concat(runs: Sequence[RankedRun]) -> RankedRun:
    """The queries of `runs` (each query in one of them) as one run, in order."""
    if not runs:
        return Rows().build(())
    runs = on_one_table(runs)
    shifts = np.cumsum([0] + [run.hits for run in runs[:-1]])
    return RankedRun(
        [qid for run in runs for qid in run.qids],
        runs[0].doc_table,
        np.concatenate([[0]] + [run.offsets[1:] + shift for run, shift in zip(runs, shifts, strict=True)]),
        np.concatenate([run.docs for run in runs]),
        np.concatenate([run.scores for run in runs]),
    )
