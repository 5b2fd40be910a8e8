"""Lean tokenisation: the fast tokenizer's Rust backend called directly, int64 numpy arrays out.

The transformers wrapper re-configures truncation and padding on every call and converts through Python
lists into tensors; here a private copy of its `tokenizers.Tokenizer` is configured once per (max_length,
padding, special tokens) and its encodings become numpy arrays directly. The ids are exactly those of the
wrapper (tests/daft/models/test_tokenization.py checks thousands of texts). The copy matters: some shipped
tokenizer.json files (all-MiniLM-L6-v2) pad and truncate to 128 by default, and the wrapper's own backend
object must stay as transformers left it.

Batches are parallelised by the tokenizers library itself (rayon): `RAYON_NUM_THREADS` and
`TOKENIZERS_PARALLELISM` are honoured as set in the environment, and `thread_settings()` reports them,
except that a measurement on one thread tokenises serially too (`follow_threads`).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np

from daft.core.errors import UserError

PADDINGS = ("longest", "max_length", "none")


@dataclass(frozen=True)
class Ragged:
    """Unpadded token ids of a batch: `ids` concatenated, row i is ids[offsets[i]:offsets[i] + lengths[i]]."""

    ids: np.ndarray  # int64, (total tokens,)
    offsets: np.ndarray  # int64, (batch,)
    lengths: np.ndarray  # int64, (batch,)


class LeanTokenizer:
    """A fast tokenizer's backend, copied and configured once per setting; numpy arrays out."""

    def __init__(self, reference: Any):
        backend = getattr(reference, "backend_tokenizer", None)
        if backend is None:
            name = getattr(reference, "name_or_path", type(reference).__name__)
            raise UserError(f"tokenizer {name}: needs a fast tokenizer (a tokenizer.json), got a slow one")
        from tokenizers import Tokenizer

        self.tokenizer_json = backend.to_str()
        self._tokenizer_type = Tokenizer
        self.pad_id = int(reference.pad_token_id or 0)
        self.pad_token = str(reference.pad_token or "[PAD]")
        self.pad_type_id = int(getattr(reference, "pad_token_type_id", 0) or 0)
        self._configured: dict[tuple[int, str], Any] = {}
        self.description = _describe(self.tokenizer_json)

    def plain(self) -> Any:
        """A fresh copy of the backend (never the wrapper's object) with no padding and no truncation."""
        tokenizer = self._tokenizer_type.from_str(self.tokenizer_json)
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return tokenizer

    def backend(self, max_length: int, padding: str) -> Any:
        """The private backend configured for (max_length, padding), made on first use."""
        key = (max_length, padding)
        if key not in self._configured:
            if padding not in PADDINGS:
                raise UserError(f"unknown padding {padding!r}; known: {', '.join(PADDINGS)}")
            tokenizer = self.plain()
            tokenizer.enable_truncation(max_length)
            if padding != "none":
                tokenizer.enable_padding(
                    pad_id=self.pad_id,
                    pad_type_id=self.pad_type_id,
                    pad_token=self.pad_token,
                    length=max_length if padding == "max_length" else None,
                )
            self._configured[key] = tokenizer
        return self._configured[key]

    def encodings(self, texts: Sequence[str], *, max_length: int, padding: str, special_tokens: bool) -> list:
        """The backend's encodings of `texts` (offsets are not computed: nothing here uses them)."""
        tokenizer = self.backend(max_length, padding)
        return tokenizer.encode_batch_fast(list(texts), add_special_tokens=special_tokens)

    def encode(
        self, texts: Sequence[str], *, max_length: int, padding: str = "longest", special_tokens: bool = True
    ) -> dict[str, np.ndarray]:
        """Padded int64 arrays: input_ids, attention_mask, token_type_ids, each (batch, length)."""
        if padding == "none":
            raise UserError("padded encoding needs padding 'longest' or 'max_length'; use `ragged` for none")
        found = self.encodings(texts, max_length=max_length, padding=padding, special_tokens=special_tokens)
        return {
            "input_ids": np.array([e.ids for e in found], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in found], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in found], dtype=np.int64),
        }

    def ragged(self, texts: Sequence[str], *, max_length: int, special_tokens: bool = False) -> Ragged:
        """Unpadded ids of `texts`, concatenated, with each row's offset and length."""
        found = self.encodings(texts, max_length=max_length, padding="none", special_tokens=special_tokens)
        return ragged_from([e.ids for e in found], texts)


def ragged_from(rows: list[list[int]], texts: Sequence[str] | None = None) -> Ragged:
    """A `Ragged` from per-row id lists (of `texts`, if given: named in the error); NoTokens when a row
    is empty (`check_not_empty`).

    One row is the latency-critical case (a query), so it skips the cumsum and iterators a batch needs.
    """
    if len(rows) == 1:
        ids = np.array(rows[0], dtype=np.int64)
        lengths = np.array([len(ids)], dtype=np.int64)
        offsets = np.zeros(1, dtype=np.int64)
    else:
        lengths = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
        offsets = np.zeros(len(rows), dtype=np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        # chain.from_iterable and fromiter both iterate in C: no Python-level loop over tokens.
        ids = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=int(lengths.sum()))
    if not all(rows):  # the numpy check only where it will fail: it costs about a microsecond
        check_not_empty(lengths, texts)
    return Ragged(ids, offsets, lengths)


def _describe(tokenizer_json: str) -> dict[str, Any]:
    import json

    spec = json.loads(tokenizer_json)
    return {
        "normalizer": (spec.get("normalizer") or {}).get("type"),
        "pre_tokenizer": (spec.get("pre_tokenizer") or {}).get("type"),
        "model": (spec.get("model") or {}).get("type"),
    }


def check_texts(texts: Sequence[str]) -> None:
    """UserError for a text that is not a string or is blank."""
    for index, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            raise UserError(f"empty text at position {index} of the batch: every query/document needs text")


class NoTokens(UserError):
    """A text that yields no tokens; `text` is it (when the caller gave the texts), so that whoever knows
    where the texts came from can name its file and line or its query id."""

    def __init__(self, message: str, text: str | None = None) -> None:
        super().__init__(message)
        self.text = text


def check_not_empty(lengths: np.ndarray, texts: Sequence[str] | None = None) -> None:
    """NoTokens when a text yielded no tokens (NUL, zero-width or control characters only).

    Without special tokens such a text would average nothing and silently become a zero vector.
    """
    empty = np.flatnonzero(lengths == 0)
    if empty.size:
        text = None if texts is None else texts[int(empty[0])]
        shown = f"text {text!r}" if text is not None else f"text at position {int(empty[0])} of the batch"
        raise NoTokens(
            f"{shown} yields no tokens (only control, zero-width or unknown characters?): nothing to encode",
            text,
        )


_LEAN: weakref.WeakKeyDictionary[Any, LeanTokenizer] = weakref.WeakKeyDictionary()


def lean(reference: Any) -> LeanTokenizer:
    """The LeanTokenizer of a transformers fast tokenizer, made once per tokenizer object."""
    if reference not in _LEAN:
        _LEAN[reference] = LeanTokenizer(reference)
    return _LEAN[reference]


_PARALLELISM = "TOKENIZERS_PARALLELISM"
_ASKED = os.environ.get(_PARALLELISM)  # the user's own setting, which cells on several threads keep


def follow_threads(threads: int | None) -> None:
    """Make batch tokenisation obey a measurement's thread count: serial on 1 thread, else as asked.

    Left alone, the tokenizers library spreads even an 8-text batch over every CPU, so a "1-thread" cell
    used two; on the 2-vCPU VM waking the idle one cost more than it saved (L0 on torch, batch 8, quiet:
    686 us with it, 442 us without), and a competing load on the other CPU changed the cell's speed. The
    library reads `TOKENIZERS_PARALLELISM` at every batch call, so setting it per cell takes effect at once.
    """
    if threads == 1:
        os.environ[_PARALLELISM] = "false"
    elif _ASKED is None:
        os.environ.pop(_PARALLELISM, None)
    else:
        os.environ[_PARALLELISM] = _ASKED


def thread_settings() -> dict[str, Any]:
    """How the tokenizers library parallelises batches here (recorded in reports)."""
    import tokenizers

    return {
        "tokenizers": tokenizers.__version__,
        "RAYON_NUM_THREADS": os.environ.get("RAYON_NUM_THREADS"),
        "TOKENIZERS_PARALLELISM": os.environ.get("TOKENIZERS_PARALLELISM"),
        "cpu_count": os.cpu_count(),
    }
