"""Evaluation with ir-measures: per-query and aggregate values of measures named by their strings.

Aggregates are means over *every judged query of the split*: a query the run misses counts 0 (trec_eval's
`-c`), where ir-measures on its own would leave it out and flatter a system that returns nothing for hard
queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set

import ir_measures

from bench.retrieval.runs import Run
from daft.errors import UserError

Qrels = Mapping[str, Mapping[str, int]]
PerQuery = dict[str, dict[str, float]]  # measure -> qid -> value


def parse_measures(names: Sequence[str]) -> list[ir_measures.Measure]:
    """The ir-measures objects for `names` (e.g. "nDCG@10"); an unknown name is a UserError."""
    measures = []
    for name in names:
        try:
            measures.append(ir_measures.parse_measure(name))
        except (ValueError, NameError, AttributeError, TypeError, SyntaxError):
            raise UserError(
                f"unknown measure {name!r} (ir-measures names, e.g. nDCG@10, RR@10, R@100)"
            ) from None
    return measures


def check_run(run: Run, qrels: Qrels, doc_ids: Set[str], label: str) -> None:
    """Refuse a run that names queries outside the split or documents outside the corpus."""
    if unknown := [q for q in run if q not in qrels]:
        raise UserError(f"{label}: {len(unknown)} queries not in the judged split, e.g. {unknown[0]!r}")
    for qid, hits in run.items():
        for doc_id in hits:
            if doc_id not in doc_ids:
                raise UserError(f"{label}: query {qid!r} retrieves {doc_id!r}, which is not in the corpus")


def evaluate(run: Run, qrels: Qrels, names: Sequence[str]) -> tuple[dict[str, float], PerQuery]:
    """(measure -> mean, measure -> qid -> value) over every judged query of `qrels`."""
    measures = parse_measures(names)
    per_query: PerQuery = {str(m): dict.fromkeys(qrels, 0.0) for m in measures}
    judged = {q: dict(grades) for q, grades in qrels.items()}
    for metric in ir_measures.iter_calc(measures, judged, {q: dict(h) for q, h in run.items() if h}):
        per_query[str(metric.measure)][metric.query_id] = float(metric.value)
    n = max(len(qrels), 1)
    aggregate = {name: sum(values.values()) / n for name, values in per_query.items()}
    return aggregate, per_query
