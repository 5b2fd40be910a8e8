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
from itertools import chain, islice
from typing import Any

from daft.models.tokenization import LeanTokenizer, Ragged, ragged_from

# BERT's whitespace: the four ASCII ones and every Unicode Zs (space separator) character.
BERT_WHITESPACE = (
    " \t\n\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
_WORD = re.compile(f"[^{re.escape(BERT_WHITESPACE)}]+")
# Characters `str.split()` splits on but BERT does not (it deletes them as controls, or keeps them in a word).
_SPLIT_ONLY = re.compile("[\x0b\x0c\x1c-\x1f]")
# A text with a word not in the cache: its row, its words, and their ids (None where missed).
_Pending = tuple[int, list[str], list[tuple[int, ...] | None]]
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

        A text whose words are all cached is a few dict lookups. The words a batch misses are tokenised
        together, each alone, in one tokenizer call for the whole batch (exact: a text's ids are its words'
        ids concatenated), so a miss costs its own words, not its text. Unless frozen, they are then learnt.
        """
        get = self._ids.get
        rows: list[list[int]] = []
        pending: list[_Pending] = []
        counts = self._counts
        # Plain Python until the end: at batch 1 each extra numpy call costs as much as the lookups.
        for text in texts:
            split = words(text)
            parts = list(map(get, split))
            unknown = parts.count(None)
            counts.words += len(parts)
            counts.hits += len(parts) - unknown
            if unknown:
                pending.append((len(rows), split, parts))
                rows.append([])
            else:
                rows.append(list(chain.from_iterable(parts))[:max_length])
        counts.texts += len(texts)
        counts.full += len(texts) - len(pending)
        if pending:
            self._fill(rows, pending, max_length)
        return ragged_from(rows)

    def _fill(self, rows: list[list[int]], pending: list[_Pending], max_length: int) -> None:
        """The rows of the `pending` texts from their words' ids, the missing ones tokenised in one call."""
        missing = dict.fromkeys(
            w for _, split, parts in pending for w, ids in zip(split, parts, strict=True) if ids is None
        )
        encoded = self._plain.encode_batch_fast(list(missing), add_special_tokens=False)
        found = {w: e.ids for w, e in zip(missing, encoded, strict=True)}
        for row, split, parts in pending:
            known = (found[w] if ids is None else ids for w, ids in zip(split, parts, strict=True))
            rows[row] = list(chain.from_iterable(known))[:max_length]
        if not self.frozen:
            self._add(found)

    def _learn(self, words: list[str]) -> None:
        """Tokenise `words` (each alone) and add them, until the capacity is reached."""
        words = list(dict.fromkeys(words))[: max(self.capacity - len(self._ids), 0)]
        if words:
            encoded = self._plain.encode_batch_fast(words, add_special_tokens=False)
            self._add({w: e.ids for w, e in zip(words, encoded, strict=True)})

    def _add(self, found: dict[str, list[int]]) -> None:
        """Add words' ids until the capacity is reached."""
        room = self.capacity - len(self._ids)
        self._ids.update((w, tuple(ids)) for w, ids in islice(found.items(), max(room, 0)))
