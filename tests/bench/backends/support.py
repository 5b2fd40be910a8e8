"""Helpers shared by the backend tests: texts, encoder specs, the reference embeddings, CUDA skips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from daft.models.build import build
from daft.models.encoders import Encoder

TEXTS = (
    "a potter's wheel",
    "the quick brown fox jumps over the lazy dog",
    "what is the capital of France?",
    "x",
    "an unusually long query that keeps going, with punctuation; numbers like 1234 and rare words",
)
BERT = {"arch": {"layers": 2, "hidden": 32, "heads": 2, "intermediate": 64}}
STATIC = {"type": "static", "arch": {"hidden": 32}}

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch sees none)")


def make(spec: dict, tokenizer_dir: Path) -> Encoder:
    """A fresh tiny encoder from `spec` with the minilm-l6 tokenizer (a path, so no asset lookup)."""
    return build({**spec, "tokenizer": str(tokenizer_dir)})


def reference(encoder: Encoder, texts: tuple[str, ...] = TEXTS) -> np.ndarray:
    """torch fp32 CPU embeddings of `texts`, as the harness computes its reference."""
    with torch.inference_mode():
        return encoder.embed(**encoder.tokenize(list(texts))).numpy()


def assert_unit_rows(rows: np.ndarray, *, atol: float = 1e-5) -> None:
    """Each row has L2 norm 1."""
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=atol)
