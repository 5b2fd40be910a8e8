"""Document embeddings: computed once per (document encoder, corpus, length, precision) and cached on disk.

The cache key is a fingerprint of everything that changes the vectors: the encoder's weights (sha256 over
its state dict), its kind, pooling and dimension, the maximum document length, what computed the forward
pass (`precision`: fp32 torch is the reference and its keys are those from before precisions existed; the
bench's other precisions pass their own forward), and the corpus fingerprint (documents only: another split,
other queries or qrels, another suite over the same corpus reuse the vectors). A different encoder therefore
never reuses another's vectors, and a cache entry whose vectors disagree with the encoder's dimension or the
corpus size is rebuilt, not trusted. Training against a fixed index (`daft.training.docs.IndexDocs`), the
final evaluation of a training run and the bench's retrieval suites share these entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from daft.collections.collection import Collection
from daft.core.errors import UserError
from daft.core.progress import console, progress
from daft.store import cache
from daft.store.cache import weights_fingerprint

if TYPE_CHECKING:  # the cache itself needs no torch: `bench`'s CLIs import it before any model
    from daft.models.encoders import Encoder

FORMAT = 2
VECTORS, IDS = "vectors.npy", "doc_ids.json"
REFERENCE = "fp32"  # torch fp32, `Encoder.encode`
# What a precision's cached vectors were computed with, where it changed since the first entries: bf16 on
# CPU was autocast before it was a bf16 copy of the weights (the vectors differ in the last bits).
IMPLEMENTATION = {"bf16": "bf16-weights"}
# A forward pass over texts: L2-normalised float32 rows in input order; calls `on_batch(n)` after each batch.
Forward = Callable[[Sequence[str], Callable[[int], None]], np.ndarray]


def fingerprint(encoder: Encoder, collection: Collection, max_length: int, precision: str = REFERENCE) -> str:
    """The cache key of `encoder`'s embeddings of `collection` truncated at `max_length` tokens."""
    identity = {
        "format": FORMAT,
        "kind": type(encoder).__name__,
        "pooling": getattr(encoder, "pooling", None),
        # A sentence-transformers Router's routes share weights but not outputs.
        "route": getattr(encoder, "route", None),
        "dim": encoder.dim,
        "weights": weights_fingerprint(encoder),
        "corpus": collection.corpus_fingerprint,
        "max_length": max_length,
    }
    if precision != REFERENCE:  # fp32 entries written before precisions existed stay valid
        identity["precision"] = IMPLEMENTATION.get(precision, precision)
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def entry_dir(key: str) -> Path:
    """Where the embeddings with cache key `key` live."""
    return cache.cache_root() / "embeddings" / key[:32]


def _load(entry: Path, dim: int, n_docs: int) -> tuple[list[str], np.ndarray] | str:
    """The cached ids and vectors, or why they cannot be used."""
    if problem := cache.check(entry):
        return problem
    try:
        vectors = np.load(entry / VECTORS, mmap_mode="r")
        doc_ids = json.loads((entry / IDS).read_text("utf-8"))
    except (OSError, ValueError) as err:
        return f"unreadable ({err})"
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        return f"vectors of shape {vectors.shape} do not match the encoder's dimension {dim}"
    if vectors.shape[0] != n_docs or len(doc_ids) != n_docs:
        return f"{vectors.shape[0]} vectors for a corpus of {n_docs} documents"
    return doc_ids, np.asarray(vectors)


def cached(
    encoder: Encoder, collection: Collection, max_length: int, precision: str = REFERENCE
) -> tuple[list[str], np.ndarray] | str:
    """The cached (doc ids, vectors) of `encoder` over `collection`, or why there are none ("missing", ...)."""
    entry = entry_dir(fingerprint(encoder, collection, max_length, precision))
    return _load(entry, encoder.dim, len(collection.corpus))


def reference_forward(encoder: Encoder, *, max_length: int, batch_size: int, device: str | None) -> Forward:
    """The fp32 torch forward pass (`Encoder.encode`), the precision every other one is checked against."""
    return lambda texts, on_batch: encoder.encode(
        texts, batch_size=batch_size, max_length=max_length, device=device, on_batch=on_batch
    )


def encode_texts(
    encoder: Encoder, texts: Sequence[str], forward: Forward, *, label: str, precision: str = REFERENCE
) -> np.ndarray:
    """`forward(texts)` with a progress bar; non-finite vectors are a UserError."""
    shown = "" if precision == REFERENCE else f" ({precision})"
    with progress() as bar:
        task = bar.add_task(f"encode documents {label}{shown}", total=len(texts))
        vectors = forward(texts, lambda n: bar.advance(task, n))
    if not np.isfinite(vectors).all():
        raise UserError(
            f"{label or 'document encoder'}: non-finite document embeddings; refusing to cache them"
        )
    return vectors


def store(
    encoder: Encoder,
    collection: Collection,
    max_length: int,
    doc_ids: list[str],
    vectors: np.ndarray | Sequence[np.ndarray],
    precision: str = REFERENCE,
) -> None:
    """Write `vectors` (rows in `doc_ids` order: sorted ids; or consecutive blocks of them, e.g. memory-
    mapped shards, copied block by block so the whole matrix is never in memory) as the sealed entry."""
    key = fingerprint(encoder, collection, max_length, precision)
    entry = entry_dir(key)
    cache.sweep(entry.parent)
    meta = {
        "kind": "embeddings",
        "format": FORMAT,
        "key": key,
        "collection": collection.name,
        "dim": encoder.dim,
        "precision": precision,
    }
    blocks = [vectors] if isinstance(vectors, np.ndarray) else list(vectors)
    with cache.building(entry, meta) as out:
        rows = sum(len(block) for block in blocks)
        merged = np.lib.format.open_memmap(
            out / VECTORS, mode="w+", dtype=np.float32, shape=(rows, encoder.dim)
        )
        start = 0
        for block in blocks:
            merged[start : start + len(block)] = block
            start += len(block)
        merged.flush()
        del merged
        (out / IDS).write_text(json.dumps(doc_ids), "utf-8")


def doc_embeddings(
    encoder: Encoder,
    collection: Collection,
    *,
    max_length: int,
    batch_size: int = 128,
    device: str | None = None,
    label: str = "",
    precision: str = REFERENCE,
    forward: Forward | None = None,
) -> tuple[list[str], np.ndarray, str]:
    """(sorted doc ids, L2-normalised float32 vectors, what the cache did) for every document of
    `collection`; `forward` computes them at `precision` (by default the fp32 reference)."""
    if forward is None:
        if precision != REFERENCE:
            raise ValueError(f"precision {precision!r} needs its own forward pass")
        forward = reference_forward(encoder, max_length=max_length, batch_size=batch_size, device=device)
    found = cached(encoder, collection, max_length, precision)
    if not isinstance(found, str):
        return *found, "cached"
    status = "built" if found == "missing" else f"rebuilt ({found})"
    if found != "missing":
        console.print(
            f"[yellow]document embeddings of {label or collection.name}: {found}; encoding again[/]"
        )
    doc_ids = sorted(collection.corpus)
    texts = [collection.corpus[d].full_text for d in doc_ids]
    vectors = encode_texts(encoder, texts, forward, label=label or collection.name, precision=precision)
    store(encoder, collection, max_length, doc_ids, vectors, precision)
    return doc_ids, vectors, status
