"""The per-word id cache: exact for BERT-style tokenizers, bounded, and it never learns while frozen."""

from __future__ import annotations

import sys
import unicodedata
from typing import Any

import numpy as np
import pytest

from daft.core.errors import UserError
from daft.models.tokenization import LeanTokenizer
from daft.models.word_cache import BERT_WHITESPACE, WordCache, is_bert_style

pytestmark = pytest.mark.assets


def _rows(ragged: Any) -> list[list[int]]:
    return [ragged.ids[o : o + n].tolist() for o, n in zip(ragged.offsets, ragged.lengths, strict=True)]


def test_the_split_set_is_bert_whitespace_exactly() -> None:
    zs = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Zs"}
    assert set(BERT_WHITESPACE) == zs | set("\t\n\r")


def test_minilm_is_bert_style_and_a_byte_level_tokenizer_is_not(reference: Any) -> None:
    assert is_bert_style(LeanTokenizer(reference).tokenizer_json)
    gpt2_like = '{"normalizer": null, "pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE"}}'
    assert not is_bert_style(gpt2_like)


@pytest.mark.parametrize("max_length", [32, 512])
def test_concatenated_word_ids_equal_whole_text_ids(
    texts: list[str], reference: Any, max_length: int
) -> None:
    lean = LeanTokenizer(reference)
    cold, warm = WordCache(lean), WordCache(lean)
    warm.warm(texts[::2])
    for start in range(0, len(texts), 256):
        batch = texts[start : start + 256]
        want = _rows(lean.ragged(batch, max_length=max_length))
        assert _rows(cold.ragged(batch, max_length=max_length)) == want, f"cold, batch {start}"
        assert _rows(warm.ragged(batch, max_length=max_length)) == want, f"warm, batch {start}"


@pytest.mark.parametrize("batch_size", [1, 256])
def test_a_frozen_cache_with_unseen_words_is_exact(texts: list[str], reference: Any, batch_size: int) -> None:
    lean = LeanTokenizer(reference)
    cache = WordCache(lean)
    cache.warm(texts[::2])
    cache.freeze()
    size, missed = len(cache), 0
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        want = _rows(lean.ragged(batch, max_length=32))
        assert _rows(cache.ragged(batch, max_length=32)) == want, f"batch at {start}"
        missed += cache.stats()["text_hit_rate"] < 1
    assert missed and len(cache) == size  # texts with unseen words were met, and none was learnt


class _Spy:
    """A tokenizer backend that records what it is asked to tokenise."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, []

    def encode_batch_fast(self, inputs: list[str], **kwargs: Any) -> Any:
        self.calls.append(list(inputs))
        return self.inner.encode_batch_fast(inputs, **kwargs)


def test_a_batch_tokenises_only_its_unseen_words_in_one_call(reference: Any) -> None:
    cache = WordCache(LeanTokenizer(reference))
    cache.warm(["the cat sat on the mat"])
    cache.freeze()
    spy = cache._plain = _Spy(cache._plain)
    got = cache.ragged(["the dog sat", "the cat", "a dog on a mat"], max_length=32)
    assert spy.calls == [["dog", "a"]]
    assert np.array_equal(
        got.ids,
        LeanTokenizer(reference).ragged(["the dog sat", "the cat", "a dog on a mat"], max_length=32).ids,
    )


def test_frozen_cache_counts_but_never_learns(reference: Any) -> None:
    cache = WordCache(LeanTokenizer(reference))
    cache.warm(["the cat sat", "on the mat"])
    assert len(cache) == 5
    cache.freeze()
    cache.ragged(["the cat", "a dog sat"], max_length=32)
    assert len(cache) == 5
    stats = cache.stats()
    assert (stats["words"], stats["word_hit_rate"], stats["texts"], stats["text_hit_rate"]) == (
        5,
        0.6,
        2,
        0.5,
    )
    assert cache.stats()["words"] == 0  # reset by the previous call
    cache.ragged(["the cat", "a dog sat"], max_length=32)
    assert cache.stats()["word_hit_rate"] == 0.6  # still misses: nothing was learned


def test_capacity_bounds_the_cache(reference: Any) -> None:
    cache = WordCache(LeanTokenizer(reference), capacity=3)
    cache.warm(["one two three four five"])
    assert len(cache) == 3


def test_text_without_tokens_is_a_user_error(reference: Any) -> None:
    cache = WordCache(LeanTokenizer(reference))
    with pytest.raises(UserError, match="position 1 of the batch yields no tokens"):
        cache.ragged(["fine", "\x00 \x01"], max_length=8)


def test_truncation_keeps_each_rows_first_tokens(reference: Any) -> None:
    cache = WordCache(LeanTokenizer(reference))
    got = cache.ragged(["a b c d e", "x", "f g h"], max_length=2)
    assert got.lengths.tolist() == [2, 1, 2]
    assert np.array_equal(got.offsets, [0, 2, 3])


def test_the_fast_split_is_the_bert_split(texts: list[str]) -> None:
    from daft.models.word_cache import _WORD, words

    odd = [
        "a\x1cb c",
        "tab\there",
        "v\x0bw",
        "ff\x0cx",
        "nel\x85y",
        "nb\u00a0sp",
        "ideo\u3000space",
        "  lead",
        "",
    ]
    for text in [*texts, *odd]:
        assert words(text) == _WORD.findall(text), repr(text)
