"""Tests for daft.search.ranked: the compact run's views, selection, score precision and file round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from daft.core.errors import UserError
from daft.search.ranked import RankedRun


def _run(scores: np.ndarray) -> RankedRun:
    # q1: c, a; q2: nothing; q3: b.
    return RankedRun(["q1", "q2", "q3"], ["a", "b", "c"], [0, 2, 2, 3], [2, 0, 1], scores)


def test_rows_are_views_and_the_mapping_reads_them():
    run = _run(np.array([3.0, 1.0, 2.0], np.float32))
    docs, scores = run.row("q1")
    assert docs.tolist() == [2, 0] and scores.tolist() == [3.0, 1.0]
    assert run["q1"] == [("c", 3.0), ("a", 1.0)] and run["q2"] == []
    assert "q3" in run and "q9" not in run and run.get("q9") is None
    assert run.to_dict() == {"q1": {"c": 3.0, "a": 1.0}, "q2": {}, "q3": {"b": 2.0}}
    assert isinstance(run.doc_table, tuple)


def test_scores_are_float32_unless_given_as_float64():
    assert _run(np.array([3, 1, 2])).scores.dtype == np.float32
    precise = _run(np.array([1 / 3, 0.1, 0.2]))
    assert precise.scores.dtype == np.float64
    assert precise["q1"] == [("c", 1 / 3), ("a", 0.1)]  # a float32 would read 0.3333333432674408


def test_float64_scores_survive_the_file(tmp_path: Path):
    run = _run(np.array([1 / 3, 0.1, 0.2]))
    (tmp_path / "run.npz").write_bytes(run.to_bytes())
    loaded = RankedRun.load(tmp_path / "run.npz")
    assert loaded.scores.dtype == np.float64 and loaded == run


def test_take_selects_reorders_and_cuts():
    run = _run(np.array([3.0, 1.0, 2.0], np.float32))
    out = run.take(["q3", "q9", "q1"], 1)
    assert list(out) == ["q3", "q9", "q1"]
    assert out.to_dict() == {"q3": {"b": 2.0}, "q9": {}, "q1": {"c": 3.0}}
    assert out.doc_table is run.doc_table
    assert run.take(["q1", "q2", "q3"]) == run
    assert len(run.take([])) == 0


def test_mismatched_arrays_are_refused():
    with pytest.raises(UserError, match="do not fit together"):
        RankedRun(["q"], ["a"], [0, 2], [0], [1.0])


def test_strictly_decreasing_keeps_distinct_scores_and_lowers_ties_by_one_float32_step() -> None:
    from daft.search.ranked import strictly_decreasing

    one_below = np.nextafter(np.float32(0.5), np.float32(-1))
    got = strictly_decreasing(np.array([2.0, 0.5, 0.5, 0.5 - 1e-12, -1.0, -1.0, 0.0 - 3.0]))
    assert got.dtype == np.float32
    assert got[:2].tolist() == [2.0, 0.5]
    # a float64 below 0.5 by less than float32's precision is a float32 tie: lowered one more step
    assert got[2] == one_below and got[3] == np.nextafter(one_below, np.float32(-1))
    assert got[4] == -1.0 and got[5] == np.nextafter(np.float32(-1.0), np.float32(-2)) and got[6] == -3.0
    assert (np.diff(got) < 0).all()


def test_final_scores_follow_the_rank_order_of_a_dict_run_ties_by_doc_id() -> None:
    run = RankedRun.from_scores({"q": {"b": 1.0, "c": 2.0, "a": 1.0}})
    assert [doc for doc, _ in run.final("q")] == ["c", "a", "b"]
    assert [s for _, s in run.final("q")] == sorted((s for _, s in run.final("q")), reverse=True)
    assert len({s for _, s in run.final("q")}) == 3
