"""Where hybrid alpha is tuned: a separate split (dev, else train), or k-fold cross-validation on the test.

Most BEIR sets ship only a test split. IR papers then cross-validate: the test queries are split into k
folds, alpha is chosen on the other k-1 folds and applied to each held-out fold, and the measures come
from the assembled run, so no query is ranked with an alpha chosen on itself. Folds are a stable hash of
the query id (the same fold for a query in every run, on every machine, whatever else the split holds).

The per-query value of every alpha of the grid is computed once; a fold's choice is then the best mean
over the other folds' queries (fusion and the measures are per query, so this equals fusing and
evaluating the other folds alone), and only the chosen alpha of each fold is fused again for its queries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.retrieval.fusion import interpolate, normalize
from bench.retrieval.runs import AnyRun, RankedRun, concat
from daft.core.errors import UserError

AUTO, CV = "auto", "cv"  # the values of `tune_split` that are not split names
PREFERRED = ("dev", "train")  # what "auto" tunes on, in this order, before cross-validating


@dataclass(frozen=True)
class Tuning:
    """How alpha is chosen: on `split` (folds 0), or by `folds`-fold cross-validation over `split`."""

    split: str
    folds: int = 0


@dataclass(frozen=True)
class AlphaSearch:
    """What alpha is chosen by: the grid, the measure it maximises, and how the two runs are fused."""

    grid: tuple[float, ...]
    measure: str
    normalization: str = "min-max"
    missing: str = "min"
    depth: int | None = None


@dataclass(frozen=True)
class Tuned:
    """One choice of alpha: the best of the grid (ties: the first) and the curve it was chosen on, (alpha,
    mean of the measure); under cross-validation one per fold, over the other folds' queries."""

    alpha: float | None  # None: a fold without queries
    curve: tuple[tuple[float, float], ...]
    fold: int | None = None
    queries: int = 0  # the fold's held-out queries


def describe_request(requested: str, test_split: str, folds: int) -> str:
    """What `tune_split` will do before the collection is read (`--dry-run`)."""
    if requested == AUTO:
        return f"{' if present, else '.join(PREFERRED)}, else {folds}-fold CV on {test_split}"
    return f"{folds}-fold CV on {test_split}" if requested == CV else requested


def resolve(requested: str, test_split: str, splits: Sequence[str], folds: int, where: str) -> Tuning:
    """The tuning `requested` ("auto", "cv" or a split name) means for a collection with `splits`."""
    if requested == CV:
        return Tuning(test_split, folds)
    if requested == AUTO:
        present = [s for s in PREFERRED if s in splits and s != test_split]
        return Tuning(present[0]) if present else Tuning(test_split, folds)
    if requested in splits:
        return Tuning(requested)
    others = [s for s in splits if s != test_split]
    instead = f", or one of its other splits ({', '.join(others)})" if others else ""
    raise UserError(
        f"{where} tune_split: the collection has no split {requested!r} (has: {', '.join(splits)}); "
        f'set tune_split = "auto" (dev, else train, else {folds}-fold CV on {test_split}), "cv"{instead}'
    )


def fold_of(qid: str, folds: int) -> int:
    """The fold of query `qid`: a stable hash (not Python's salted `hash`), so every run agrees."""
    return int.from_bytes(hashlib.sha256(qid.encode("utf-8")).digest()[:8], "big") % folds


def _normalized(run: AnyRun, search: AlphaSearch) -> RankedRun:
    """`run` normalised once for every alpha (fusing it again with "none" is the same fusion)."""
    return normalize(run, search.normalization)


def _fuse(lexical: RankedRun, dense_run: RankedRun, alpha: float, search: AlphaSearch) -> RankedRun:
    """The hybrid run of two `_normalized` runs."""
    return interpolate(
        lexical, dense_run, alpha, normalization="none", missing=search.missing, k=search.depth
    )


def _values_by_alpha(
    lexical: RankedRun, dense_run: RankedRun, qrels: Mapping, search: AlphaSearch
) -> dict[float, dict[str, float]]:
    """alpha -> query id -> the measure of the fused run, for every alpha of the grid."""
    from daft.search.evaluation import evaluate_run  # imports torch: --dry-run describes tuning without it

    target = search.measure
    return {
        alpha: evaluate_run(_fuse(lexical, dense_run, alpha, search), qrels, [target])[1][target]
        for alpha in search.grid
    }


def _best(values: Mapping[float, Mapping[str, float]], qids: Sequence[str]) -> tuple[float, tuple]:
    """The alpha with the best mean over `qids` (ties: the first of the grid), and the whole curve."""
    curve = tuple((alpha, sum(per_query[q] for q in qids) / len(qids)) for alpha, per_query in values.items())
    return max(curve, key=lambda point: point[1])[0], curve


def tune_alpha(lexical: AnyRun, dense_run: AnyRun, qrels: Mapping, search: AlphaSearch) -> Tuned:
    """The alpha of the grid with the best measure on the tuning split, and the whole curve."""
    lexical, dense_run = _normalized(lexical, search), _normalized(dense_run, search)
    return Tuned(*_best(_values_by_alpha(lexical, dense_run, qrels, search), list(qrels)))


def cross_validate(
    lexical: AnyRun, dense_run: AnyRun, qrels: Mapping, search: AlphaSearch, folds: int, where: str
) -> tuple[RankedRun, tuple[Tuned, ...]]:
    """The hybrid run assembled from each fold fused at the alpha tuned on the other folds, and per fold
    its queries, alpha and curve (over the other folds)."""
    members: list[list[str]] = [[] for _ in range(folds)]
    for qid in qrels:
        members[fold_of(qid, folds)].append(qid)
    if sum(1 for m in members if m) < 2:
        raise UserError(
            f"{where} cv_folds: the {len(qrels)} judged queries fall into fewer than two of {folds} folds, "
            "so no fold has queries to tune on; use a split with more queries or a tune_split"
        )
    lexical, dense_run = _normalized(lexical, search), _normalized(dense_run, search)
    values = _values_by_alpha(lexical, dense_run, qrels, search)
    fused: list[RankedRun] = []
    records = []
    for fold, held_out in enumerate(members):
        if not held_out:
            records.append(Tuned(None, (), fold, 0))
            continue
        others = [q for other, queries in enumerate(members) if other != fold for q in queries]
        alpha, curve = _best(values, others)
        fused.append(_fuse(lexical.take([q for q in held_out if q in lexical]), dense_run, alpha, search))
        records.append(Tuned(alpha, curve, fold, len(held_out)))
    return concat(fused), tuple(records)
