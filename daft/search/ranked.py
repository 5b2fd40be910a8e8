"""A compact ranked run: per query, its hits as slices of two flat arrays (document index, score).

A run at depth 1000 over thousands of queries held as dicts or lists of (str, float) tuples costs a few
hundred bytes per hit; here a hit is 8 bytes (int32 index into one table of doc ids + float32 score:
Lucene and FAISS scores are float32, so nothing is lost) or 12 (float64 scores, kept as given: fused
scores are sums of float64 terms, and rounding them to float32 would make new ties). Per-query lists are
made only when a query is asked for. The table of doc ids is a tuple, so runs can share one safely.

One ranking per run: a run's hit order is decided once, when it is made (score descending, ties by doc id
ascending: `rank`), and everything downstream sees that order and no other. Measures and TREC files see
it through `strictly_decreasing` scores: evaluators re-sort hits by score and break ties each their own
way (trec_eval and pytrec_eval by doc id descending, ir-measures' msmarco provider ascending), so a run
with tied scores would otherwise be scored on two orderings at once.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeAlias

import numpy as np

from daft.core.errors import UserError

Hits = list[tuple[str, float]]

_MAGNITUDE = np.int32(np.iinfo(np.int32).max)
_SIGN = np.int32(np.iinfo(np.int32).min)


def rank(docs: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The order of one query's hits: score descending, ties by doc index (doc id order on a sorted table)."""
    return np.lexsort((docs, -scores))


def strictly_decreasing(scores: np.ndarray) -> np.ndarray:
    """Ranked `scores` (best first) as float32s that strictly decrease, each as close to its own as that allows.

    A score keeps its float32 value unless that ties (or is out of order with) the one above; then it is
    lowered to the float32 just below that one: an Anserini-like tie adjuster at the scale of one float32
    step. float32, because trec_eval (and so pytrec_eval) holds scores as C floats: float64 scores that
    differ only past float32's precision are ties there. In the integers that order float32s, this is
    t[i] = min(s[i], t[i-1] - 1).
    """
    values = np.asarray(scores).astype(np.float32)
    bits = values.view(np.int32).astype(np.int64)
    ordered = np.where(bits < 0, -(bits & _MAGNITUDE), bits)
    steps = np.arange(len(values), dtype=np.int64)
    adjusted = (np.minimum.accumulate(ordered + steps) - steps).astype(np.int32)
    return np.where(adjusted < 0, (-adjusted) | _SIGN, adjusted).view(np.float32)


class RankedRun(Mapping[str, Hits]):
    """qid -> ranked (doc id, score), best first; read-only, backed by flat numpy arrays."""

    def __init__(
        self,
        qids: Sequence[str],
        doc_table: Sequence[str],
        offsets: np.ndarray,
        docs: np.ndarray,
        scores: np.ndarray,
    ) -> None:
        """Query `qids[i]`'s hits are `docs[offsets[i]:offsets[i+1]]` (indices into `doc_table`), `scores` alike."""
        if len(offsets) != len(qids) + 1 or len(docs) != len(scores) or int(offsets[-1]) != len(docs):
            raise UserError(
                f"ranked run: {len(qids)} queries, {len(offsets)} offsets, {len(docs)} hits and "
                f"{len(scores)} scores do not fit together"
            )
        self.qids = list(qids)
        self.doc_table = doc_table if isinstance(doc_table, tuple) else tuple(doc_table)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.docs = np.asarray(docs, dtype=np.int32)
        scores = np.asarray(scores)
        self.scores = scores if scores.dtype == np.float64 else scores.astype(np.float32, copy=False)
        self._row = {qid: i for i, qid in enumerate(self.qids)}

    def __getitem__(self, qid: str) -> Hits:
        docs, scores = self.row(qid)
        table = self.doc_table
        return [(table[d], float(s)) for d, s in zip(docs.tolist(), scores.tolist(), strict=True)]

    def __contains__(self, qid: object) -> bool:
        return qid in self._row

    def final(self, qid: str) -> Hits:
        """Query `qid`'s hits in rank order with `strictly_decreasing` scores: what every evaluator and TREC
        file sees, so that none can re-order ties its own way."""
        docs, scores = self.row(qid)
        table = self.doc_table
        return list(zip([table[d] for d in docs.tolist()], strictly_decreasing(scores).tolist(), strict=True))

    def row(self, qid: str) -> tuple[np.ndarray, np.ndarray]:
        """Query `qid`'s hits as views: document indices into `doc_table`, and scores; best first."""
        row = self._row[qid]
        start, end = int(self.offsets[row]), int(self.offsets[row + 1])
        return self.docs[start:end], self.scores[start:end]

    def __iter__(self) -> Iterator[str]:
        return iter(self.qids)

    def __len__(self) -> int:
        return len(self.qids)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return len(self) == len(other) and all(qid in other and self[qid] == other[qid] for qid in self)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking Mapping semantics, like dict

    @classmethod
    def from_hits(
        cls, qids: Sequence[str], names: Sequence[str], hits: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> RankedRun:
        """The run of `qids[i]`'s ranked `hits[i]` = (indices into `names`, scores).

        The doc table keeps only the names used, numbered in order of first use, so that a run is the same
        arrays whatever larger table its hits came from.
        """
        if len(hits) != len(qids):
            raise UserError(f"ranked run: {len(qids)} queries but hits for {len(hits)}")
        run = cls.from_rows(qids, names, [d for d, _ in hits], [s for _, s in hits])
        used, first = np.unique(run.docs, return_index=True)
        used = used[np.argsort(first)]
        number = np.zeros(int(used.max()) + 1 if len(used) else 0, dtype=np.int32)
        number[used] = np.arange(len(used), dtype=np.int32)
        return cls(qids, [names[i] for i in used.tolist()], run.offsets, number[run.docs], run.scores)

    @classmethod
    def from_rows(
        cls,
        qids: Sequence[str],
        doc_table: Sequence[str],
        docs: Sequence[np.ndarray],
        scores: Sequence[np.ndarray],
        *,
        empty: type = np.float32,
    ) -> RankedRun:
        """The run whose query `qids[i]` has the ranked hits `docs[i]` (indices into `doc_table`) and
        `scores[i]`; `empty` is the score dtype of a run without queries."""
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=len(docs))
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        flat_docs = np.concatenate(docs) if len(docs) else np.zeros(0, np.int32)
        flat_scores = np.concatenate(scores) if len(scores) else np.zeros(0, empty)
        return cls(qids, doc_table, offsets, flat_docs, flat_scores)

    @classmethod
    def from_scores(cls, run: Mapping[str, Mapping[str, float]]) -> RankedRun:
        """A qid -> doc id -> score run ranked by `rank` on a sorted table of its doc ids, scores exact
        (float64)."""
        table = tuple(sorted({doc for hits in run.values() for doc in hits}))
        position = {doc: i for i, doc in enumerate(table)}
        docs, scores = [], []
        for hits in run.values():
            row_docs = np.fromiter(map(position.__getitem__, hits), dtype=np.int32, count=len(hits))
            row_scores = np.fromiter(hits.values(), dtype=np.float64, count=len(hits))
            order = rank(row_docs, row_scores)
            docs.append(row_docs[order])
            scores.append(row_scores[order])
        return cls.from_rows(list(run), table, docs, scores, empty=np.float64)

    @property
    def hits(self) -> int:
        """Hits over all queries."""
        return len(self.docs)

    def take(self, qids: Sequence[str], depth: int | None = None) -> RankedRun:
        """The run of `qids` in that order (a query this run lacks gets no hits), each cut to `depth` hits."""
        rows = np.fromiter((self._row.get(q, -1) for q in qids), dtype=np.int64, count=len(qids))
        present = rows >= 0  # a missing row's -1 and 0 index real offsets, then masked
        starts = np.where(present, self.offsets[rows], 0)
        ends = np.where(present, self.offsets[rows + 1], 0)
        if depth is not None:
            ends = np.minimum(ends, starts + depth)
        lengths = ends - starts
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        # Each kept hit's position in the flat arrays: its row's start plus its rank within the row.
        picked = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
        return RankedRun(qids, self.doc_table, offsets, self.docs[picked], self.scores[picked])

    def to_dict(self) -> dict[str, dict[str, float]]:
        """qid -> doc id -> score, in rank order: the dict shape, for small runs (tests, other tools)."""
        return {qid: dict(self[qid]) for qid in self.qids}

    def to_bytes(self) -> bytes:
        """The arrays as an .npz file's bytes (written atomically by the caller)."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            qids=np.array(self.qids, dtype=str),
            doc_table=np.array(self.doc_table, dtype=str),
            offsets=self.offsets,
            docs=self.docs,
            scores=self.scores,
        )
        return buffer.getvalue()

    @classmethod
    def load(cls, path: Path) -> RankedRun:
        """Read a run written from `to_bytes`; a damaged file is a UserError naming it."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in ("qids", "doc_table", "offsets", "docs", "scores")}
        except (OSError, ValueError, KeyError) as err:
            raise UserError(f"{path}: not a readable ranked run ({err})") from None
        if len(arrays["docs"]) and not 0 <= int(arrays["docs"].min()) <= int(arrays["docs"].max()) < len(
            arrays["doc_table"]
        ):
            raise UserError(f"{path}: document indices outside its table of {len(arrays['doc_table'])} ids")
        return cls(
            arrays["qids"].tolist(),
            arrays["doc_table"].tolist(),
            arrays["offsets"],
            arrays["docs"],
            arrays["scores"],
        )


# What a run may come in as wherever one goes in (evaluation, fusion): compact, or qid -> doc id -> score.
AnyRun: TypeAlias = RankedRun | Mapping[str, Mapping[str, float]]
