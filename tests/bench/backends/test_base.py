"""`parity`, the per-setup check of the latency runner, refuses non-finite embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bench.backends import Target, parity, prepare
from daft.core.errors import UserError
from tests.bench.backends.support import STATIC, TEXTS, make, reference


def test_parity_fails_loudly_on_nan_weights(tokenizer_dir: Path, tmp_path: Path) -> None:
    encoder = make(STATIC, tokenizer_dir)  # its own copy: the shared fixtures must not be modified
    with torch.no_grad():
        encoder.embedding.weight[:] = float("nan")
    with (
        prepare(encoder, Target("torch"), workdir=tmp_path) as prepared,
        pytest.raises(UserError, match=r"^parity: backend: 5 of 5 embeddings contain NaN or inf"),
    ):
        parity(prepared, reference(encoder), TEXTS)


def test_parity_refuses_a_non_finite_reference(tiny_static, tmp_path: Path) -> None:
    want = reference(tiny_static)
    want[0, 0] = np.inf
    with (
        prepare(tiny_static, Target("torch"), workdir=tmp_path) as prepared,
        pytest.raises(UserError, match=r"^parity: torch fp32 reference: 1 of 5"),
    ):
        parity(prepared, want, TEXTS)
