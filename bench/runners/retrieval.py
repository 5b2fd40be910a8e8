"""The quality half of a suite: BM25, dense, hybrid and RRF runs per encoder pair, evaluated and compared.

Flow: load the collection -> BM25 runs of the test and tuning splits (cached with the collection) -> per
pair: cached document embeddings -> FAISS index -> query embeddings -> dense runs -> hybrid (alpha tuned
on the tuning split and applied to the test split, or cross-validated over the test queries:
`bench.retrieval.tuning`) and RRF -> ir-measures per query -> paired significance
tests with Holm correction. Returns a `RetrievalResult` (per-query values included) and the TREC run
files (their lines, made as the pipeline writes them next to the JSON report). Every run is a compact
`RankedRun` over one sorted table of the corpus's doc ids (`bench.retrieval.runs`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

import numpy as np

from bench.documents import embeddings
from bench.documents.precision import AUTO, REFERENCE, describe, resolve_precision
from bench.pairs import load_retrieval_pair
from bench.results import PairInfo, RetrievalResult, SystemResult
from bench.retrieval import dense
from bench.retrieval.fusion import interpolate, rrf
from bench.retrieval.run_checks import check_run
from bench.retrieval.runs import DocIndex, RankedRun, Rows
from bench.retrieval.significance import compare_systems
from bench.retrieval.tuning import Tuning, cross_validate, resolve, tune_alpha
from bench.specs import RetrievalSpec, Suite
from daft import collections
from daft.collections.collection import Collection
from daft.core.errors import UserError
from daft.core.progress import console
from daft.models.pair import EncoderPair
from daft.models.tokenization import NoTokens
from daft.search import bm25
from daft.search.evaluation import evaluate_run

RUN_TAG = "daft-bench"


def _split(collection: Collection, split: str, max_queries: int, label: str) -> tuple[dict, dict]:
    if split not in collection.splits:
        has = ", ".join(collection.splits)
        raise UserError(
            f"{label} split: collection {collection.name} has no split {split!r} (has: {has}); "
            f"set split to one of {has} (--set retrieval.split=NAME) or add qrels/{split}.tsv"
        )
    queries, qrels = collection.split(split)
    judged = sorted(q for q in qrels if any(g > 0 for g in qrels[q].values()))
    if max_queries:
        judged = judged[:max_queries]
    if not judged:
        raise UserError(
            f"{label}: split {split!r} of {collection.name} has no query with a relevant document"
        )
    return {q: queries[q] for q in judged}, {q: dict(qrels[q]) for q in judged}


def _bm25(
    collection: Collection, split: str, queries: dict, spec: RetrievalSpec, table: DocIndex
) -> RankedRun:
    ranked = bm25.run(collection, split, k=spec.depth, k1=spec.bm25_k1, b=spec.bm25_b)
    return table.adopt(ranked, f"bm25 {collection.name}").take(list(queries))


def _trec_lines(run: RankedRun, tag: str, depth: int) -> Iterator[str]:
    """The top `depth` of each query as a TREC run file's lines (daft.search.bm25's format and id checks), made
    only as the file is written."""
    yield from bm25.trec_lines(run.take(run.qids, depth), tag)


def run_retrieval(
    suite: Suite, *, advance: Callable[[str], None]
) -> tuple[RetrievalResult, dict[str, Iterable[str]]]:
    """Evaluate every system of `suite.retrieval`; returns the result and the TREC run files to write."""
    spec = suite.retrieval
    assert spec is not None
    label = f"{suite.path}: [retrieval]"
    collection = collections.load(spec.collection)
    queries, qrels = _split(collection, spec.split, spec.max_queries, label)
    fusing = bool({"hybrid", "rrf"} & set(spec.systems))
    tuning = None
    tune_queries: dict[str, str] = {}
    tune_qrels: dict = {}
    if "hybrid" in spec.systems:
        tuning = resolve(spec.tune_split, spec.split, collection.splits, spec.cv_folds, label)
        if not tuning.folds:
            tune_queries, tune_qrels = _split(collection, tuning.split, spec.max_queries, label)
    corpus_ids = set(collection.corpus)
    table = DocIndex(corpus_ids)
    lexical = lexical_tune = Rows().build(table.ids)
    timings: dict[str, float] = {}
    if "bm25" in spec.systems or fusing:
        with _timed(timings, "bm25_s"):  # index (cached) and search of both splits
            lexical = _bm25(collection, spec.split, queries, spec, table)
            if tune_queries:
                lexical_tune = _bm25(collection, tuning.split, tune_queries, spec, table)
    runs: dict[str, RankedRun] = {}
    systems: list[SystemResult] = []
    if "bm25" in spec.systems:
        runs["bm25"] = lexical
        systems.append(SystemResult("bm25", "bm25", None, {"k1": spec.bm25_k1, "b": spec.bm25_b}, {}))
        advance("bm25")
    for name in spec.encoders:
        found, found_runs = _pair_systems(
            suite,
            name,
            collection,
            (queries, qrels),
            tuning,
            (tune_queries, tune_qrels),
            (lexical, lexical_tune),
            table,
        )
        systems += found
        runs |= found_runs
        advance(name)
    with _timed(timings, "evaluate_s"):
        for i, entry in enumerate(systems):
            run = runs[entry.id]
            check_run(run, qrels, corpus_ids, f"{label} {entry.id}")
            aggregate, per_query = evaluate_run(run, qrels, spec.measures)
            systems[i] = replace(entry, aggregate=aggregate, per_query=per_query)
    with _timed(timings, "significance_s"):
        comparisons = compare_systems(
            {entry.id: entry.per_query for entry in systems},
            _comparison_pairs(systems, spec),
            list(spec.measures),
            alpha_level=spec.significance_level,
            test=spec.test,
            seed=spec.seed,
        )
    result = RetrievalResult(
        collection=collection.name,
        collection_fingerprint=collection.fingerprint,
        split=spec.split,
        tune_split=tuning.split if tuning else None,
        tune_folds=tuning.folds if tuning else 0,
        queries=len(queries),
        measures=tuple(spec.measures),
        systems=tuple(systems),
        comparisons=tuple(comparisons),
        timings=timings,
    )
    run_files = {
        f"runs/{e.id.replace('/', '__')}.trec": _trec_lines(
            runs[e.id], e.id.replace("/", "__"), spec.run_depth
        )
        for e in systems
    }
    return result, run_files


@contextlib.contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    """Add the block's wall time to `timings[key]` (stages run more than once accumulate)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - start


def _query_vectors(
    pair: EncoderPair, queries: dict[str, str], spec: RetrievalSpec, timings: dict[str, float]
) -> tuple[list[str], np.ndarray]:
    """(qids, the query encoder's vectors of them), in `queries`' order: what `_dense_run` searches with."""
    with _timed(timings, "encode_queries_s"):
        try:
            vectors = pair.query.encode(
                list(queries.values()), batch_size=spec.batch_size, max_length=spec.query_max_length
            )
        except NoTokens as err:  # its batch position means nothing: batches are length-sorted
            qid = next((q for q, text in queries.items() if text == err.text), None)
            raise UserError(f"collection {spec.collection}: query {qid!r}: {err}") from None
    return list(queries), vectors


def _dense_run(
    index: Any,
    doc_ids: list[str],
    queries: tuple[list[str], np.ndarray],
    spec: RetrievalSpec,
    name: str,
    timings: dict[str, float],
    table: DocIndex,
) -> RankedRun:
    """The dense run of `queries` = (qids, their vectors) against `index` over `doc_ids`."""
    qids, vectors = queries
    with _timed(timings, "search_s"):
        return dense.search(index, doc_ids, vectors, qids, spec.depth, label=name, table=table)


def _pair_systems(
    suite: Suite,
    name: str,
    collection: Collection,
    test: tuple[dict[str, str], dict],
    tuning: Tuning | None,
    tune: tuple[dict[str, str], dict],
    bm25_runs: tuple[RankedRun, RankedRun],
    table: DocIndex,
) -> tuple[list[SystemResult], dict[str, RankedRun]]:
    """The dense, hybrid and RRF systems of one encoder pair: their report entries and test runs
    (`bm25_runs`: of the test and the tuning split)."""
    spec = suite.retrieval
    (queries, qrels), (tune_queries, tune_qrels) = test, tune
    lexical, lexical_tune = bm25_runs
    timings: dict[str, float] = {}
    with _timed(timings, "load_s"):
        pair = load_retrieval_pair(suite.encoder(name))
    precision = resolve_precision(spec.doc_precision, next(pair.doc.parameters()).device.type)
    console.print(f"{name}: documents in {describe(precision, spec.doc_precision)}", highlight=False)
    with _timed(timings, "encode_corpus_s"):
        doc_ids, vectors, cache_status = _doc_vectors(pair, collection, spec, name, precision)
    with _timed(timings, "index_s"):
        index = dense.build_index(vectors, spec.index)
    test_queries = _query_vectors(pair, queries, spec, timings)
    test_dense = _dense_run(index, doc_ids, test_queries, spec, name, timings, table)
    check = None
    # An explicit precision is checked against fp32 (which costs an fp32 encode of the corpus, once);
    # `auto` is for speed and relies on the deltas measured per precision (docs/SCALE.md).
    if precision != REFERENCE and spec.doc_precision != AUTO:
        with _timed(timings, "precision_check_s"):
            check = _precision_check(pair, collection, spec, (test_queries, qrels), test_dense, name, table)
    params: dict[str, dict[str, Any]] = {}
    runs = {}
    if "dense" in spec.systems:
        runs[f"{name}/dense"] = test_dense
        params["dense"] = {}
    if tuning is not None:
        runs[f"{name}/hybrid"], params["hybrid"] = _hybrid(
            spec,
            tuning,
            (lexical, test_dense, qrels),
            lambda: _dense_run(
                index,
                doc_ids,
                _query_vectors(pair, tune_queries, spec, timings),
                spec,
                name,
                timings,
                table,
            ),
            (lexical_tune, tune_qrels),
            timings,
            f"{suite.path}: [retrieval] {name}",
        )
    if "rrf" in spec.systems:
        with _timed(timings, "fuse_s"):
            runs[f"{name}/rrf"] = rrf([lexical, test_dense], k=spec.rrf_k, depth=spec.depth)
        params["rrf"] = {"k": spec.rrf_k}
    # Built last: the pair's systems share its timings, complete only once every stage has run.
    info = PairInfo(
        pair.query.parameter_count(), cache_status, spec.index, timings, precision, check, spec.doc_precision
    )
    systems = [SystemResult(f"{name}/{system}", system, name, p, {}, info) for system, p in params.items()]
    return systems, runs


def _doc_vectors(
    pair: EncoderPair, collection: Collection, spec: RetrievalSpec, name: str, precision: str
) -> tuple[list[str], Any, str]:
    return embeddings.doc_embeddings(
        pair.doc,
        collection,
        max_length=spec.doc_max_length,
        batch_size=spec.batch_size,
        label=name,
        precision=precision,
    )


def _precision_check(
    pair: EncoderPair,
    collection: Collection,
    spec: RetrievalSpec,
    test: tuple[tuple[list[str], np.ndarray], dict],
    test_dense: RankedRun,
    name: str,
    table: DocIndex,
) -> dict[str, Any]:
    """The dense first measure on the test split at the suite's document precision and at fp32 (whose
    vectors are computed once and cached like any others), and the difference. The test queries' vectors
    are the run's own: the document precision does not touch the query side."""
    queries, qrels = test
    measure = spec.measures[0]
    doc_ids, vectors, _ = _doc_vectors(pair, collection, spec, name, REFERENCE)
    index = dense.build_index(vectors, spec.index)
    reference = _dense_run(index, doc_ids, queries, spec, name, {}, table)
    got = evaluate_run(test_dense, qrels, [measure])[0][measure]
    want = evaluate_run(reference, qrels, [measure])[0][measure]
    return precision_verdict(measure, spec.doc_precision, got, want, spec.max_precision_loss)


def precision_verdict(
    measure: str, precision: str, got: float, want: float, bound: float | None
) -> dict[str, Any]:
    """The precision check as reported: both values, their difference, and whether the loss (fp32's value
    minus this precision's) is past the suite's `max_precision_loss`."""
    check = {"measure": measure, precision: got, REFERENCE: want, "delta": got - want}
    if bound is not None:
        check |= {"max_loss": bound, "exceeded": want - got > bound}
    return check


def _hybrid(
    spec: RetrievalSpec,
    tuning: Tuning,
    test: tuple[RankedRun, RankedRun, dict],
    tune_dense: Callable[[], RankedRun],
    tune: tuple[RankedRun, dict],
    timings: dict[str, float],
    where: str,
) -> tuple[RankedRun, dict[str, Any]]:
    """The hybrid test run and its parameters: alpha tuned on the tuning split, or per fold by
    cross-validation over the test queries (each held-out fold fused at its own alpha)."""
    lexical, test_dense, qrels = test
    params: dict[str, Any] = {
        "alpha_weights": "lexical",
        "normalization": spec.normalization,
        "missing": spec.missing,
        "tuned_on": tuning.split,
    }
    if tuning.folds:
        with _timed(timings, "tune_alpha_s"):
            fused, folds = cross_validate(lexical, test_dense, qrels, spec, tuning.folds, where)
        alphas = [fold["alpha"] for fold in folds if fold["alpha"] is not None]
        return fused, {"alpha": alphas, **params, "cv_folds": tuning.folds, "folds": folds}
    lexical_tune, tune_qrels = tune
    dense_tune = tune_dense()
    with _timed(timings, "tune_alpha_s"):
        alpha, curve = tune_alpha(lexical_tune, dense_tune, tune_qrels, spec)
    with _timed(timings, "fuse_s"):
        fused = interpolate(
            lexical, test_dense, alpha, normalization=spec.normalization, missing=spec.missing, k=spec.depth
        )
    return fused, {"alpha": alpha, **params, "curve": curve}


def _comparison_pairs(systems: list[SystemResult], spec: RetrievalSpec) -> list[tuple[str, str]]:
    """Every system against BM25, and every encoder's system against the baseline encoder's same system."""
    ids = {e.id for e in systems}
    pairs = [(e.id, "bm25") for e in systems if e.id != "bm25" and "bm25" in ids]
    for e in systems:
        if e.encoder and e.encoder != spec.baseline and (other := f"{spec.baseline}/{e.system}") in ids:
            pairs.append((e.id, other))
    return pairs
