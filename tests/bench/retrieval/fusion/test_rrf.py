"""Tests for bench.retrieval.fusion.rrf against reciprocal-rank sums computed by hand."""

from __future__ import annotations

import pytest

from bench.retrieval import fusion
from bench.retrieval.fusion.rrf import rrf
from daft.core.errors import UserError

# Ranks: run 1 a1 b2 c3; run 2 c1 d2 a3.
RUN_1 = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}}
RUN_2 = {"q": {"c": 9.0, "d": 5.0, "a": 1.0}}


def test_registry():
    assert fusion.rrf is rrf


def test_hand_computed_scores():
    out = rrf([RUN_1, RUN_2]).to_dict()
    assert out == {
        "q": pytest.approx({"a": 1 / 61 + 1 / 63, "b": 1 / 62, "c": 1 / 63 + 1 / 61, "d": 1 / 62}, rel=1e-15)
    }


def test_fused_ties_rank_by_doc_id():
    assert [doc for doc, _ in rrf([RUN_1, RUN_2])["q"]] == ["a", "c", "b", "d"]


def test_k():
    out = rrf([RUN_1, RUN_2], k=0).to_dict()
    assert out["q"] == pytest.approx({"a": 1 + 1 / 3, "b": 1 / 2, "c": 1 / 3 + 1, "d": 1 / 2})


def test_depth_counts_only_the_top_ranks():
    out = rrf([RUN_1, RUN_2], depth=2).to_dict()
    assert out == {"q": pytest.approx({"a": 1 / 61, "b": 1 / 62, "c": 1 / 61, "d": 1 / 62})}


def test_tied_input_scores_are_ranked_by_doc_id():
    expected = {"q": {"x": 1 / 61, "y": 1 / 62}}
    assert rrf([{"q": {"y": 1.0, "x": 1.0}}]).to_dict() == expected
    assert rrf([{"q": {"x": 1.0, "y": 1.0}}]).to_dict() == expected


def test_queries_in_one_run_only():
    out = rrf([{"q1": {"a": 1.0}}, {"q2": {"b": 1.0}}])
    assert out.to_dict() == {"q1": {"a": 1 / 61}, "q2": {"b": 1 / 61}}


def test_single_run_keeps_its_order():
    assert [doc for doc, _ in rrf([RUN_2])["q"]] == ["c", "d", "a"]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ([], {}, r"^rrf needs at least one run, got none$"),
        ([RUN_1], {"k": -1}, r"^rrf k must be >= 0, got -1$"),
        ([RUN_1], {"depth": 0}, r"^depth must be a positive integer or None, got 0$"),
    ],
)
def test_bad_input(args, kwargs, message):
    with pytest.raises(UserError, match=message):
        rrf(args, **kwargs)
