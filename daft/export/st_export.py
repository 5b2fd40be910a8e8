"""An encoder pair as a sentence-transformers model: a Router sending queries to the query encoder and
documents to the document encoder, loadable with plain `SentenceTransformer(DIR)`.

Each side becomes the modules that compute what daft computes: a transformer side is `Transformer` +
`Pooling` (mean or CLS), a static (L0) side is a `StaticEmbedding` (the mean of its token vectors, no
special tokens); then a bias-free identity `Dense` for a projection, and `Normalize`. `encode_query` and
`encode_document` then give daft's vectors (`export_checked` measures how closely).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from daft.core.errors import UserError
from daft.models.encoders import Encoder, StaticEncoder, TransformerEncoder
from daft.models.pair import EncoderPair
from daft.store.cache import readable

# Texts the check embeds on both sides: short, long, punctuation, mixed case.
CHECK_TEXTS = (
    "the potter's wheel was invented in Asia Minor around 6500 BC",
    "bank",
    "A river bank is the sloping land beside flowing water; a BANK also keeps money!",
    "quokkas smile at zebras with black and white stripes in the afternoon sun " * 4,
)


def _side_modules(encoder: Encoder, scratch: Path) -> list[Any]:
    """The sentence-transformers modules that compute `encoder`'s normalised vectors."""
    from sentence_transformers.sentence_transformer.modules import (
        Dense,
        Normalize,
        Pooling,
        StaticEmbedding,
        Transformer,
    )

    if isinstance(encoder, TransformerEncoder):
        # Transformer loads from a directory: the encoder's own save (config, safetensors, tokenizer).
        encoder.save(scratch)
        modules: list[Any] = [
            Transformer(str(scratch), max_seq_length=encoder.max_length),
            Pooling(encoder.hidden_size, pooling_mode=encoder.pooling),
        ]
    elif isinstance(encoder, StaticEncoder):
        modules = [StaticEmbedding(encoder.tokenizer, embedding_weights=encoder.embedding.weight.detach())]
    else:
        raise UserError(f"cannot export a {encoder.kind} encoder as sentence-transformers modules")
    if encoder.projection is not None:
        weight = encoder.projection.weight.detach()
        dense = Dense(weight.shape[1], weight.shape[0], bias=False, activation_function=nn.Identity())
        with torch.no_grad():
            dense.linear.weight.copy_(weight)
        modules.append(dense)
    modules.append(Normalize())
    return modules


def export(pair: EncoderPair, directory: Path) -> None:
    """Write `pair` to `directory` as a sentence-transformers model with query and document routes."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Router

    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise UserError(f"{directory}: exists and is not empty; choose a new directory")
    with tempfile.TemporaryDirectory(prefix="daft-st-") as scratch:
        router = Router.for_query_document(
            query_modules=_side_modules(pair.query, Path(scratch, "query")),
            document_modules=_side_modules(pair.doc, Path(scratch, "doc")),
        )
        model = SentenceTransformer(modules=[router], device="cpu")
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
        try:
            model.save(str(staging))
            readable(staging)
            if directory.exists():
                directory.rmdir()
            staging.rename(directory)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def max_abs_difference(pair: EncoderPair, directory: Path) -> float:
    """Max abs difference between daft's vectors and those of `SentenceTransformer(directory)`, both sides."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(directory), device="cpu", local_files_only=True)
    texts = list(CHECK_TEXTS)
    worst = 0.0
    for ours, theirs in (
        (pair.query.encode(texts), model.encode_query(texts, convert_to_numpy=True)),
        (pair.doc.encode(texts), model.encode_document(texts, convert_to_numpy=True)),
    ):
        worst = max(worst, float(np.abs(ours - np.asarray(theirs, dtype=np.float32)).max()))
    return worst


def export_checked(pair: EncoderPair, directory: Path, *, tolerance: float) -> float:
    """Export, reload with plain sentence-transformers, compare; a difference above `tolerance` is an error."""
    directory = Path(directory)
    export(pair, directory)
    diff = max_abs_difference(pair, directory)
    if not diff <= tolerance:
        shutil.rmtree(directory, ignore_errors=True)
        raise UserError(
            f"{directory}: sentence-transformers vectors differ from daft's by {diff:.2e} "
            f"(tolerance {tolerance:.0e})"
        )
    return diff
