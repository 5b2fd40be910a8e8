"""Hard negatives for training: documents BM25 ranks high for a query that are not judged relevant to it."""

from __future__ import annotations

import random

from daft import bm25
from daft.collections.collection import Collection
from daft.errors import UserError
from daft.progress import console


def hard_negatives(
    collection: Collection,
    split: str,
    *,
    k: int = 8,
    depth: int = 100,
    k1: float = bm25.DEFAULT_K1,
    b: float = bm25.DEFAULT_B,
    seed: int = 0,
) -> dict[str, list[str]]:
    """Per query of `split`, `k` doc ids sampled from its BM25 top-`depth` minus its positives (grade > 0).

    Sampling is without replacement and seeded per query (by `seed` and the qid), so a query's negatives
    do not depend on which other queries are asked for or in what order. A query with fewer than `k`
    candidates gets all of them (in sampled order); how many queries did is reported once.
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise UserError(f"hard negatives: k must be a positive integer, got {k!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < k:
        raise UserError(f"hard negatives: depth must be an integer >= k ({k}), got {depth!r}")
    _, qrels = collection.split(split)
    ranked = bm25.run(collection, split, k=depth, k1=k1, b=b)
    negatives: dict[str, list[str]] = {}
    short = 0
    for qid, grades in qrels.items():
        positives = {doc_id for doc_id, grade in grades.items() if grade > 0}
        candidates = [doc_id for doc_id, _ in ranked.get(qid, [])[:depth] if doc_id not in positives]
        if len(candidates) < k:
            short += 1
        # A string seed is hashed with sha512 by `random`, so it is stable across processes and Pythons.
        rng = random.Random(f"{seed}:{qid}")
        negatives[qid] = rng.sample(candidates, min(k, len(candidates)))
    if short:
        console.print(
            f"[yellow]hard negatives: {short:,} of {len(qrels):,} queries of {collection.name}:{split} have "
            f"fewer than {k} non-positive documents in their BM25 top {depth}; they get what there is[/]"
        )
    return negatives
