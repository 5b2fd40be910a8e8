"""Tests for bench.retrieval.fusion.normalization: hand-computed values per method and per query."""

from __future__ import annotations

import math

import pytest

from bench.retrieval import fusion
from bench.retrieval.fusion.normalization import NORMALIZATIONS, normalize
from bench.retrieval.runs import compact
from daft.core.errors import UserError

RUN = {"q1": {"a": 3.0, "b": 1.0, "c": 2.0}, "q2": {"x": 5.0, "y": 5.0}, "q3": {}}
S = math.sqrt(1.5)  # |3 - 2| / population std of (3, 1, 2), sqrt(2/3)


def test_registry():
    assert NORMALIZATIONS == ("none", "min-max", "z-score")
    assert fusion.NORMALIZATIONS == NORMALIZATIONS


@pytest.mark.parametrize(
    ("method", "q1", "q2"),
    [
        ("none", {"a": 3.0, "b": 1.0, "c": 2.0}, {"x": 5.0, "y": 5.0}),
        ("min-max", {"a": 1.0, "b": 0.0, "c": 0.5}, {"x": 0.0, "y": 0.0}),
        ("z-score", {"a": S, "b": -S, "c": 0.0}, {"x": 0.0, "y": 0.0}),
    ],
)
def test_hand_computed_values(method, q1, q2):
    out = normalize(RUN, method).to_dict()
    assert out["q1"] == pytest.approx(q1, abs=1e-12)
    assert out["q2"] == q2
    assert out["q3"] == {}
    assert list(out) == ["q1", "q2", "q3"]
    assert list(out["q1"]) == ["a", "c", "b"]  # the rank order of the input, ties by doc id


def test_the_order_of_a_compact_run_is_kept():
    # Normalising never re-ranks: scaling can round two close scores to one, and the hits stay as they were.
    run = compact({"q": {"b": 2.0, "a": 1.0}})
    assert [doc for doc, _ in normalize(run, "min-max")["q"]] == ["b", "a"]
    assert normalize(run, "min-max").doc_table is run.doc_table


def test_each_query_is_normalised_on_its_own_list():
    # q2's scores are far larger than q1's; a global min-max would squash q1 towards 0.
    out = normalize({"q1": {"a": 1.0, "b": 0.0}, "q2": {"a": 1000.0, "b": 500.0}}, "min-max")
    assert out.to_dict() == {"q1": {"a": 1.0, "b": 0.0}, "q2": {"a": 1.0, "b": 0.0}}


@pytest.mark.parametrize("method", ["min-max", "z-score"])
def test_constant_scores_map_to_zero_even_with_rounding_in_the_mean(method):
    # np.std([0.1] * 3) is 1.4e-17, not 0: dividing by it would give scores of about +-1.
    out = normalize({"q": {"a": 0.1, "b": 0.1, "c": 0.1}}, method)
    assert out.to_dict() == {"q": {"a": 0.0, "b": 0.0, "c": 0.0}}


def test_none_returns_a_copy():
    run = compact(RUN)
    out = normalize(run, "none")
    out.scores[:] = -1.0
    assert run["q1"] == [("a", 3.0), ("c", 2.0), ("b", 1.0)]


def test_input_is_not_modified():
    before = {qid: dict(docs) for qid, docs in RUN.items()}
    normalize(RUN, "z-score")
    assert before == RUN


def test_unknown_method():
    with pytest.raises(UserError, match=r"^unknown normalization 'l2'; known: none, min-max, z-score$"):
        normalize(RUN, "l2")
