"""Run checks before evaluation: a run must name only judged queries and corpus documents.

The evaluation itself (ir-measures, missed queries count 0) is `daft.evaluation.evaluate_run`, shared with
training's validation so that a pair's quality means the same in both packages.
"""

from __future__ import annotations

from collections.abc import Set

from bench.retrieval.runs import Run
from daft.errors import UserError
from daft.evaluation import Qrels


def check_run(run: Run, qrels: Qrels, doc_ids: Set[str], label: str) -> None:
    """Refuse a run that names queries outside the split or documents outside the corpus."""
    if unknown := [q for q in run if q not in qrels]:
        raise UserError(f"{label}: {len(unknown)} queries not in the judged split, e.g. {unknown[0]!r}")
    for qid, hits in run.items():
        for doc_id in hits:
            if doc_id not in doc_ids:
                raise UserError(f"{label}: query {qid!r} retrieves {doc_id!r}, which is not in the corpus")
