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
from typing import Any

from bench.retrieval.fusion import interpolate, normalize
from bench.retrieval.runs import AnyRun, RankedRun, concat
from bench.specs import RetrievalSpec
from daft.core.errors import UserError

AUTO, CV = "auto", "cv"  # values of `tune_split` that are not split names
PREFERRED = ("dev", "train")  # what "auto" tunes on, in this order, before cross-validating


@dataclass(frozen=True)
class Tuning:
    """How alpha is chosen: on `split` (folds 0), or by `folds`-fold cross-validation over `split`."""

    split: str
    folds: int = 0


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


def _normalized(run: AnyRun, spec: RetrievalSpec) -> RankedRun:
    """`run` normalised once for every alpha (fusing it again with "none" is the same fusion)."""
    return normalize(run, spec.normalization)


def _fuse(lexical: RankedRun, dense_run: RankedRun, alpha: float, spec: RetrievalSpec) -> RankedRun:
    """The hybrid run of two `_normalized` runs."""
    return interpolate(lexical, dense_run, alpha, normalization="none", missing=spec.missing, k=spec.depth)


def _values_by_alpha(
    lexical: RankedRun, dense_run: RankedRun, qrels: Mapping, spec: RetrievalSpec
) -> dict[float, dict[str, float]]:
    """alpha -> query id -> the first measure of the fused run, for every alpha of the grid."""
    from daft.search.evaluation import evaluate_run  # imports torch: --dry-run describes tuning without it

    target = spec.measures[0]
    return {
        alpha: evaluate_run(_fuse(lexical, dense_run, alpha, spec), qrels, [target])[1][target]
        for alpha in spec.alpha_grid
    }


def _best(
    values: Mapping[float, Mapping[str, float]], qids: Sequence[str], target: str
) -> tuple[float, list]:
    """The alpha with the best mean over `qids` (ties: the first of the grid), and the whole curve."""
    curve = [
        {"alpha": alpha, target: sum(per_query[q] for q in qids) / len(qids)}
        for alpha, per_query in values.items()
    ]
    return max(curve, key=lambda point: point[target])["alpha"], curve


def tune_alpha(
    lexical: AnyRun, dense_run: AnyRun, qrels: Mapping, spec: RetrievalSpec
) -> tuple[float, list[dict[str, float]]]:
    """The alpha of `spec.alpha_grid` with the best first measure on the tuning split, and the whole curve."""
    lexical, dense_run = _normalized(lexical, spec), _normalized(dense_run, spec)
    return _best(_values_by_alpha(lexical, dense_run, qrels, spec), list(qrels), spec.measures[0])


def cross_validate(
    lexical: AnyRun, dense_run: AnyRun, qrels: Mapping, spec: RetrievalSpec, folds: int, where: str
) -> tuple[RankedRun, list[dict[str, Any]]]:
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
    lexical, dense_run = _normalized(lexical, spec), _normalized(dense_run, spec)
    values = _values_by_alpha(lexical, dense_run, qrels, spec)
    fused: list[RankedRun] = []
    records = []
    for fold, held_out in enumerate(members):
        if not held_out:
            records.append({"fold": fold, "queries": 0, "alpha": None, "curve": []})
            continue
        others = [q for other, queries in enumerate(members) if other != fold for q in queries]
        alpha, curve = _best(values, others, spec.measures[0])
        fused.append(_fuse(lexical.take([q for q in held_out if q in lexical]), dense_run, alpha, spec))
        records.append({"fold": fold, "queries": len(held_out), "alpha": alpha, "curve": curve})
    return concat(fused), records
