"""Lean tokenisation gives exactly the transformers tokenizer's ids, on thousands of real and odd texts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from daft.core.errors import UserError
from daft.models.build import static_random
from daft.models.encoders import StaticEncoder
from daft.models.tokenization import LeanTokenizer, lean, thread_settings
from daft.store import assets

pytestmark = pytest.mark.assets


def test_the_corpus_is_a_few_thousand_texts(texts: list[str]) -> None:
    assert 4000 <= len(texts) <= 6000


@pytest.mark.parametrize("special_tokens", [True, False])
@pytest.mark.parametrize(("padding", "max_length"), [("longest", 32), ("max_length", 16), ("longest", 512)])
def test_ids_equal_the_transformers_tokenizer(
    texts: list[str], reference: Any, special_tokens: bool, padding: str, max_length: int
) -> None:
    tokenizer = LeanTokenizer(reference)
    for start in range(0, len(texts), 256):
        batch = texts[start : start + 256]
        want = reference(
            batch,
            padding=padding,
            truncation=True,
            max_length=max_length,
            add_special_tokens=special_tokens,
            return_tensors="np",
        )
        got = tokenizer.encode(batch, max_length=max_length, padding=padding, special_tokens=special_tokens)
        for name in ("input_ids", "attention_mask", "token_type_ids"):
            np.testing.assert_array_equal(got[name], want[name], err_msg=f"{name} at batch {start}")
            assert got[name].dtype == np.int64


@pytest.mark.parametrize("special_tokens", [True, False])
def test_max_length_padding_pads_a_batch_of_short_texts_to_max_length(
    reference: Any, special_tokens: bool
) -> None:
    # No text comes near 64 tokens, so "longest" would give a narrower batch: only real padding reaches 64.
    batch = ["a potter's wheel", "x", "the quick brown fox"]
    want = reference(
        batch, padding="max_length", truncation=True, max_length=64, add_special_tokens=special_tokens,
        return_tensors="np",
    )  # fmt: skip
    got = LeanTokenizer(reference).encode(
        batch, max_length=64, padding="max_length", special_tokens=special_tokens
    )
    assert got["input_ids"].shape == (3, 64)
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)


def test_ragged_rows_are_the_unpadded_ids(texts: list[str], reference: Any) -> None:
    tokenizer = LeanTokenizer(reference)
    batch = texts[:300]
    got = tokenizer.ragged(batch, max_length=64)
    want = reference(batch, truncation=True, max_length=64, add_special_tokens=False)["input_ids"]
    assert got.lengths.tolist() == [len(row) for row in want]
    rows = [got.ids[o : o + n].tolist() for o, n in zip(got.offsets, got.lengths, strict=True)]
    assert rows == want


def test_the_wrappers_own_backend_is_never_reconfigured(reference: Any) -> None:
    before = (reference.backend_tokenizer.padding, reference.backend_tokenizer.truncation)
    lean(reference).encode(["some text"], max_length=8, padding="max_length")
    assert (reference.backend_tokenizer.padding, reference.backend_tokenizer.truncation) == before
    # all-MiniLM-L6-v2's tokenizer.json pads to 128 by default; the lean copy must not.
    assert lean(reference).encode(["some text"], max_length=300)["input_ids"].shape == (1, 4)


def test_static_text_without_tokens_is_a_user_error() -> None:
    encoder: StaticEncoder = static_random(assets.ensure("minilm-l6"), 8)
    assert encoder.tokenize(["fine", "also fine"])["input_ids"].shape[0] == 2
    with pytest.raises(UserError, match=r"text '\\x00\\u200b\\x01' yields no tokens"):
        encoder.tokenize(["fine", "\x00\u200b\x01"])


def test_thread_settings_name_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAYON_NUM_THREADS", "1")
    assert thread_settings()["RAYON_NUM_THREADS"] == "1"
