"""How fast a collection's documents encode at a precision (`bench encode --limit N`): a speed check that
caches nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.documents import embeddings
from bench.documents.precision import encode_documents

if TYPE_CHECKING:
    from daft.collections.collection import Collection
    from daft.models.encoders import Encoder


@dataclass(frozen=True)
class EncodingSpeed:
    """`documents` encoded in `seconds` on `threads` torch threads (after a warm-up batch)."""

    documents: int
    seconds: float
    threads: int

    @property
    def per_second(self) -> float:
        """Documents per second."""
        return self.documents / self.seconds


def encoding_speed(
    encoder: Encoder,
    collection: Collection,
    *,
    limit: int,
    precision: str,
    max_length: int,
    batch_size: int,
    device: str | None,
) -> EncodingSpeed:
    """Time the first `limit` documents (by sorted id) at `precision`, after a warm-up batch that pays the
    first-call costs (an ONNX graph's export, kernel selection); nothing is cached."""
    import torch

    doc_ids = sorted(collection.corpus)[:limit]
    texts = [collection.corpus[d].full_text for d in doc_ids]
    run = {"precision": precision, "max_length": max_length, "batch_size": batch_size}
    encode_documents(encoder, texts[:batch_size], device=device, **run)
    started = time.perf_counter()
    embeddings.encode_texts(encoder, texts, device=device, label=collection.name, **run)
    return EncodingSpeed(len(texts), time.perf_counter() - started, torch.get_num_threads())
