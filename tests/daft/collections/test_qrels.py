"""One judgement checked the same way for every qrels format."""

from __future__ import annotations

from pathlib import Path

import pytest

from daft.collections.lines import LineError
from daft.collections.qrels import Known, add_judgement

KNOWN = Known({"q1": "a query"}, {"d1": "doc", "d2": "doc"}, "queries.jsonl", "corpus.jsonl")
WHERE = (Path("qrels/test.tsv"), 7)


def test_judgements_accumulate_per_query() -> None:
    qrels: dict[str, dict[str, int]] = {}
    add_judgement(qrels, WHERE, "q1", "d1", "2", KNOWN)
    add_judgement(qrels, WHERE, "q1", "d2", "0", KNOWN)
    assert qrels == {"q1": {"d1": 2, "d2": 0}}


@pytest.mark.parametrize(
    ("qid", "doc", "grade", "message"),
    [
        ("q1", "d1", "1.5", "score '1.5' is not an integer"),
        ("q9", "d1", "1", "unknown query id 'q9' (not in queries.jsonl)"),
        ("q1", "d9", "1", "unknown document id 'd9' (not in corpus.jsonl)"),
        ("q1", "d1", "1", "duplicate judgement of query 'q1' and document 'd1'"),
    ],
)
def test_each_problem_names_file_and_line(qid: str, doc: str, grade: str, message: str) -> None:
    qrels = {"q1": {"d1": 1}} if "duplicate" in message else {}
    with pytest.raises(LineError) as caught:
        add_judgement(qrels, WHERE, qid, doc, grade, KNOWN)
    assert str(caught.value) == f"qrels/test.tsv line 7: {message}"
