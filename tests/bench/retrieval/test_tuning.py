"""Where hybrid alpha is tuned: split resolution, stable folds, and cross-validation per held-out fold."""

from __future__ import annotations

import hashlib

import pytest

from bench.retrieval.fusion import interpolate
from bench.retrieval.tuning import AlphaSearch, Tuning, cross_validate, fold_of, resolve
from daft.core.errors import UserError
from tests.conftest import under_hash_seeds

# No 0.5: there both sides tie per query, and trec_eval breaks ties by document id.
SEARCH = AlphaSearch((0.0, 1.0), "nDCG@10", depth=10)


@pytest.mark.parametrize(
    ("requested", "splits", "expected"),
    [
        ("auto", ("train", "dev", "test"), Tuning("dev")),
        ("auto", ("train", "test"), Tuning("train")),
        ("auto", ("test",), Tuning("test", 5)),
        ("auto", ("dev",), Tuning("dev", 5)),  # testing on dev: never tuned on it
        ("cv", ("dev", "test"), Tuning("test", 5)),
        ("train", ("train", "dev", "test"), Tuning("train")),
    ],
)
def test_resolve(requested: str, splits: tuple[str, ...], expected: Tuning) -> None:
    test_split = "dev" if splits == ("dev",) else "test"
    assert resolve(requested, test_split, splits, 5, "s.toml: [retrieval]") == expected


def test_a_missing_tuning_split_names_the_fixes() -> None:
    with pytest.raises(UserError) as err:
        resolve("dev", "test", ("test", "extra"), 5, "s.toml: [retrieval]")
    assert str(err.value) == (
        "s.toml: [retrieval] tune_split: the collection has no split 'dev' (has: test, extra); "
        'set tune_split = "auto" (dev, else train, else 5-fold CV on test), "cv", '
        "or one of its other splits (extra)"
    )


def test_folds_are_stable_and_independent_of_the_other_queries() -> None:
    qids = [f"q{i}" for i in range(200)]
    folds = [fold_of(q, 5) for q in qids]
    assert folds == [fold_of(q, 5) for q in reversed(qids)][::-1]
    assert set(folds) == set(range(5)) and min(folds.count(f) for f in range(5)) > 20
    assert [fold_of(q, 5) for q in qids[:7]] == folds[:7]


def _runs(qids: list[str], prefer_lexical: set[str]) -> tuple[dict, dict, dict]:
    """Per query two candidates; BM25 ranks the relevant one first only for `prefer_lexical` queries,
    dense only for the others: alpha 1 is right for the first, alpha 0 for the second."""
    lexical, dense, qrels = {}, {}, {}
    for q in qids:
        good, bad = f"{q}-rel", f"{q}-non"
        lex_first = q in prefer_lexical
        lexical[q] = {good: 2.0, bad: 1.0} if lex_first else {good: 1.0, bad: 2.0}
        dense[q] = {good: 0.1, bad: 0.9} if lex_first else {good: 0.9, bad: 0.1}
        qrels[q] = {good: 1}
    return lexical, dense, qrels


def test_each_held_out_fold_is_fused_at_the_alpha_of_the_other_folds() -> None:
    # 40 queries in fold 0 want alpha 1 (lexical), 10 in each other fold alpha 0. Tuned without its own
    # queries, fold 0 gets alpha 0 (the others all want it) and every other fold alpha 1 (fold 0's 40
    # outvote the 20 left); a fold that leaked into its own tuning would get alpha 1 everywhere.
    pool = [f"q{i}" for i in range(400)]
    qids = [q for q in pool if fold_of(q, 4) == 0][:40]
    qids += [q for f in (1, 2, 3) for q in [q for q in pool if fold_of(q, 4) == f][:10]]
    fold0 = {q for q in qids if fold_of(q, 4) == 0}
    lexical, dense, qrels = _runs(qids, fold0)
    fused, folds = cross_validate(lexical, dense, qrels, SEARCH, 4, "w")
    assert [f.fold for f in folds] == [0, 1, 2, 3] and [f.queries for f in folds] == [40, 10, 10, 10]
    assert [f.alpha for f in folds] == [0.0, 1.0, 1.0, 1.0]
    assert set(fused) == set(qids)
    for q in qids:  # the assembled run: held-out queries ranked at their fold's alpha
        alpha = folds[fold_of(q, 4)].alpha
        assert fused[q] == interpolate({q: lexical[q]}, dense, alpha, k=10)[q]
    # Every query is ranked by the alpha its own fold did not choose: none of them voted for it.
    assert all(fused[q][0][0].endswith("-non") for q in qids)


def test_the_curve_of_a_fold_excludes_its_queries() -> None:
    qids = [f"q{i}" for i in range(40)]
    by_fold = {f: {q for q in qids if fold_of(q, 2) == f} for f in (0, 1)}
    # All of fold 1 wants alpha 1, all of fold 0 alpha 0: each fold gets the other's alpha.
    lexical, dense, qrels = _runs(qids, by_fold[1])
    _, folds = cross_validate(lexical, dense, qrels, SEARCH, 2, "w")
    assert [f.alpha for f in folds] == [1.0, 0.0]
    # Fold 0's curve is fold 1's queries alone: right at alpha 1, second at alpha 0 (1 / log2(3)).
    curve = dict(folds[0].curve)
    assert curve[1.0] == 1.0 and curve[0.0] == pytest.approx(0.6309, abs=1e-4)


def test_too_few_queries_for_two_folds_is_an_error() -> None:
    lexical, dense, qrels = _runs(["q1"], set())
    with pytest.raises(UserError, match="w cv_folds: the 1 judged queries fall into fewer than two of 5"):
        cross_validate(lexical, dense, qrels, SEARCH, 5, "w")


def test_folds_are_the_same_in_every_process_and_follow_sha256():
    qids = [f"q{i}" for i in range(50)]
    code = f"from bench.retrieval.tuning import fold_of; print([fold_of(q, 5) for q in {qids!r}])"
    first, second = under_hash_seeds(code)
    want = [int(hashlib.sha256(q.encode()).hexdigest()[:16], 16) % 5 for q in qids]
    assert first == second == f"{want}\n"
