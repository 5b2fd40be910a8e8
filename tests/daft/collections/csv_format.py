"""A test-only collection format, to show that a format is one module: a folder of three CSV files
(`docs.csv`: id,text; `topics.csv`: id,text; `judgements.csv`: topic,doc,grade, all in one split "test")."""

from __future__ import annotations

import csv
from pathlib import Path

from daft.collections.collection import Collection, Document
from daft.collections.format import Format


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def _load(folder: Path) -> Collection:
    qrels: dict[str, dict[str, int]] = {}
    for topic, doc, grade in _rows(folder / "judgements.csv"):
        qrels.setdefault(topic, {})[doc] = int(grade)
    return Collection(
        folder.name,
        {doc: Document(text) for doc, text in _rows(folder / "docs.csv")},
        dict(_rows(folder / "topics.csv")),
        {"test": qrels},
    )


FORMAT = Format("CSV", "a CSV folder has docs.csv", lambda folder: (folder / "docs.csv").is_file(), _load)
