"""The quality half of a suite: every listed retrieval system's run, evaluated and compared.

Flow: load the collection -> the test split (and the tuning split, where a listed system tunes: resolved
once, `bench.retrieval.tuning`) with BM25's run of each (cached with the collection) when a system needs
it -> the systems run once (BM25) -> per retrieving encoder, its systems (`bench.retrieval.systems`: each
asks for the runs it fuses and the encoder's vectors, made once) and the check of an index built off fp32
-> ir-measures per query -> paired significance tests with Holm correction. Returns a `RetrievalResult`
(per-query values included) and the TREC run files (their lines, made as the pipeline writes them next to
the JSON report). Every run is a compact `RankedRun` over one sorted table of the corpus's doc ids
(`bench.retrieval.runs`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace

from bench.results import RetrievalResult, SystemResult
from bench.retrieval.run_checks import check_run
from bench.retrieval.runs import DocIndex, RankedRun, Rows
from bench.retrieval.significance import compare_systems
from bench.retrieval.systems import Produced, Split, needed, per_encoder, registry, timed
from bench.retrieval.systems.bm25 import bm25_run
from bench.retrieval.systems.vectors import Vectors
from bench.retrieval.tuning import Tuning, resolve
from bench.specs import RetrievalSpec, Suite
from daft import collections
from daft.collections.collection import Collection
from daft.core.errors import UserError
from daft.search import bm25
from daft.search.evaluation import evaluate_run

RUN_TAG = "daft-bench"


def _judged(collection: Collection, split: str, max_queries: int, label: str) -> tuple[dict, dict]:
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


def _trec_lines(run: RankedRun, tag: str, depth: int) -> Iterator[str]:
    """The top `depth` of each query as a TREC run file's lines (daft.search.bm25's format and id checks), made
    only as the file is written."""
    yield from bm25.trec_lines(run.take(run.qids, depth), tag)


class _Context:
    """A `bench.retrieval.systems.Context`: the run's (encoder None) or one encoder's; runs made once."""

    def __init__(
        self,
        suite: Suite,
        splits: tuple[Split, Split | None, Tuning | None],
        collection: Collection,
        table: DocIndex,
        encoder: str | None = None,
        parent: _Context | None = None,
    ):
        self.suite, self.collection, self.table = suite, collection, table
        assert suite.retrieval is not None
        self.spec: RetrievalSpec = suite.retrieval
        self.test, self.tune, self.tuning = splits
        self.encoder, self.parent = encoder, parent
        self.where = f"{suite.path}: [retrieval]" + (f" {encoder}" if encoder else "")
        self.timings: dict[str, float] = {}
        self.produced: dict[tuple[str, str], Produced] = {}
        self._vectors: Vectors | None = None

    @property
    def vectors(self) -> Vectors:
        if self._vectors is None:
            assert self.encoder is not None, "a system run once asked for an encoder's vectors"
            self._vectors = Vectors(self.suite, self.encoder, self.collection, self.table, self.timings)
        return self._vectors

    def produce(self, system: str, split: Split) -> Produced:
        """`system`'s run of `split` with its parameters; a system run once is the run's context's."""
        if self.parent is not None and not per_encoder(system):
            return self.parent.produce(system, split)
        if (system, split.name) not in self.produced:
            self.produced[system, split.name] = registry()[system].produce(self, split)
        return self.produced[system, split.name]

    def run(self, system: str, split: Split) -> RankedRun:
        return self.produce(system, split).run

    def timed(self, key: str) -> contextlib.AbstractContextManager[None]:
        return timed(self.timings, key)

    def child(self, encoder: str) -> _Context:
        """The context of one encoder's systems."""
        splits = (self.test, self.tune, self.tuning)
        return _Context(self.suite, splits, self.collection, self.table, encoder, self)


def _splits(
    suite: Suite, collection: Collection, table: DocIndex, timings: dict[str, float]
) -> tuple[Split, Split | None, Tuning | None]:
    """The test split, the tuning split and the tuning resolved (where a listed system tunes); each split
    with BM25's run of it where a system needs one."""
    spec = suite.retrieval
    assert spec is not None
    label = f"{suite.path}: [retrieval]"
    systems = [registry()[name] for name in needed(spec.systems)]
    judged = {spec.split: _judged(collection, spec.split, spec.max_queries, label)}
    tuning = None
    if any(s.tunes for s in systems):
        tuning = resolve(spec.tune_split, spec.split, collection.splits, spec.cv_folds, label)
        if not tuning.folds:
            judged[tuning.split] = _judged(collection, tuning.split, spec.max_queries, label)
    lexical = dict.fromkeys(judged, Rows().build(table.ids))
    if any(s.bm25 for s in systems):
        with timed(timings, "bm25_s"):  # index (cached) and search of both splits
            lexical = {
                name: bm25_run(collection, name, queries, spec, table)
                for name, (queries, _) in judged.items()
            }
    made = [Split(name, queries, qrels, lexical[name]) for name, (queries, qrels) in judged.items()]
    return made[0], made[1] if len(made) > 1 else None, tuning


def run_retrieval(
    suite: Suite, *, advance: Callable[[str], None]
) -> tuple[RetrievalResult, dict[str, Iterable[str]]]:
    """Evaluate every system of `suite.retrieval`; returns the result and the TREC run files to write."""
    spec = suite.retrieval
    assert spec is not None
    collection = collections.load(spec.collection)
    table = DocIndex(set(collection.corpus))
    timings: dict[str, float] = {}
    splits = _splits(suite, collection, table, timings)
    test = splits[0]
    run = _Context(suite, splits, collection, table)
    once = [name for name in spec.systems if not per_encoder(name)]
    entries = []
    for name in once:
        made = run.produce(name, test)
        entries.append((SystemResult(name, name, None, made.params, {}), made.run))
    if once:
        advance(", ".join(once))
    for name in spec.encoders:
        entries += _encoder_systems(run.child(name), [s for s in spec.systems if per_encoder(s)])
        advance(name)
    systems = _evaluated(entries, test, collection, spec, timings, run.where)
    with timed(timings, "significance_s"):
        comparisons = compare_systems(
            {entry.id: entry.per_query for entry in systems},
            _comparison_pairs(systems, spec),
            list(spec.measures),
            alpha_level=spec.significance_level,
            test=spec.test,
            seed=spec.seed,
        )
    tuning = splits[2]
    result = RetrievalResult(
        collection=collection.name,
        collection_fingerprint=collection.fingerprint,
        split=spec.split,
        tune_split=tuning.split if tuning else None,
        tune_folds=tuning.folds if tuning else 0,
        queries=len(test.queries),
        measures=tuple(spec.measures),
        systems=tuple(systems),
        comparisons=tuple(comparisons),
        timings=timings,
        primary_measure=spec.primary_measure,
    )
    run_files = {
        f"runs/{e.id.replace('/', '__')}.trec": _trec_lines(run, e.id.replace("/", "__"), spec.run_depth)
        for e, run in entries
    }
    return result, run_files


def _encoder_systems(context: _Context, listed: list[str]) -> list[tuple[SystemResult, RankedRun]]:
    """One encoder's listed systems of the test split; the systems share the encoder's `PairInfo`, made
    last: its timings are complete only once every stage has run."""
    if not listed:
        return []
    made = {name: context.produce(name, context.test) for name in listed}
    info = context.vectors.info(context.vectors.precision_check(context.test))
    return [
        (SystemResult(f"{context.encoder}/{name}", name, context.encoder, p.params, {}, info), p.run)
        for name, p in made.items()
    ]


def _evaluated(
    entries: list[tuple[SystemResult, RankedRun]],
    test: Split,
    collection: Collection,
    spec: RetrievalSpec,
    timings: dict[str, float],
    label: str,
) -> list[SystemResult]:
    """The systems with their runs' measures, checked against the collection first."""
    corpus_ids = set(collection.corpus)
    systems = []
    with timed(timings, "evaluate_s"):
        for entry, run in entries:
            check_run(run, test.qrels, corpus_ids, f"{label} {entry.id}")
            aggregate, per_query = evaluate_run(run, test.qrels, spec.measures)
            systems.append(replace(entry, aggregate=aggregate, per_query=per_query))
    return systems


def _comparison_pairs(systems: list[SystemResult], spec: RetrievalSpec) -> list[tuple[str, str]]:
    """Every system against BM25, every encoder's system against the baseline encoder's same system, and
    each of [retrieval] comparisons' encoder pairs system by system."""
    ids = {e.id for e in systems}
    pairs = [(e.id, "bm25") for e in systems if e.id != "bm25" and "bm25" in ids]
    for e in systems:
        if not e.encoder:
            continue
        references = [spec.baseline] * (e.encoder != spec.baseline)
        references += [reference for one, reference in spec.comparisons if one == e.encoder]
        pairs += [(e.id, other) for r in references if (other := f"{r}/{e.system}") in ids]
    return pairs
