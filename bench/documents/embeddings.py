"""Document embeddings at a suite's document precision, through daft's cache (`daft.search.embeddings`).

The cache, its keys and its checks are daft's, so that training against a fixed index and the retrieval
suites share entries; this module only supplies the forward pass of a precision (`bench.documents.precision`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from bench.documents.precision import encode_documents
from daft.collections.collection import Collection
from daft.models.encoders import Encoder
from daft.search import embeddings
from daft.search.embeddings import REFERENCE, Forward


def forward(
    encoder: Encoder, *, precision: str, max_length: int, batch_size: int, device: str | None
) -> Forward:
    """`encoder`'s forward pass over texts at `precision`."""

    def run(texts: Sequence[str], on_batch: Callable[[int], None]) -> np.ndarray:
        return encode_documents(
            encoder,
            texts,
            precision=precision,
            batch_size=batch_size,
            max_length=max_length,
            device=device,
            on_batch=on_batch,
        )

    return run


def encode_texts(
    encoder: Encoder,
    texts: list[str],
    *,
    max_length: int,
    batch_size: int,
    device: str | None,
    label: str,
    precision: str = REFERENCE,
) -> np.ndarray:
    """L2-normalised vectors of `texts` at `precision`, with a progress bar; non-finite ones are a UserError."""
    run = forward(encoder, precision=precision, max_length=max_length, batch_size=batch_size, device=device)
    return embeddings.encode_texts(encoder, texts, run, label=label, precision=precision)


def doc_embeddings(
    encoder: Encoder,
    collection: Collection,
    *,
    max_length: int,
    batch_size: int = 128,
    device: str | None = None,
    label: str = "",
    precision: str = REFERENCE,
) -> tuple[list[str], np.ndarray, str]:
    """(doc ids, L2-normalised float32 vectors, what the cache did) for every document of `collection`,
    the vectors computed at `precision`."""
    run = forward(encoder, precision=precision, max_length=max_length, batch_size=batch_size, device=device)
    return embeddings.doc_embeddings(
        encoder,
        collection,
        max_length=max_length,
        batch_size=batch_size,
        device=device,
        label=label,
        precision=precision,
        forward=run,
    )
