"""One relevance judgement at a time, checked the same way whatever file format it came from.

BEIR (`qrels/<split>.tsv`: query-id, corpus-id, score) and MS MARCO / TREC (`qid iter docid grade`) differ
only in their columns; what makes a judgement valid does not: an integer grade, a known query, a known
document, no second judgement of the same pair. Errors name the file and line (`LineError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from daft.collections.lines import LineError


@dataclass(frozen=True)
class Known:
    """What a judgement may refer to, and the names of the files that define it (for the messages)."""

    queries: Mapping[str, object]
    corpus: Mapping[str, object]
    queries_file: str
    corpus_file: str
    grade_name: str = "score"  # what the format calls the grade column


def add_judgement(
    qrels: dict[str, dict[str, int]], where: tuple[Path, int], qid: str, doc_id: str, grade: str, known: Known
) -> None:
    """Check one judgement read at `where` (file, line) and add it to `qrels` (qid -> doc id -> grade)."""
    try:
        value = int(grade)
    except ValueError:
        raise LineError(*where, f"{known.grade_name} {grade!r} is not an integer") from None
    if qid not in known.queries:
        raise LineError(*where, f"unknown query id {qid!r} (not in {known.queries_file})")
    if doc_id not in known.corpus:
        raise LineError(*where, f"unknown document id {doc_id!r} (not in {known.corpus_file})")
    grades = qrels.setdefault(qid, {})
    if doc_id in grades:
        raise LineError(*where, f"duplicate judgement of query {qid!r} and document {doc_id!r}")
    grades[doc_id] = value
