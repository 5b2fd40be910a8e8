"""A test-only latency backend, to show that a backend is one module: `numpy-mean`, an L0 encoder's token
rows averaged in numpy with `np.add.reduceat` (no word cache, no torch in the timed call)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.backends.base import Backend, Target
from bench.timing import NoOp
from daft.models.encoders import Encoder
from daft.models.tokenization import Ragged, lean


class NumpyMean(NoOp):
    """The table as a float32 array; ragged ids in, L2-normalised rows out."""

    def __init__(self, encoder: Encoder, target: Target) -> None:
        super().__init__()
        self.table = encoder.embedding.weight.detach().float().numpy()
        self.tokenizer, self.max_length = lean(encoder.tokenizer), target.max_length
        self.info = {"backend": target.backend, "device": "cpu", "dtype": "fp32", "threads": 1}

    def tokenize(self, texts: Sequence[str]) -> Ragged:
        return self.tokenizer.ragged(texts, max_length=self.max_length)

    def forward(self, inputs: Ragged) -> np.ndarray:
        rows = np.add.reduceat(self.table[inputs.ids], inputs.offsets, axis=0)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    def fetch(self, output: Any) -> np.ndarray:
        return np.ascontiguousarray(output, dtype=np.float32)


def _prepare(encoder: Encoder, target: Target, *, workdir: Path) -> NumpyMean:
    return NumpyMean(encoder, target)


BACKENDS = (
    Backend(
        "numpy-mean",
        "L0 in numpy, reduceat over the ragged ids (test only)",
        _prepare,
        {"cpu": ("fp32",)},
        encoder_kinds=("static",),
    ),
)
