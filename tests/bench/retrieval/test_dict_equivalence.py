"""Compact runs against the dict runs they replaced: the same rankings, the same scores to the last bit, the
same evaluation numbers. The reference functions below are the former dict implementations, kept here as
the oracle; the runs are random with many tied scores, so tie-breaking is exercised too."""

from __future__ import annotations

import numpy as np
import pytest

from bench.retrieval import dense
from bench.retrieval.dense import build_index, search
from bench.retrieval.fusion import interpolate, normalize, rrf
from bench.retrieval.fusion.normalization import _METHODS
from bench.retrieval.runs import DocIndex, compact
from bench.retrieval.tuning import AlphaSearch, cross_validate, fold_of
from daft.search import evaluation
from daft.search.evaluation import evaluate_run
from daft.search.ranked import RankedRun

DictRun = dict[str, dict[str, float]]


def _ranking(scores: dict[str, float], k: int | None = None) -> list[tuple[str, float]]:
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]


def _normalize(run: DictRun, method: str) -> DictRun:
    out: DictRun = {}
    for qid, docs in run.items():
        values = np.fromiter(docs.values(), dtype=np.float64, count=len(docs))
        out[qid] = dict(zip(docs, _METHODS[method](values).tolist(), strict=True)) if docs else {}
    return out


def _interpolate(
    lexical: DictRun, dense: DictRun, alpha: float, normalization: str, missing: str, candidates: str, k
) -> DictRun:
    def fill(scores: dict[str, float]) -> float:
        return min(scores.values()) if missing == "min" and scores else 0.0

    lex, den = _normalize(lexical, normalization), _normalize(dense, normalization)
    qids = lex if candidates == "lexical" else {**lex, **den}
    fused: DictRun = {}
    for qid in qids:
        lex_q, den_q = lex.get(qid, {}), den.get(qid, {})
        lex_fill, den_fill = fill(lex_q), fill(den_q)
        docs = lex_q if candidates == "lexical" else {**lex_q, **den_q}
        fused[qid] = {
            doc: alpha * lex_q.get(doc, lex_fill) + (1.0 - alpha) * den_q.get(doc, den_fill) for doc in docs
        }
    return fused if k is None else {qid: dict(_ranking(docs, k)) for qid, docs in fused.items()}


def _rrf(runs: list[DictRun], k: int, depth: int | None) -> DictRun:
    fused: DictRun = {}
    for run in runs:
        for qid, docs in run.items():
            scores = fused.setdefault(qid, {})
            for rank, (doc, _) in enumerate(_ranking(docs, depth), start=1):
                scores[doc] = scores.get(doc, 0.0) + 1.0 / (k + rank)
    return fused


def _same(compact_run, dict_run: DictRun) -> None:
    """Same queries, and per query the same (doc, score) list in the same rank order, scores bit for bit."""
    assert sorted(compact_run) == sorted(dict_run)
    for qid, hits in dict_run.items():
        assert compact_run[qid] == _ranking(hits)


def _random_runs(seed: int) -> tuple[DictRun, DictRun, dict]:
    """A BM25-like run (float32 scores, as Lucene's) and a dense-like run over 40 queries and 80 docs,
    scores on a coarse grid so that ties are common; some queries missing or empty on one side. Each
    query's dict is in rank order, as the dict runs were (BM25's ranked hits, FAISS's hits): z-score sums
    the scores in that order, and only tied, equal scores may then be summed in another."""
    rng = np.random.default_rng(seed)
    pool = [f"d{i:02d}" for i in range(80)]
    lexical: DictRun = {}
    dense: DictRun = {}
    qrels: dict = {}
    for q in range(40):
        qid = f"q{q:02d}"
        if q % 7 != 3:
            docs = rng.choice(pool, size=int(rng.integers(0, 25)), replace=False)
            lexical[qid] = dict(_ranking({d: float(np.float32(rng.integers(0, 12) * 0.7)) for d in docs}))
        if q % 5 != 1:
            docs = rng.choice(pool, size=int(rng.integers(1, 25)), replace=False)
            dense[qid] = dict(_ranking({d: float(np.float32(rng.integers(-5, 6) / 8)) for d in docs}))
        qrels[qid] = {d: int(rng.integers(1, 3)) for d in rng.choice(pool, size=3, replace=False)}
    return lexical, dense, qrels


def _bm25_like(run: DictRun) -> object:
    """`run` as daft.search.bm25 makes one: a RankedRun in rank order from index arrays into a larger table
    (`from_hits` keeps the names used, in order of first use), float32 scores."""
    names = sorted({doc for hits in run.values() for doc in hits})
    position = {doc: i for i, doc in enumerate(names)}
    ranked = [_ranking(hits) for hits in run.values()]
    rows = [
        (np.array([position[d] for d, _ in r], dtype=np.int64), np.float32([s for _, s in r])) for r in ranked
    ]
    return RankedRun.from_hits(list(run), names, rows)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("method", ["none", "min-max", "z-score"])
def test_normalize(seed, method):
    lexical, _, _ = _random_runs(seed)
    out = normalize(_bm25_like(lexical), method)
    expected = _normalize(lexical, method)
    for qid, hits in expected.items():  # normalising keeps the input's order, so compare as mappings
        assert dict(out[qid]) == hits


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("normalization", ["none", "min-max", "z-score"])
@pytest.mark.parametrize("missing", ["min", "zero"])
@pytest.mark.parametrize("candidates", ["lexical", "union"])
@pytest.mark.parametrize("k", [None, 10])
def test_interpolate(seed, normalization, missing, candidates, k):
    lexical, dense, _ = _random_runs(seed)
    for alpha in (0.0, 0.3, 0.5, 1.0):
        out = interpolate(
            _bm25_like(lexical),
            dense,
            alpha,
            normalization=normalization,
            missing=missing,
            candidates=candidates,
            k=k,
        )
        _same(out, _interpolate(lexical, dense, alpha, normalization, missing, candidates, k))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("depth", [None, 5])
def test_rrf(seed, depth):
    lexical, dense, _ = _random_runs(seed)
    _same(rrf([_bm25_like(lexical), dense], k=60, depth=depth), _rrf([lexical, dense], 60, depth))
    _same(rrf([dense, lexical, dense], k=0, depth=depth), _rrf([dense, lexical, dense], 0, depth))


@pytest.mark.parametrize("block", [4, 2048])  # ranked in blocks of queries, or all at once
def test_dense_search_equals_the_dict_of_faiss_hits(monkeypatch, block):
    monkeypatch.setattr(dense, "RANK_BLOCK", block)
    rng = np.random.default_rng(3)
    # Repeated vectors tie exactly: their order must come from the doc ids, not from FAISS.
    vectors = rng.normal(size=(30, 8)).astype(np.float32)
    vectors = vectors[rng.integers(0, 30, 120)]
    doc_ids = [f"doc{int(i)}" for i in rng.permutation(120)]
    queries = rng.normal(size=(9, 8)).astype(np.float32)
    qids = [f"q{i}" for i in range(9)]
    index = build_index(vectors)
    scores, rows = index.search(queries, 25)
    expected = {
        qid: {doc_ids[j]: float(s) for s, j in zip(row_scores, row_ids, strict=True)}
        for qid, row_scores, row_ids in zip(qids, scores, rows, strict=True)
    }
    _same(search(index, doc_ids, queries, qids, 25), expected)
    _same(search(index, doc_ids, queries, qids, 25, table=DocIndex(doc_ids + ["extra"])), expected)


@pytest.mark.parametrize("seed", [0, 1])
def test_evaluation_in_chunks_equals_one_dict(monkeypatch, seed):
    lexical, dense, qrels = _random_runs(seed)
    measures = ["nDCG@10", "RR@10", "R@20", "AP"]
    fused = rrf([_bm25_like(lexical), dense], depth=20)
    whole = evaluate_run(fused.to_dict(), qrels, measures)  # one chunk: the dict path of old
    monkeypatch.setattr(evaluation, "EVAL_CHUNK", 3)
    assert evaluate_run(fused, qrels, measures) == whole
    assert evaluate_run(compact(dense), qrels, measures) == evaluate_run(dense, qrels, measures)


def test_cross_validation_assembles_the_dict_folds():
    lexical, dense, qrels = _random_runs(4)
    search = AlphaSearch((0.0, 0.4, 1.0), "nDCG@10", normalization="z-score", depth=10)
    fused, folds = cross_validate(_bm25_like(lexical), dense, qrels, search, 3, "w")
    expected: DictRun = {}
    for record in folds:
        held_out = {q: lexical[q] for q in qrels if fold_of(q, 3) == record.fold and q in lexical}
        expected |= _interpolate(held_out, dense, record.alpha, "z-score", "min", "lexical", 10)
    _same(fused, expected)
    assert list(fused) == list(expected)  # fold by fold, as the TREC file lists them
