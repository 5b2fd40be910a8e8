"""Tests for bench.retrieval.runs: deterministic ranking, compact runs on one table, input checks."""

from __future__ import annotations

import numpy as np
import pytest

from bench.retrieval.runs import (
    AnyRun,
    DocIndex,
    Rows,
    check_choice,
    check_cutoff,
    compact,
    concat,
    on_one_table,
    rank,
)
from daft.core.errors import UserError
from daft.search import evaluation, ranked
from daft.search.ranked import RankedRun


def _docs(run, qid):
    return [doc for doc, _ in run[qid]]


def test_a_run_that_goes_in_is_one_type_in_daft_and_bench():
    assert AnyRun is ranked.AnyRun is evaluation.AnyRun


def test_compact_ranks_by_score_descending_then_doc_id_ascending():
    run = compact({"q": {"b": 1.0, "c": 2.0, "a": 1.0, "d": -1.0}})
    assert run["q"] == [("c", 2.0), ("a", 1.0), ("b", 1.0), ("d", -1.0)]


def test_compact_does_not_depend_on_insertion_order():
    assert compact({"q": {"y": 0.5, "x": 0.5, "z": 0.5}}) == compact({"q": {"z": 0.5, "x": 0.5, "y": 0.5}})


def test_compact_keeps_scores_exactly_and_empty_queries():
    run = compact({"q1": {"a": 0.1}, "q2": {}})
    assert run.scores.dtype == np.float64 and run["q1"] == [("a", 0.1)]
    assert list(run) == ["q1", "q2"] and run["q2"] == []


def test_rank_breaks_ties_by_index():
    assert rank(np.array([3, 1, 2]), np.array([1.0, 1.0, 2.0])).tolist() == [2, 1, 0]


def test_doc_index_is_sorted_and_names_an_unknown_doc():
    table = DocIndex(["b", "a", "c", "a"])
    assert table.ids == ("a", "b", "c")
    assert table.positions(["c", "a"], "x").tolist() == [2, 0]
    with pytest.raises(UserError, match=r"^bm25 w: document 'z' is not in the corpus$"):
        table.positions(["z"], "bm25 w")


def test_adopt_keeps_queries_order_and_scores():
    scores = np.float32([3.0, 1.0]), np.float32([2.0])
    run = RankedRun.from_hits(
        ["q1", "q2"], ["c", "a", "b"], [(np.array([0, 1]), scores[0]), (np.array([2]), scores[1])]
    )
    table = DocIndex(["a", "b", "c", "d"])
    adopted = table.adopt(run, "x")
    assert adopted.doc_table is table.ids
    assert adopted == run and table.adopt(adopted, "x") is adopted


def test_on_one_table_shares_a_sorted_table():
    a, b = compact({"q": {"x": 1.0, "y": 2.0}}), compact({"q": {"w": 1.0}})
    one, two = on_one_table([a, b])
    assert one.doc_table is two.doc_table == ("w", "x", "y")
    assert one == a and two == b
    assert on_one_table([one, two])[0] is one  # already shared: nothing copied


def test_rows_and_concat():
    rows = Rows()
    rows.add("q1", np.array([1, 0], np.int32), np.array([2.0, 1.0]))
    rows.add("q2", np.zeros(0, np.int32), np.zeros(0))
    first = rows.build(("a", "b"))
    second = compact({"q3": {"a": 5.0}})
    joined = concat([first, second])
    assert list(joined) == ["q1", "q2", "q3"]
    assert joined.to_dict() == {"q1": {"b": 2.0, "a": 1.0}, "q2": {}, "q3": {"a": 5.0}}
    assert len(concat([])) == 0


def test_take_selects_orders_and_cuts():
    run = compact({"q1": {"a": 1.0, "b": 3.0, "c": 2.0}, "q2": {"x": 0.0, "w": 0.0}})
    out = run.take(["q2", "q9", "q1"], 2)
    assert list(out) == ["q2", "q9", "q1"]
    assert _docs(out, "q1") == ["b", "c"] and _docs(out, "q2") == ["w", "x"] and out["q9"] == []
    assert run.take(run.qids) == run


def test_check_cutoff_names_the_parameter():
    check_cutoff("depth", None)
    check_cutoff("depth", 3)
    with pytest.raises(UserError, match=r"^depth must be a positive integer or None, got 0$"):
        check_cutoff("depth", 0)
    with pytest.raises(UserError, match=r"^k must be a positive integer or None, got 1.5$"):
        check_cutoff("k", 1.5)


def test_check_choice_names_value_and_known_options():
    check_choice("colour", "red", ("red", "blue"))
    with pytest.raises(UserError, match=r"^unknown colour 'green'; known: red, blue$"):
        check_choice("colour", "green", ("red", "blue"))
