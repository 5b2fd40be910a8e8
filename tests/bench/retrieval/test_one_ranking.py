"""One ranking per run: a run with exact ties scores the same in the harness, in ir-measures and in
trec_eval (through pytrec_eval, on the TREC file the harness writes), for every measure."""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval

from bench.retrieval.fusion import rrf
from bench.retrieval.runs import compact
from bench.runners.retrieval import _trec_lines
from daft.search.evaluation import evaluate_run

# ir-measures name -> (trec_eval measure, the depth the run is cut to for it)
MEASURES = {
    "nDCG@10": ("ndcg_cut_10", None),
    "RR@10": ("recip_rank", 10),
    "R@100": ("recall_100", None),
    "AP": ("map", None),
    "P@5": ("P_5", None),
    "RR": ("recip_rank", None),
}


def _tied_run_and_qrels() -> tuple[dict, dict]:
    """60 queries of 30 hits whose scores take 4 values (almost every hit ties), ids out of sort order."""
    rng = np.random.default_rng(7)
    run, qrels = {}, {}
    for q in range(60):
        docs = [f"d{int(i)}" for i in rng.choice(400, size=30, replace=False)]
        run[f"q{q}"] = {d: float(rng.integers(0, 4)) / 4 for d in docs}
        judged = rng.choice(docs, size=2, replace=False)
        qrels[f"q{q}"] = {str(judged[0]): 1, str(judged[1]): int(rng.integers(0, 3))}
    return run, qrels


def _pytrec_eval(lines: list[str], qrels: dict, measure: str, depth: int | None) -> dict[str, float]:
    """trec_eval's figures per query on the TREC file's lines (its scores; it re-sorts them itself)."""
    run: dict[str, dict[str, float]] = {}
    for line in lines:
        qid, _, doc, rank, score, _ = line.split()
        if depth is None or int(rank) <= depth:
            run.setdefault(qid, {})[doc] = float(score)
    evaluator = pytrec_eval.RelevanceEvaluator(
        qrels, {measure.rsplit("_", 1)[0] if "cut" in measure else measure}
    )
    return {qid: values[measure] for qid, values in evaluator.evaluate(run).items()}


@pytest.mark.parametrize("fused", [False, True])
def test_a_run_with_ties_scores_the_same_in_the_harness_and_in_trec_eval(fused: bool) -> None:
    run, qrels = _tied_run_and_qrels()
    ranked = (
        rrf([run, {q: {d: -s for d, s in hits.items()} for q, hits in run.items()}])
        if fused
        else compact(run)
    )
    lines = list(_trec_lines(ranked, "tied", 1000))
    _, per_query = evaluate_run(ranked, qrels, list(MEASURES))
    for name, (measure, depth) in MEASURES.items():
        assert per_query[name] == pytest.approx(_pytrec_eval(lines, qrels, measure, depth), abs=1e-12), name


def test_the_trec_files_scores_sort_as_its_rank_column_under_trec_evals_tie_rule() -> None:
    run, _ = _tied_run_and_qrels()
    ranked = compact(run)
    by_query: dict[str, list[tuple[int, str, float]]] = {}
    for line in _trec_lines(ranked, "tied", 1000):
        qid, _, doc, rank, score, _ = line.split()
        by_query.setdefault(qid, []).append((int(rank), doc, float(score)))
    for qid, hits in by_query.items():
        # trec_eval: score descending, then doc id descending
        resorted = sorted(hits, key=lambda h: (h[2], h[1]), reverse=True)
        assert [h[0] for h in resorted] == list(range(1, len(hits) + 1)), qid
        assert [h[1] for h in hits] == [doc for doc, _ in ranked[qid]]


def test_the_rank_column_is_what_rr_scores() -> None:
    run, qrels = _tied_run_and_qrels()
    ranked = compact(run)
    _, per_query = evaluate_run(ranked, qrels, ["RR@10"])
    for qid, hits in ranked.items():
        ranks = [r for r, (doc, _) in enumerate(hits[:10], start=1) if qrels[qid].get(doc, 0) > 0]
        assert per_query["RR@10"][qid] == (1 / ranks[0] if ranks else 0.0)
