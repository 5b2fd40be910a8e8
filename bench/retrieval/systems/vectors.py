"""An encoder pair's vectors for one run: what systems that declare `vectors` need (dense, and what fuses it).

The corpus is encoded once at the suite's document precision (through the embeddings cache) into a FAISS
index; each split's queries are encoded and searched once. An index built off fp32 is checked against fp32
on the primary measure (`precision_check`), unless `auto` chose the precision for speed. The keys declared
here ([retrieval] index, lengths, batch size, document precision and the precision-loss bound) are the
dense system's settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.results import PairInfo, PrecisionCheck
from bench.retrieval.runs import DocIndex, RankedRun
from bench.retrieval.systems.base import Split, timed
from daft.core.config import Table
from daft.core.errors import UserError
from daft.models.tokenization import NoTokens

if TYPE_CHECKING:
    from bench.specs import RetrievalSpec, Suite
    from daft.collections.collection import Collection
    from daft.models.pair import EncoderPair

PRECISION_LOSS_POLICIES = ("warn", "fail")


@dataclass(frozen=True)
class VectorSettings:
    """[retrieval] keys of the encoders' vectors: the FAISS index, the lengths, the encoding batch, and how
    the document side runs (fp32, bf16, onnx-fp32, onnx-int8, or auto: bf16 where native)."""

    index: str = "flat"
    query_max_length: int = 32
    doc_max_length: int = 128
    doc_precision: str = "fp32"
    batch_size: int = 128
    # How much of the dense primary measure an index built off fp32 may lose against fp32 (it depends on
    # the collection: onnx-int8 lost 0.0011 nDCG@10 on wordnet, 0.0064 on another BEIR set); past it, a
    # warning, or with precision_loss = "fail" a failed run (exit 1, the report written).
    max_precision_loss: float | None = None
    precision_loss: str = "warn"

    @classmethod
    def parse(cls, t: Table, _: RetrievalSpec) -> VectorSettings:
        """The vectors' keys, checked; the index kinds and precisions named where they are implemented."""
        from bench.documents.precision import SETTINGS
        from bench.retrieval.dense import INDEXES
        from bench.specs import MAX_BATCH

        return cls(
            index=t.choice("index", INDEXES, "index"),
            query_max_length=t.integer("query_max_length", minimum=1),
            doc_max_length=t.integer("doc_max_length", minimum=1),
            doc_precision=t.choice("doc_precision", SETTINGS, "document precision"),
            batch_size=t.integer("batch_size", minimum=1, maximum=MAX_BATCH),
            max_precision_loss=t.number("max_precision_loss", positive=False)
            if "max_precision_loss" in t
            else None,
            precision_loss=t.choice("precision_loss", PRECISION_LOSS_POLICIES, "precision-loss policy"),
        )


class Vectors:
    """One encoder pair's document index and query vectors for one run, and its stage timings."""

    def __init__(
        self, suite: Suite, name: str, collection: Collection, table: DocIndex, timings: dict[str, float]
    ):
        from bench.documents.precision import describe, resolve_precision
        from bench.pairs import load_retrieval_pair
        from bench.retrieval import dense
        from daft.core.progress import console

        self.spec = suite.retrieval
        assert self.spec is not None
        self.settings = self.spec.setting(VectorSettings)
        self.name, self.collection, self.table = name, collection, table
        self.timings = timings  # the encoder's: its systems' stages (tuning, fusion) land here too
        with timed(self.timings, "load_s"):
            self.pair: EncoderPair = load_retrieval_pair(suite.encoder(name))
        setting = self.settings.doc_precision
        self.precision = resolve_precision(setting, next(self.pair.doc.parameters()).device.type)
        console.print(f"{name}: documents in {describe(self.precision, setting)}", highlight=False)
        with timed(self.timings, "encode_corpus_s"):
            self.doc_ids, vectors, self.documents = self._doc_vectors(self.precision)
        with timed(self.timings, "index_s"):
            self.index = dense.build_index(vectors, self.settings.index)
        self._queries: dict[str, tuple[list[str], np.ndarray]] = {}
        self._runs: dict[str, RankedRun] = {}

    def _doc_vectors(self, precision: str) -> tuple[list[str], Any, str]:
        from bench.documents import embeddings

        return embeddings.doc_embeddings(
            self.pair.doc,
            self.collection,
            max_length=self.settings.doc_max_length,
            batch_size=self.settings.batch_size,
            label=self.name,
            precision=precision,
        )

    def queries(self, split: Split) -> tuple[list[str], np.ndarray]:
        """(qids, the query encoder's vectors of them) of `split`, in its order; encoded once."""
        if split.name not in self._queries:
            with timed(self.timings, "encode_queries_s"):
                try:
                    vectors = self.pair.query.encode(
                        list(split.queries.values()),
                        batch_size=self.settings.batch_size,
                        max_length=self.settings.query_max_length,
                    )
                except NoTokens as err:  # its batch position means nothing: batches are length-sorted
                    qid = next((q for q, text in split.queries.items() if text == err.text), None)
                    raise UserError(f"collection {self.spec.collection}: query {qid!r}: {err}") from None
            self._queries[split.name] = (list(split.queries), vectors)
        return self._queries[split.name]

    def search(self, split: Split) -> RankedRun:
        """The dense run of `split`'s queries against the index; searched once."""
        if split.name not in self._runs:
            self._runs[split.name] = self._search(self.index, self.doc_ids, split, self.timings)
        return self._runs[split.name]

    def _search(self, index: Any, doc_ids: list[str], split: Split, timings: dict[str, float]) -> RankedRun:
        from bench.retrieval import dense

        qids, vectors = self.queries(split)
        with timed(timings, "search_s"):
            return dense.search(
                index, doc_ids, vectors, qids, self.spec.depth, label=self.name, table=self.table
            )

    def precision_check(self, split: Split) -> PrecisionCheck | None:
        """An explicit precision off fp32 against fp32 (an fp32 encode of the corpus, cached once) on the
        primary measure of `split`'s dense run; `auto` is for speed and relies on the deltas measured per
        precision (docs/SCALE.md). The query vectors are the run's own: the precision is the documents'."""
        from bench.documents.precision import AUTO, REFERENCE
        from bench.retrieval import dense
        from daft.search.evaluation import evaluate_run

        if self.precision == REFERENCE or self.settings.doc_precision == AUTO:
            return None
        measure = self.spec.primary_measure
        got_run = self.search(split)
        with timed(self.timings, "precision_check_s"):
            doc_ids, vectors, _ = self._doc_vectors(REFERENCE)
            reference = self._search(dense.build_index(vectors, self.settings.index), doc_ids, split, {})
            got = evaluate_run(got_run, split.qrels, [measure])[0][measure]
            want = evaluate_run(reference, split.qrels, [measure])[0][measure]
        return PrecisionCheck(measure, got, want, self.settings.max_precision_loss)

    def info(self, check: PrecisionCheck | None) -> PairInfo:
        """What the encoder's systems share, once every stage has run (its timings are then complete)."""
        return PairInfo(
            self.pair.query.parameter_count(),
            self.documents,
            self.settings.index,
            self.timings,
            self.precision,
            check,
        )
