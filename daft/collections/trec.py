"""The MS MARCO / TREC folder layout: `collection.tsv`, `queries.<split>.tsv` and TREC qrels files.

A split exists when its qrels file does: `qrels.<split>.tsv` or `qrels.<split>.txt`, in TREC format
(`qid iter docid grade`, whitespace-separated); its queries come from `queries.<split>.tsv`. Query files
without qrels (MS MARCO's `queries.eval.tsv`) are not read, since nothing could be measured on them.
"""

from __future__ import annotations

import re
from pathlib import Path

from rich.progress import Progress

from daft.collections.collection import Collection, Document, is_split_name
from daft.collections.format import Format
from daft.collections.lines import LineError, read_lines, reading, require_file
from daft.collections.qrels import Known, add_judgement
from daft.core.errors import UserError

_QRELS_FILE = re.compile(r"qrels\.(?P<split>.+)\.(?:tsv|txt)")


def is_trec_folder(path: Path) -> bool:
    """Whether `path` looks like an MS MARCO / TREC folder (it has a `collection.tsv`)."""
    return (Path(path) / "collection.tsv").is_file()


def _two_columns(path: Path, lineno: int, line: str, names: str) -> tuple[str, str]:
    fields = line.split("\t")
    if len(fields) != 2:
        raise LineError(path, lineno, f"expected 2 tab-separated columns ({names}), got {len(fields)}")
    return fields[0].strip(), fields[1]


def _read_collection(path: Path, bar: Progress) -> dict[str, Document]:
    corpus: dict[str, Document] = {}
    for lineno, line in read_lines(path, bar):
        doc_id, text = _two_columns(path, lineno, line, "pid, text")
        if not doc_id:
            raise LineError(path, lineno, "empty document id")
        if not text.strip():
            raise LineError(path, lineno, f"document {doc_id!r} has empty text")
        if doc_id in corpus:
            raise LineError(path, lineno, f"duplicate document id {doc_id!r}")
        corpus[doc_id] = Document(text=text)
    return corpus


def _read_queries(path: Path, known: dict[str, str], bar: Progress) -> dict[str, str]:
    """The queries of one file; `known` (the queries of files read before) gains them."""
    queries: dict[str, str] = {}
    for lineno, line in read_lines(path, bar):
        qid, text = _two_columns(path, lineno, line, "qid, text")
        if not qid:
            raise LineError(path, lineno, "empty query id")
        if not text.strip():
            raise LineError(path, lineno, f"query {qid!r} has empty text")
        if qid in queries:
            raise LineError(path, lineno, f"duplicate query id {qid!r}")
        # Split files may share queries (MS MARCO's dev.small is part of dev), but never reword them.
        if known.get(qid, text) != text:
            raise LineError(path, lineno, f"query {qid!r} has a different text in another queries file")
        queries[qid] = known[qid] = text
    return queries


def _read_qrels(
    path: Path, corpus: dict[str, Document], queries: dict[str, str], queries_file: str, bar: Progress
) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    known = Known(queries, corpus, queries_file, "collection.tsv", grade_name="grade")
    for lineno, line in read_lines(path, bar):
        fields = line.split()
        if len(fields) != 4:
            raise LineError(path, lineno, f"expected 4 columns (qid iter docid grade), got {len(fields)}")
        qid, _, doc_id, grade_text = fields
        add_judgement(qrels, (path, lineno), qid, doc_id, grade_text, known)
    return qrels


def _split_files(folder: Path) -> dict[str, Path]:
    splits: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        match = _QRELS_FILE.fullmatch(path.name)
        if not match or not path.is_file():
            continue
        split = match["split"]
        if not is_split_name(split):
            raise UserError(f"{path}: {split!r} is not a valid split name (letters, digits, _ . -)")
        if split in splits:
            raise UserError(f"{path}: split {split} also has qrels in {splits[split].name}; keep one")
        splits[split] = path
    return dict(sorted(splits.items()))


def load_trec(folder: Path, name: str | None = None) -> Collection:
    """Read an MS MARCO / TREC folder; its splits are the `qrels.<split>.(tsv|txt)` files present."""
    folder = Path(folder)
    layout = "an MS MARCO/TREC folder: collection.tsv, queries.<split>.tsv, qrels.<split>.tsv"
    collection_path = require_file(folder / "collection.tsv", layout)
    splits = _split_files(folder)
    if not splits:
        raise UserError(f"{folder}: no qrels.<split>.tsv or qrels.<split>.txt file (expected {layout})")
    queries_paths = {
        split: require_file(folder / f"queries.{split}.tsv", f"the queries of split {split}")
        for split in splits
    }
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, dict[str, int]]] = {}
    with reading() as bar:
        corpus = _read_collection(collection_path, bar)
        for split, qrels_path in splits.items():
            split_queries = _read_queries(queries_paths[split], queries, bar)
            qrels[split] = _read_qrels(qrels_path, corpus, split_queries, queries_paths[split].name, bar)
    return Collection(name=name or folder.resolve().name, corpus=corpus, queries=queries, qrels=qrels)


FORMAT = Format("MS MARCO/TREC", "an MS MARCO/TREC folder has collection.tsv", is_trec_folder, load_trec)
