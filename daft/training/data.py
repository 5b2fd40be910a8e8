"""Training data: the training queries with positives and BM25 hard negatives, the validation set, and batches.

Batches come from a shuffle seeded by (seed, stage, epoch) alone, never from global RNG state, so a resumed run
sees the same batches as an uninterrupted one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from daft import collections
from daft.collections.collection import Collection
from daft.core import distributed
from daft.core.errors import UserError
from daft.training.negatives import hard_negatives
from daft.training.recipe import Recipe
from daft.training.validation import ValidationSet, kl_documents, stable_key, validation_corpus

DISTRACTORS_PER_QUERY = 20  # BM25-hard distractors per validation query in a reduced validation corpus


@dataclass
class TrainingData:
    """Everything the stages read: training triples' ingredients and the validation set."""

    collection: Collection
    qids: list[str]
    queries: dict[str, str]
    positives: dict[str, list[str]]
    negatives: dict[str, list[str]]
    vset: ValidationSet
    fingerprint: str


def prepare_data(recipe: Recipe) -> TrainingData:
    """Load the collection, pick the training/validation queries, and sample BM25 hard negatives."""
    data, neg = recipe.data, recipe.negatives
    collection = collections.load(data.collection)
    train_queries, train_qrels = collection.split(data.train_split)
    qids = sorted(
        (q for q in train_queries if any(g > 0 for g in train_qrels.get(q, {}).values())), key=stable_key
    )
    if data.max_train_queries:
        qids = qids[: data.max_train_queries]
    if not qids:
        raise UserError(
            f"{data.collection}: split {data.train_split!r} has no query with a relevant document"
        )
    negatives = (
        hard_negatives(
            collection,
            data.train_split,
            k=neg.k,
            depth=neg.depth,
            k1=neg.k1,
            b=neg.b,
            seed=recipe.recipe.seed,
        )
        if neg.k
        else {}
    )
    dev_queries, dev_qrels = collection.split(data.dev_split)
    dev_ids = sorted(dev_queries, key=stable_key)[: data.max_dev_queries or None]
    dev_qrels = {q: dict(dev_qrels.get(q, {})) for q in dev_ids}
    corpus_ids = sorted(collection.corpus)
    distractors: dict[str, list[str]] = {}
    if 0 < data.validation_documents < len(corpus_ids):
        from daft.search.bm25 import run as bm25_run

        full = bm25_run(collection, data.dev_split, k=DISTRACTORS_PER_QUERY, k1=neg.k1, b=neg.b)
        distractors = {q: [d for d, _ in full.get(q, [])] for q in dev_ids}
    doc_ids = validation_corpus(corpus_ids, dev_qrels, distractors, data.validation_documents)
    text = collection.corpus
    kl_ids = kl_documents({d: text[d].full_text for d in corpus_ids}, data.kl_documents)
    vset = ValidationSet(
        queries={q: dev_queries[q] for q in dev_ids},
        qrels=dev_qrels,
        doc_ids=doc_ids,
        doc_texts=[text[d].full_text for d in doc_ids],
        kl_ids=kl_ids,
        kl_texts=[text[d].full_text for d in kl_ids],
    )
    return TrainingData(
        collection=collection,
        qids=qids,
        queries={q: train_queries[q] for q in qids},
        positives={q: sorted(d for d, g in train_qrels[q].items() if g > 0) for q in qids},
        negatives={q: negatives.get(q, []) for q in qids},
        vset=vset,
        fingerprint=collection.fingerprint,
    )


@dataclass
class Batch:
    """One training step's inputs: query ids and texts, the batch's unique documents, targets and exclusions."""

    qids: list[str]
    query_texts: list[str]
    doc_ids: list[str]
    targets: torch.Tensor
    exclude: torch.Tensor


def make_batch(data: TrainingData, qids: list[str], rng: random.Random) -> Batch:
    """Each query's positive (sampled if several) and its hard negatives, deduplicated across the batch."""
    doc_index: dict[str, int] = {}
    targets = []
    for qid in qids:
        positive = rng.choice(data.positives[qid])
        targets.append(doc_index.setdefault(positive, len(doc_index)))
        for doc_id in data.negatives[qid]:
            doc_index.setdefault(doc_id, len(doc_index))
    doc_ids = list(doc_index)
    exclude = torch.zeros(len(qids), len(doc_ids), dtype=torch.bool)
    for row, qid in enumerate(qids):
        for doc_id in data.positives[qid]:  # another relevant doc is neither positive nor negative here
            column = doc_index.get(doc_id)
            if column is not None and column != targets[row]:
                exclude[row, column] = True
    return Batch(qids, [data.queries[q] for q in qids], doc_ids, torch.tensor(targets), exclude)


def batches(
    data: TrainingData,
    seed: int,
    stage: str,
    epoch: int,
    batch_size: int,
    steps: int,
    world: distributed.World | None = None,
) -> Iterator[Batch]:
    """The batches of one epoch (this process's share), from a shuffle seeded by (seed, stage, epoch) alone."""
    rng = random.Random(f"{seed}:{stage}:{epoch}")
    order = list(data.qids)
    rng.shuffle(order)
    for step in range(steps):
        start = (step * batch_size) % len(order)
        chosen = (order + order)[start : start + batch_size]  # wrap around when a cap exceeds one pass
        yield make_batch(data, distributed.shard(chosen, world or distributed.World()), rng)
