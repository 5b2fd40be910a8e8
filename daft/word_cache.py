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

from daft.tokenization import LeanTokenizer, Ragged, ragged_from

# BERT's whitespace: the four ASCII ones and every Unicode Zs (space separator) character.
BERT_WHITESPACE = (
    " \t\n\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
_WORD = re.compile(f"[^{re.escape(BERT_WHITESPACE)}]+")
# Characters `str.split()` splits on but BERT does not (it deletes them as controls, or keeps them in a word).
_SPLIT_ONLY = re.compile("[\x0b\x0c\x1c-\x1f]")
CAPACITY = 500_000  # words; about 100 MB of Python objects at most, far above a query log's vocabulary


def words(text: str) -> list[str]:
    """`text` split on BERT's whitespace exactly (`str.split()` where that is the same, being 5x faster)."""
    if text.isascii() and _SPLIT_ONLY.search(text) is None:
        return text.split()
    return _WORD.findall(text)


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


class _Counts:
    """words, word hits, texts, fully cached texts: plain ints, cheaper than numpy at batch 1."""

    def __init__(self) -> None:
        self.words = self.hits = self.texts = self.full = 0

    def take(self) -> list[int]:
        """The counts, then zero them."""
        values = [self.words, self.hits, self.texts, self.full]
        self.words = self.hits = self.texts = self.full = 0
        return values


class WordCache:
    """word -> ids (no special tokens) for one BERT-style tokenizer, bounded by `capacity` words."""

    def __init__(self, tokenizer: LeanTokenizer, *, capacity: int = CAPACITY):
        self.tokenizer = tokenizer
        self.capacity = capacity
        self.frozen = False
        self._ids: dict[str, tuple[int, ...]] = {}
        self._plain = tokenizer.plain()  # words are truncated only as part of their text
        self._counts = _Counts()

    def __len__(self) -> int:
        return len(self._ids)

    def warm(self, texts: Iterable[str]) -> None:
        """Learn the words of `texts` (until the capacity is reached); stats are not counted."""
        seen = dict.fromkeys(chain.from_iterable(map(words, texts)))
        self._learn([w for w in seen if w not in self._ids])

    def freeze(self) -> None:
        """Stop learning: misses are tokenised but not added (what a timed loop needs)."""
        self.frozen = True

    def stats(self) -> dict[str, Any]:
        """Hit rates since the last call (then reset): per word and per fully cached text."""
        words, hits, texts, full = self._counts.take()
        return {
            "size": len(self._ids),
            "frozen": self.frozen,
            "words": words,
            "word_hit_rate": hits / words if words else None,
            "texts": texts,
            "text_hit_rate": full / texts if texts else None,
        }

    def ragged(self, texts: Sequence[str], *, max_length: int) -> Ragged:
        """Unpadded ids of `texts` without special tokens, truncated to `max_length`: as the tokenizer's.

        A text whose words are all cached is a few dict lookups; a text with a missing word is tokenised
        whole (exact by definition, and one tokenizer call instead of one per missing word). Unless frozen,
        its missing words are then learnt.
        """
        get = self._ids.get
        rows: list[list[int]] = []
        missed: list[int] = []  # positions of texts with a word not in the cache
        counts = self._counts
        # Plain Python until the end: at batch 1 each extra numpy call costs as much as the lookups.
        for text in texts:
            parts = list(map(get, words(text)))
            unknown = parts.count(None)
            counts.words += len(parts)
            counts.hits += len(parts) - unknown
            if unknown:
                missed.append(len(rows))
                rows.append([])
            else:
                rows.append(list(chain.from_iterable(parts))[:max_length])
        counts.texts += len(texts)
        counts.full += len(texts) - len(missed)
        if missed:
            self._fill(texts, rows, missed, max_length)
        return ragged_from(rows)

    def _fill(self, texts: Sequence[str], rows: list[list[int]], missed: list[int], max_length: int) -> None:
        """Tokenise the texts at `missed` whole into `rows`; learn their words unless frozen."""
        encoded = self._plain.encode_batch_fast([texts[i] for i in missed], add_special_tokens=False)
        for i, e in zip(missed, encoded, strict=True):
            rows[i] = e.ids[:max_length]
        if not self.frozen:
            self._learn([w for i in missed for w in words(texts[i]) if w not in self._ids])

    def _learn(self, words: list[str]) -> None:
        """Tokenise `words` (each alone) and add them, until the capacity is reached."""
        words = list(dict.fromkeys(words))
        room = self.capacity - len(self._ids)
        if not words or room <= 0:
            return
        encoded = self._plain.encode_batch_fast(words[:room], add_special_tokens=False)
        self._ids.update((w, tuple(e.ids)) for w, e in zip(words, encoded, strict=False))
