"""Run checks before evaluation: a run must name only judged queries and corpus documents.

The evaluation itself (ir-measures, missed queries count 0) is `daft.search.evaluation.evaluate_run`, shared with
training's validation so that a pair's quality means the same in both packages.
"""

from __future__ import annotations

from collections.abc import Set

import numpy as np

from bench.retrieval.runs import AnyRun, compact
from daft.core.errors import UserError
from daft.search.evaluation import Qrels


def check_run(run: AnyRun, qrels: Qrels, doc_ids: Set[str], label: str) -> None:
    """Refuse a run that names queries outside the split or documents outside the corpus."""
    run = compact(run)
    if unknown := [q for q in run.qids if q not in qrels]:
        raise UserError(f"{label}: {len(unknown)} queries not in the judged split, e.g. {unknown[0]!r}")
    # Each table entry the run uses is checked once, not each of its hits.
    used = np.zeros(len(run.doc_table), bool)
    used[run.docs] = True
    for index in np.flatnonzero(used).tolist():
        if (doc_id := run.doc_table[index]) not in doc_ids:
            first = int(np.argmax(run.docs == index))
            qid = run.qids[int(np.searchsorted(run.offsets, first, side="right")) - 1]
            raise UserError(f"{label}: query {qid!r} retrieves {doc_id!r}, which is not in the corpus")
