"""`model2vec` (a reference row): model2vec's `StaticModel` built from the same L0 table and tokenizer.

What a user would otherwise reach for to serve a static model. It is built in memory (never from a hub):
the encoder's table (times the projection, if any: the mean commutes with a linear map) and a copy of its
tokenizer. `StaticModel.encode` tokenises and embeds in one call, so the whole of it is timed as `forward`
(tokenize passes the texts through). model2vec drops [UNK] tokens and truncates in its own way, so its
parity with torch fp32 is reported, not assumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.backends.base import Backend, Closing, Target, check_target
from daft.core.errors import UserError
from daft.models.tokenization import check_texts, lean

if TYPE_CHECKING:
    from daft.models.encoders import Encoder


class Model2VecPrepared(Closing):
    """A model2vec StaticModel over the L0 table; `forward` is `StaticModel.encode`."""

    cuda_timer = None

    def __init__(self, encoder: Encoder, target: Target):
        check_target(target)
        if target.device != "cpu" or target.dtype != "fp32":
            raise UserError(f"model2vec: runs on cpu in fp32 only, got {target.device}/{target.dtype}")
        try:
            import model2vec
            from model2vec import StaticModel
        except ImportError:
            raise UserError("model2vec: not installed (pip install model2vec)") from None
        embedding = getattr(encoder, "embedding", None)
        if embedding is None:
            raise UserError(f"model2vec: runs static (L0) encoders only, got a {encoder.kind} encoder")
        table = embedding.weight.detach().float().cpu().numpy()
        if encoder.projection is not None:
            table = table @ encoder.projection.weight.detach().float().cpu().numpy().T
        tokenizer = lean(encoder.tokenizer).plain()
        self.model = StaticModel(
            np.ascontiguousarray(table), tokenizer, normalize=True, max_length=target.max_length
        )
        self.target = target
        self.info: dict[str, Any] = {
            "backend": target.backend,
            "device": "cpu",
            "dtype": "fp32",
            "threads": 1,
            "threads_requested": target.threads,
            "max_length": target.max_length,
            "model2vec": model2vec.__version__,
            "dim": int(table.shape[1]),
            "encoder": encoder.kind,
            "reference": True,
            "phases": "model2vec tokenises inside encode: all of it is timed as forward",
            "graph_bytes": table.nbytes,
            "quantised": False,
        }

    def tokenize(self, texts: Sequence[str]) -> list[str]:
        """The texts themselves (checked): model2vec tokenises inside `encode`."""
        check_texts(texts)
        return list(texts)

    def forward(self, inputs: list[str]) -> np.ndarray:
        """`StaticModel.encode`: normalised float32 rows."""
        return self.model.encode(inputs, max_length=self.target.max_length, use_multiprocessing=False)

    def fetch(self, output: np.ndarray) -> np.ndarray:
        """Already on the host."""
        return np.ascontiguousarray(output, dtype=np.float32)


def prepare(encoder: Encoder, target: Target, *, workdir: Path) -> Model2VecPrepared:
    """model2vec's StaticModel over `encoder`'s table (`workdir` is unused)."""
    return Model2VecPrepared(encoder, target)


BACKENDS = (
    Backend(
        "model2vec",
        "reference: model2vec's StaticModel built from the same L0 table (encode timed as forward)",
        prepare,
        {"cpu": ("fp32",)},
        off_device="model2vec is numpy on the host",
        encoder_kinds=("static",),
        reference=True,
    ),
)
