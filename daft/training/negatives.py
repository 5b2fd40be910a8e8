"""Hard negatives for training: documents BM25 ranks high for a query that are not judged relevant to it.

The sampled negatives are cached beside the BM25 runs they come from (`negatives_path`), keyed by the
collection's fingerprint (corpus, queries, qrels), the split and every sampling setting; a cached entry is
read without starting the JVM, so a machine without Java trains from negatives computed elsewhere (the GPU
grid carries them: `daft.gpu`). Rebuilding a collection's BM25 index removes them with its runs.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from daft.collections.collection import Collection
from daft.core.errors import UserError
from daft.core.progress import console
from daft.search import bm25
from daft.store import cache

# Bump when what a cached entry holds, or how negatives are sampled, changes.
NEGATIVES_FORMAT = 1


def negatives_path(
    collection: Collection, split: str, *, k: int, depth: int, k1: float, b: float, seed: int
) -> Path:
    """Where the negatives of `split` at these settings are cached (in the collection's BM25 runs folder)."""
    identity = {
        "format": NEGATIVES_FORMAT,
        "collection": collection.fingerprint,
        "split": split,
        "k": k,
        "depth": depth,
        "k1": repr(float(k1)),
        "b": repr(float(b)),
        "seed": seed,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode("utf-8")).hexdigest()
    return bm25.index_root(collection) / "runs" / f"negatives-{digest[:32]}.json"


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
    path = negatives_path(collection, split, k=k, depth=depth, k1=k1, b=b, seed=seed)
    cached = _read(path, qrels)
    if cached is None:
        cached = _sample(collection, split, qrels, k=k, depth=depth, k1=k1, b=b, seed=seed)
        cache.atomic_write_text(path, json.dumps(cached, separators=(",", ":")))
    negatives, short = cached["negatives"], cached["short"]
    if short:
        console.print(
            f"[yellow]hard negatives: {short:,} of {len(qrels):,} queries of {collection.name}:{split} have "
            f"fewer than {k} non-positive documents in their BM25 top {depth}; they get what there is[/]"
        )
    # The fingerprint ignores order; the caller gets the split's own order, as when freshly sampled.
    return {qid: list(negatives[qid]) for qid in qrels}


def _sample(
    collection: Collection,
    split: str,
    qrels: dict[str, dict[str, int]],
    *,
    k: int,
    depth: int,
    k1: float,
    b: float,
    seed: int,
) -> dict[str, Any]:
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
    return {"format": NEGATIVES_FORMAT, "short": short, "negatives": negatives}


def _read(path: Path, qrels: dict[str, dict[str, int]]) -> dict[str, Any] | None:
    """The cached entry at `path` if it is well formed and covers exactly the split's queries, else None."""
    if not path.is_file():
        return None
    try:
        entry = json.loads(path.read_text("utf-8"))
        negatives = entry["negatives"]
        ok = (
            entry["format"] == NEGATIVES_FORMAT
            and isinstance(entry["short"], int)
            and isinstance(negatives, dict)
            and set(negatives) == set(qrels)
            and all(isinstance(v, list) and all(isinstance(d, str) for d in v) for v in negatives.values())
        )
    except (OSError, ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        console.print(f"[yellow]hard negatives {path.name}: unreadable or out of date; sampling again[/]")
        return None
    return entry
