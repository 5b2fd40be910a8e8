"""A bounded per-word id cache below the tokenizer's floor, exact for BERT-style tokenizers.

A BERT-style tokenizer (BertNormalizer, BertPreTokenizer, WordPiece) normalises character by character and
splits on whitespace and punctuation before WordPiece sees a word, so a text's ids (without special tokens)
are the concatenation of its whitespace-separated words' ids. Splitting must use exactly characters BERT
treats as whitespace: space, tab, newline, carriage return and the Unicode Zs separators. Python's
`str.split()` would also split on U+001C..U+001F, which BERT deletes as control characters
("a\\x1cb" is one word "ab"), so it is not used. Other tokenizers take the plain path.

Honest timing: warm the cache from texts that are not measured (the training split's queries), then
`freeze()` it: a frozen cache still tokenises misses but never learns them, so a timed loop cannot make its
own queries hits. `stats()` gives the hit rates since the last call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

import numpy as np

from daft.tokenization import LeanTokenizer, Ragged, check_not_empty

# BERT's whitespace: the four ASCII ones and every Unicode Zs (space separator) character.
BERT_WHITESPACE = (
    " \t\n\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
_WORD = re.compile(f"[^{re.escape(BERT_WHITESPACE)}]+")
CAPACITY = 500_000  # words; about 100 MB of Python objects at most, far above a query log's vocabulary


def is_bert_style(tokenizer_json: str) -> bool:
    """Whether per-word ids are exact for this tokenizer.json (see the module docstring)."""
    spec = json.loads(tokenizer_json)
    kinds = (
        (spec.get("normalizer") or {}).get("type"),
        (spec.get("pre_tokenizer") or {}).get("type"),
        (spec.get("model") or {}).get("type"),
    )
    # An added token with whitespace inside would be matched across a word boundary.
    spaced = any(_WORD.fullmatch(t.get("content", "")) is None for t in spec.get("added_tokens", []))
    return kinds == ("BertNormalizer", "BertPreTokenizer", "WordPiece") and not spaced


class WordCache:
    """word -> ids (no special tokens) for one BERT-style tokenizer, bounded by `capacity` words."""

    def __init__(self, tokenizer: LeanTokenizer, *, capacity: int = CAPACITY):
        self.tokenizer = tokenizer
        self.capacity = capacity
        self.frozen = False
        self._ids: dict[str, tuple[int, ...]] = {}
        self._plain = tokenizer.plain()  # words are truncated only as part of their text
        self._counts = np.zeros(4, dtype=np.int64)  # words, word hits, texts, texts fully cached

    def __len__(self) -> int:
        return len(self._ids)

    def warm(self, texts: Iterable[str]) -> None:
        """Learn the words of `texts` (until the capacity is reached); stats are not counted."""
        words = list(dict.fromkeys(chain.from_iterable(map(_WORD.findall, texts))))
        self._learn([w for w in words if w not in self._ids])

    def freeze(self) -> None:
        """Stop learning: misses are tokenised but not added (what a timed loop needs)."""
        self.frozen = True

    def stats(self) -> dict[str, Any]:
        """Hit rates since the last call (then reset): per word and per fully cached text."""
        words, hits, texts, full = (int(n) for n in self._counts)
        self._counts[:] = 0
        return {
            "size": len(self._ids),
            "frozen": self.frozen,
            "words": words,
            "word_hit_rate": hits / words if words else None,
            "texts": texts,
            "text_hit_rate": full / texts if texts else None,
        }

    def ragged(self, texts: Sequence[str], *, max_length: int) -> Ragged:
        """Unpadded ids of `texts` without special tokens, truncated to `max_length`: as the tokenizer's."""
        words = [_WORD.findall(text) for text in texts]
        flat_words = list(chain.from_iterable(words))
        parts = list(map(self._ids.get, flat_words))
        missing = [w for w, p in zip(flat_words, parts, strict=True) if p is None]
        word_counts = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        self._count(missing, flat_words, parts, word_counts)
        if missing:
            found = self._learn(list(dict.fromkeys(missing)))
            parts = [found[w] if p is None else p for w, p in zip(flat_words, parts, strict=True)]
        word_lengths = np.fromiter(map(len, parts), dtype=np.int64, count=len(parts))
        ids = np.fromiter(chain.from_iterable(parts), dtype=np.int64, count=int(word_lengths.sum()))
        lengths = _row_sums(word_lengths, word_counts)
        check_not_empty(lengths)
        offsets = np.zeros(len(texts), dtype=np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        if lengths.max(initial=0) > max_length:
            position = np.arange(ids.size) - np.repeat(offsets, lengths)
            ids = ids[position < max_length]
            lengths = np.minimum(lengths, max_length)
            offsets[1:] = np.cumsum(lengths[:-1])
        return Ragged(ids, offsets, lengths)

    def _learn(self, words: list[str]) -> dict[str, tuple[int, ...]]:
        """Tokenise `words` (each alone); add them unless frozen or full; return them all."""
        if not words:
            return {}
        encoded = self._plain.encode_batch_fast(words, add_special_tokens=False)
        found = {w: tuple(e.ids) for w, e in zip(words, encoded, strict=True)}
        room = self.capacity - len(self._ids)
        if not self.frozen and room > 0:
            self._ids.update(found if len(found) <= room else dict(list(found.items())[:room]))
        return found

    def _count(
        self, missing: list[str], flat_words: list[str], parts: list[Any], word_counts: np.ndarray
    ) -> None:
        full = len(word_counts)
        if missing:
            text_of_word = np.repeat(np.arange(len(word_counts)), word_counts)
            missed = np.fromiter((p is None for p in parts), dtype=bool, count=len(parts))
            full -= np.unique(text_of_word[missed]).size
        self._counts += (len(flat_words), len(flat_words) - len(missing), len(word_counts), full)


def _row_sums(word_lengths: np.ndarray, word_counts: np.ndarray) -> np.ndarray:
    """Tokens per text from tokens per word and words per text."""
    ends = np.cumsum(word_counts)
    totals = np.concatenate(([0], np.cumsum(word_lengths)))
    return totals[ends] - totals[ends - word_counts]
