"""Corpus encoding sharded over processes (`torchrun`): each rank encodes a contiguous slice of the sorted
document ids, rank 0 concatenates the slices into the very cache entry that `embeddings.doc_embeddings`
(and so the retrieval suite) reads. Ranks share the cache directory (one machine, or a shared filesystem).

A document's vector does not depend on its neighbours, so the merged rows are the single-process rows
(up to the last bits that a different batch padding can move: tested).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.documents import embeddings
from bench.documents.precision import REFERENCE
from daft.collections.collection import Collection
from daft.core import distributed
from daft.core.distributed import World
from daft.core.errors import UserError
from daft.models.encoders import Encoder
from daft.search.embeddings import cached, entry_dir, fingerprint, store
from daft.store import cache


@dataclass(frozen=True)
class ShardedResult:
    """What a sharded encode did: the cache status, the documents in all and in this rank's slice."""

    status: str
    documents: int
    shard: tuple[int, int]


def bounds(n: int, world: World) -> tuple[int, int]:
    """This rank's contiguous slice [start, end) of `n` items; the slices tile 0..n in rank order."""
    return n * world.rank // world.size, n * (world.rank + 1) // world.size


def shards_dir(encoder: Encoder, collection: Collection, max_length: int, precision: str = REFERENCE) -> Path:
    """Where the ranks leave their slices until rank 0 merges them (swept like any staging leftover)."""
    entry = entry_dir(fingerprint(encoder, collection, max_length, precision))
    return entry.parent / f".{entry.name}.shards.tmp"


def encode_sharded(
    encoder: Encoder,
    collection: Collection,
    world: World,
    *,
    max_length: int,
    batch_size: int = 128,
    device: str | None = None,
    label: str = "",
    precision: str = REFERENCE,
) -> ShardedResult:
    """Encode this rank's slice of `collection`'s corpus; rank 0 merges into the cache. Call on every rank."""
    doc_ids = sorted(collection.corpus)
    start, end = bounds(len(doc_ids), world)
    # Rank 0 decides for everyone: a rank that looked later could see the entry rank 0 just merged.
    decision = None
    if world.main:
        decision = (
            "built" if isinstance(cached(encoder, collection, max_length, precision), str) else "cached"
        )
    found = distributed.broadcast(decision, world)
    if found == "cached":
        return ShardedResult("cached", len(doc_ids), (start, end))
    staging = shards_dir(encoder, collection, max_length, precision)
    staging.mkdir(parents=True, exist_ok=True)
    texts = [collection.corpus[d].full_text for d in doc_ids[start:end]]
    vectors = embeddings.encode_texts(
        encoder,
        texts,
        max_length=max_length,
        batch_size=batch_size,
        device=device,
        label=f"{label or collection.name} [{start:,}:{end:,}] rank {world.rank}/{world.size}",
        precision=precision,
    )
    buffer = io.BytesIO()
    np.save(buffer, vectors)
    cache.atomic_write_bytes(staging / f"rank{world.rank:05d}.npy", buffer.getvalue())
    distributed.barrier(world)
    if world.main:
        # Memory-mapped: the merge copies slice by slice, never holding the whole corpus's vectors.
        parts = [np.load(staging / f"rank{rank:05d}.npy", mmap_mode="r") for rank in range(world.size)]
        rows = sum(len(part) for part in parts)
        if rows != len(doc_ids) or any(part.shape[1:] != (encoder.dim,) for part in parts):
            raise UserError(
                f"{staging}: the shards hold {rows} rows, expected {len(doc_ids)} of {encoder.dim}-d"
            )
        store(encoder, collection, max_length, doc_ids, parts, precision)
        del parts
        cache.remove(staging)
    distributed.barrier(world)
    return ShardedResult("built", len(doc_ids), (start, end))
