"""The BEIR folder layout: `corpus.jsonl`, `queries.jsonl` and `qrels/<split>.tsv`; reader and writer."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from rich.progress import Progress

from daft.collections.collection import Collection, Document, is_split_name
from daft.collections.format import Format
from daft.collections.lines import LineError, read_lines, reading, require_file, write_lines
from daft.collections.qrels import Known, add_judgement
from daft.core.errors import UserError

# BEIR ships these three; any other `qrels/*.tsv` whose stem is a valid split name is read too.
STANDARD_SPLITS = ("train", "dev", "test")
QRELS_HEADER = ("query-id", "corpus-id", "score")
# One encoder for all lines: json.dumps with options builds a new encoder per call, which dominates writing.
_ENCODER = json.JSONEncoder(ensure_ascii=False)
_DECODER = json.JSONDecoder()


def is_beir_folder(path: Path) -> bool:
    """Whether `path` looks like a BEIR folder (it has a `corpus.jsonl`)."""
    return (Path(path) / "corpus.jsonl").is_file()


def _record(path: Path, lineno: int, line: str, fields: tuple[str, ...]) -> dict[str, Any]:
    try:
        record = _DECODER.decode(line)
    except json.JSONDecodeError as err:
        # Some messages already end in "at" ("Unterminated string starting at").
        at = "" if err.msg.endswith(" at") else " at"
        raise LineError(path, lineno, f"not valid JSON ({err.msg}{at} column {err.colno})") from None
    if type(record) is not dict:
        raise LineError(path, lineno, "expected a JSON object")
    for key in fields:
        if key not in record:
            raise LineError(path, lineno, f"missing key {key!r}")
    return record


def _string(path: Path, lineno: int, record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if value is None and key == "title":
        return ""
    # Some BEIR exports write numeric ids; they name the same thing as their decimal string.
    if key == "_id" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise LineError(path, lineno, f"{key!r} must be a string, not {type(value).__name__}")
    return value


def _read_corpus(path: Path, bar: Progress) -> dict[str, Document]:
    corpus: dict[str, Document] = {}
    for lineno, line in read_lines(path, bar):
        record = _record(path, lineno, line, ("_id", "text"))
        doc_id, text, title = record["_id"], record["text"], record.get("title", "")
        if type(doc_id) is not str or type(text) is not str or type(title) is not str:
            doc_id = _string(path, lineno, record, "_id")
            text, title = _string(path, lineno, record, "text"), _string(path, lineno, record, "title")
        if not doc_id:
            raise LineError(path, lineno, "empty document id")
        # BEIR corpora (e.g. TREC-COVID) hold documents with a title and no text; only both empty is bad.
        if not text.strip() and not title.strip():
            raise LineError(path, lineno, f"document {doc_id!r} has empty text and title")
        if doc_id in corpus:
            raise LineError(path, lineno, f"duplicate document id {doc_id!r}")
        corpus[doc_id] = Document(text=text, title=title)
    return corpus


def _read_queries(path: Path, bar: Progress) -> dict[str, str]:
    queries: dict[str, str] = {}
    for lineno, line in read_lines(path, bar):
        record = _record(path, lineno, line, ("_id", "text"))
        qid, text = _string(path, lineno, record, "_id"), _string(path, lineno, record, "text")
        if not qid:
            raise LineError(path, lineno, "empty query id")
        if not text.strip():
            raise LineError(path, lineno, f"query {qid!r} has empty text")
        if qid in queries:
            raise LineError(path, lineno, f"duplicate query id {qid!r}")
        queries[qid] = text
    return queries


def _read_qrels(
    path: Path, corpus: dict[str, Document], queries: dict[str, str], bar: Progress
) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    known = Known(queries, corpus, "queries.jsonl", "corpus.jsonl")
    for lineno, line in read_lines(path, bar):
        fields = line.split("\t")
        if lineno == 1 and fields[0].strip() == QRELS_HEADER[0]:
            continue
        if len(fields) != 3:
            raise LineError(
                path,
                lineno,
                f"expected 3 tab-separated columns (query-id, corpus-id, score), got {len(fields)}",
            )
        qid, doc_id, score = (field.strip() for field in fields)
        add_judgement(qrels, (path, lineno), qid, doc_id, score, known)
    return qrels


def _split_files(folder: Path) -> list[tuple[str, Path]]:
    qrels_dir = folder / "qrels"
    found = {p.stem: p for p in qrels_dir.glob("*.tsv") if p.is_file()} if qrels_dir.is_dir() else {}
    ordered = [s for s in STANDARD_SPLITS if s in found]
    ordered += sorted(s for s in found if s not in STANDARD_SPLITS and is_split_name(s))
    return [(split, found[split]) for split in ordered]


def load_beir(folder: Path, name: str | None = None) -> Collection:
    """Read a BEIR folder; its splits are the `qrels/<split>.tsv` files present (at least one)."""
    folder = Path(folder)
    layout = "a BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv"
    corpus_path = require_file(folder / "corpus.jsonl", layout)
    queries_path = require_file(folder / "queries.jsonl", layout)
    splits = _split_files(folder)
    if not splits:
        raise UserError(f"{folder / 'qrels'}: no qrels file (expected {layout}, e.g. qrels/test.tsv)")
    with reading() as bar:
        corpus = _read_corpus(corpus_path, bar)
        if not corpus:
            raise UserError(f"{corpus_path}: no documents (the file is empty or blank)")
        queries = _read_queries(queries_path, bar)
        if not queries:
            raise UserError(f"{queries_path}: no queries (the file is empty or blank)")
        qrels = {split: _read_qrels(path, corpus, queries, bar) for split, path in splits}
    return Collection(name=name or folder.resolve().name, corpus=corpus, queries=queries, qrels=qrels)


def write_beir(collection: Collection, folder: Path) -> Path:
    """Write `collection` as a BEIR folder (each file replaced atomically); returns the folder."""
    folder = Path(folder)

    write_lines(
        folder / "corpus.jsonl",
        (_ENCODER.encode({"_id": i, "title": d.title, "text": d.text}) for i, d in collection.corpus.items()),
    )
    write_lines(
        folder / "queries.jsonl",
        (_ENCODER.encode({"_id": q, "text": t}) for q, t in collection.queries.items()),
    )
    for split, judged in collection.qrels.items():
        rows = (
            f"{_tsv_id(collection, q)}\t{_tsv_id(collection, d)}\t{g}"
            for q, grades in judged.items()
            for d, g in grades.items()
        )
        write_lines(folder / "qrels" / f"{split}.tsv", itertools.chain(["\t".join(QRELS_HEADER)], rows))
    return folder


def _tsv_id(collection: Collection, identifier: str) -> str:
    # The qrels reader splits on tabs and strips the fields: such an id would not read back as itself.
    if identifier != identifier.strip() or any(c in identifier for c in "\t\r\n"):
        raise UserError(
            f"collection {collection.name}: id {identifier!r} has a tab, line break or outer whitespace; "
            "it cannot be written to a BEIR qrels file"
        )
    return identifier


FORMAT = Format("BEIR", "a BEIR folder has corpus.jsonl", is_beir_folder, load_beir)
