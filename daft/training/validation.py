"""Validation during training: dense retrieval quality (ir-measures) and the collapse diagnostics.

The validation corpus is either the whole collection or, for CPU-sized runs, a fixed subset that holds
every relevant document of the validation queries plus BM25-hard distractors and a stable-hash fill
(`validation_corpus`); the final test evaluation always uses the whole collection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from daft.models.encoders import Encoder
from daft.search.evaluation import evaluate_dense
from daft.training.diagnostics import collapse_report

MEASURES = ("nDCG@10", "RR@10", "R@100")


@dataclass(frozen=True)
class ValidationSet:
    """Queries with qrels, the documents to rank, and the documents for the KL estimator."""

    queries: Mapping[str, str]
    qrels: Mapping[str, Mapping[str, int]]
    doc_ids: Sequence[str]
    doc_texts: Sequence[str]
    kl_ids: Sequence[str]  # the documents of the KL estimator (a fixed index looks their vectors up)
    kl_texts: Sequence[str]


def stable_key(key: str) -> int:
    """An order that depends on the key alone (not on Python's hash seed or insertion order)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")


def validation_corpus(
    corpus_ids: Sequence[str],
    qrels: Mapping[str, Mapping[str, int]],
    distractors: Mapping[str, Sequence[str]],
    size: int,
) -> list[str]:
    """Doc ids to rank at validation: all relevant docs, then each query's distractors, then a hash fill."""
    if size <= 0 or size >= len(corpus_ids):
        return list(corpus_ids)
    chosen = dict.fromkeys(d for judged in qrels.values() for d, grade in judged.items() if grade > 0)
    for ranked in distractors.values():  # round-robin would be fairer; order is by qid for stability
        for doc_id in ranked:
            if len(chosen) >= size:
                break
            chosen.setdefault(doc_id)
    for doc_id in sorted(corpus_ids, key=stable_key):
        if len(chosen) >= size:
            break
        chosen.setdefault(doc_id)
    return list(chosen)


def kl_documents(corpus: Mapping[str, str], n: int) -> list[str]:
    """A fixed, stable sample of `n` doc ids with distinct texts for the KL estimator.

    Distinct texts matter: an exact duplicate gives a zero nearest-neighbour distance, which the
    estimator floors at a tiny epsilon and so inflates the estimate by about d/n * 23 nats.
    """
    chosen: dict[str, str] = {}
    for doc_id in sorted(corpus, key=stable_key):
        if len(chosen) >= n:
            break
        chosen.setdefault(corpus[doc_id], doc_id)
    return list(chosen.values())


def validate(
    query_encoder: Encoder,
    doc_encoder: Encoder,
    vset: ValidationSet,
    *,
    doc_vectors: np.ndarray | None = None,
    kl_doc_vectors: np.ndarray | None = None,
    batch_size: int = 128,
    device: str | None = None,
) -> dict[str, float]:
    """Retrieval measures on the validation queries plus KL, effective rank and mean cosine."""
    qids = list(vset.queries)
    query_vectors = query_encoder.encode(
        [vset.queries[q] for q in qids], batch_size=batch_size, device=device
    )
    if doc_vectors is None:
        doc_vectors = doc_encoder.encode(list(vset.doc_texts), batch_size=batch_size, device=device)
    metrics = evaluate_dense(
        query_vectors, qids, doc_vectors, vset.doc_ids, {q: vset.qrels[q] for q in qids}, MEASURES
    )
    # KL(doc-encoder embeddings || query-encoder embeddings) of the same documents: how far the query
    # encoder's output distribution is from the space it must be aligned to.
    if kl_doc_vectors is None:
        kl_doc_vectors = doc_encoder.encode(list(vset.kl_texts), batch_size=batch_size, device=device)
    kl_query_vectors = query_encoder.encode(list(vset.kl_texts), batch_size=batch_size, device=device)
    return {**metrics, **collapse_report(query_vectors, kl_doc_vectors, kl_query_vectors)}
