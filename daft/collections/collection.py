"""The one model of a test collection: a corpus, queries, and graded relevance judgements per split."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from daft.core.errors import UserError

# A split name is also a file-name part (`qrels/<split>.tsv`) and the tail of a reference (`name:split`),
# so it must not contain a path separator or a colon.
SPLIT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def is_split_name(token: str) -> bool:
    """Whether `token` can name a split (letters, digits, `_`, `.`, `-`; no `/` or `:`)."""
    return SPLIT_NAME.fullmatch(token) is not None


@dataclass(frozen=True, slots=True)
class Document:
    """One document of a corpus: its text and an optional title."""

    text: str
    title: str = ""

    @property
    def full_text(self) -> str:
        """What an encoder reads: the title, a space, then the text (or the text alone)."""
        return f"{self.title} {self.text}".strip() if self.title else self.text


@dataclass(frozen=True, eq=False)
class Collection:
    """A test collection: corpus (doc id -> Document), all queries (qid -> text), qrels per split.

    `qrels[split][qid][doc_id]` is the grade of that judged pair (0 = judged not relevant). The queries of
    a split are the queries judged in it; `queries` may hold more (e.g. unjudged ones). The mappings are
    not copied or locked: treat a Collection as immutable, since its fingerprint is cached.
    """

    name: str
    corpus: dict[str, Document]
    queries: dict[str, str]
    qrels: dict[str, dict[str, dict[str, int]]]

    def __post_init__(self) -> None:
        # Loaders report bad input with file and line; this catches collections assembled in code.
        for split, judged in self.qrels.items():
            if not is_split_name(split):
                raise UserError(f"collection {self.name}: invalid split name {split!r}")
            for qid, grades in judged.items():
                if qid not in self.queries:
                    raise UserError(f"collection {self.name}: split {split} judges unknown query {qid!r}")
                for doc_id in grades:
                    if doc_id not in self.corpus:
                        raise UserError(
                            f"collection {self.name}: split {split} query {qid!r} judges unknown document "
                            f"{doc_id!r}"
                        )

    @property
    def splits(self) -> list[str]:
        """The split names, in the order they were loaded."""
        return list(self.qrels)

    def split(self, name: str) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
        """The queries (qid -> text) and qrels (qid -> doc id -> grade) of split `name`."""
        if name not in self.qrels:
            available = ", ".join(self.qrels) or "none"
            raise UserError(f"collection {self.name} has no split {name!r}; available splits: {available}")
        judged = self.qrels[name]
        return {qid: self.queries[qid] for qid in judged}, judged

    @cached_property
    def corpus_fingerprint(self) -> str:
        """Hex sha256 of the corpus alone (ids, titles, texts): the key of what depends only on documents
        (the BM25 index, document embeddings), so that other queries or qrels reuse them."""
        return _digest(self._corpus_payload())

    def _corpus_payload(self) -> list[list[str]]:
        return [[doc_id, doc.title, doc.text] for doc_id, doc in sorted(self.corpus.items())]

    @cached_property
    def fingerprint(self) -> str:
        """Hex sha256 of the content (corpus, queries, qrels; not the name) in a canonical serialisation."""
        payload = {
            # The corpus in full, not its fingerprint: this value is recorded in built collections and reports.
            "corpus": self._corpus_payload(),
            "queries": sorted(self.queries.items()),
            "qrels": {
                split: sorted(
                    (qid, doc_id, grade) for qid, grades in judged.items() for doc_id, grade in grades.items()
                )
                for split, judged in self.qrels.items()
            },
        }
        return _digest(payload)

    def stats(self) -> dict[str, Any]:
        """Counts: documents, queries, and per split the judged queries and judged pairs."""
        return {
            "documents": len(self.corpus),
            "queries": len(self.queries),
            "splits": {
                split: {"queries": len(judged), "judged_pairs": sum(len(g) for g in judged.values())}
                for split, judged in self.qrels.items()
            },
        }


def _digest(payload: Any) -> str:
    """Hex sha256 of `payload` serialised canonically (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
