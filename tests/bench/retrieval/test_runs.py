"""Tests for bench.retrieval.runs: deterministic ranking, top-k cut-offs, input checks."""

from __future__ import annotations

import pytest

from bench.retrieval.runs import check_choice, check_cutoff, ranking, top_k
from daft.errors import UserError


def test_ranking_sorts_by_score_descending_then_doc_id_ascending():
    assert ranking({"b": 1.0, "c": 2.0, "a": 1.0, "d": -1.0}) == [
        ("c", 2.0),
        ("a", 1.0),
        ("b", 1.0),
        ("d", -1.0),
    ]


def test_ranking_does_not_depend_on_insertion_order():
    assert ranking({"y": 0.5, "x": 0.5, "z": 0.5}) == ranking({"z": 0.5, "x": 0.5, "y": 0.5})


def test_ranking_cut_off():
    assert ranking({"a": 1.0, "b": 3.0, "c": 2.0}, k=2) == [("b", 3.0), ("c", 2.0)]
    assert ranking({"a": 1.0}, k=5) == [("a", 1.0)]


def test_top_k_keeps_each_query_best_docs_in_rank_order():
    run = {"q1": {"a": 1.0, "b": 3.0, "c": 2.0}, "q2": {"x": 0.0, "w": 0.0}, "q3": {}}
    out = top_k(run, 2)
    assert out == {"q1": {"b": 3.0, "c": 2.0}, "q2": {"w": 0.0, "x": 0.0}, "q3": {}}
    assert list(out["q1"]) == ["b", "c"]
    assert list(out["q2"]) == ["w", "x"]


def test_top_k_none_keeps_everything_and_copies():
    run = {"q1": {"a": 1.0, "b": 3.0}}
    out = top_k(run, None)
    assert list(out["q1"]) == ["b", "a"]
    out["q1"]["z"] = 9.0
    assert run == {"q1": {"a": 1.0, "b": 3.0}}


@pytest.mark.parametrize("k", [0, -1, 1.5])
def test_bad_cut_off(k):
    with pytest.raises(UserError, match=rf"^k must be a positive integer or None, got {k!r}$"):
        top_k({"q": {"a": 1.0}}, k)


def test_check_cutoff_names_the_parameter():
    check_cutoff("depth", None)
    check_cutoff("depth", 3)
    with pytest.raises(UserError, match=r"^depth must be a positive integer or None, got 0$"):
        check_cutoff("depth", 0)


def test_check_choice_names_value_and_known_options():
    check_choice("colour", "red", ("red", "blue"))
    with pytest.raises(UserError, match=r"^unknown colour 'green'; known: red, blue$"):
        check_choice("colour", "green", ("red", "blue"))
