"""Embeddings with NaN or inf fail loudly, wherever an encoder produces them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from daft.core.errors import UserError
from daft.core.finite import require_finite
from daft.models.build import build


def test_finite_vectors_pass_unchanged() -> None:
    vectors = np.eye(3, dtype=np.float32)
    assert require_finite(vectors, "x") is vectors
    assert require_finite(np.zeros((0, 4), np.float32), "x").shape == (0, 4)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_row_is_a_one_line_user_error(bad: float) -> None:
    vectors = np.ones((4, 3), dtype=np.float32)
    vectors[2, 1] = bad
    with pytest.raises(
        UserError, match=r"^cell 7: 1 of 4 embeddings contain NaN or inf; .*assets verify --repair"
    ):
        require_finite(vectors, "cell 7")


def test_encode_refuses_corrupt_weights(tiny_tokenizer_dir: Path) -> None:
    encoder = build({"type": "static", "arch": {"hidden": 8}, "tokenizer": str(tiny_tokenizer_dir)})
    assert np.isfinite(encoder.encode(["potter wheel", "river bank"])).all()
    with torch.no_grad():
        encoder.embedding.weight[:] = float("nan")  # as a cached weight file altered in place would be
    with pytest.raises(UserError, match=r"^static encoder \(8-d\): 2 of 2 embeddings contain NaN or inf"):
        encoder.encode(["potter wheel", "river bank"])
