from __future__ import annotations

import json
from pathlib import Path

import pytest

from daft.collections.beir import load_beir, write_beir
from daft.collections.collection import Collection, Document
from daft.core.errors import UserError

CORPUS = [
    {"_id": "d1", "title": "Potter's wheel", "text": "a horizontal rotating wheel"},
    {"_id": "d2", "title": "", "text": "a café in Zürich"},
    {"_id": "d3", "text": "no title key at all"},
]
QUERIES = [
    {"_id": "q1", "text": "what shapes clay"},
    {"_id": "q2", "text": "coffee"},
    {"_id": "q3", "text": "x"},
]
QRELS = {
    "test": "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td3\t0\nq2\td2\t1\n",
    "dev": "query-id\tcorpus-id\tscore\nq3\td3\t1\n",
}


def jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def make_beir(root: Path, **overrides: str | bytes | None) -> Path:
    """A small BEIR folder; `overrides` maps a file (`corpus`, `queries`, `qrels/test`) to new content or None."""
    files: dict[str, str | bytes | None] = {
        "corpus.jsonl": jsonl(CORPUS),
        "queries.jsonl": jsonl(QUERIES),
        **{f"qrels/{split}.tsv": text for split, text in QRELS.items()},
    }
    for key, content in overrides.items():
        name = {"corpus": "corpus.jsonl", "queries": "queries.jsonl"}.get(
            key, f"{key.replace('__', '/')}.tsv"
        )
        files[name] = content
    for name, content in files.items():
        if content is None:
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def test_loads_corpus_queries_and_the_splits_present(tmp_path):
    collection = load_beir(make_beir(tmp_path / "scifact"))
    assert collection.name == "scifact"
    assert collection.corpus["d1"] == Document("a horizontal rotating wheel", "Potter's wheel")
    assert collection.corpus["d2"].text == "a café in Zürich"
    assert collection.corpus["d3"].title == ""
    assert collection.queries == {"q1": "what shapes clay", "q2": "coffee", "q3": "x"}
    assert collection.splits == ["dev", "test"]
    assert collection.qrels["test"] == {"q1": {"d1": 2, "d3": 0}, "q2": {"d2": 1}}
    assert collection.split("dev") == ({"q3": "x"}, {"q3": {"d3": 1}})


def test_tolerates_crlf_bom_blank_lines_numeric_ids_and_no_header(tmp_path):
    corpus = '\ufeff{"_id": 1, "text": "one"}\r\n\r\n{"_id": "2", "text": "two", "title": null}\r\n'
    folder = make_beir(
        tmp_path / "b",
        corpus=corpus,
        queries='{"_id": "q", "text": "one?"}\n',
        qrels__test="q\t1\t1\r\nq\t2\t0\n\n",
        qrels__dev=None,
    )
    collection = load_beir(folder, name="custom")
    assert collection.name == "custom"
    assert collection.corpus == {"1": Document("one"), "2": Document("two")}
    assert collection.qrels == {"test": {"q": {"1": 1, "2": 0}}}


def test_document_with_title_and_no_text_is_kept(tmp_path):
    # TREC-COVID in BEIR has many of these: the title is the whole document.
    corpus = jsonl([*CORPUS, {"_id": "d4", "title": "Only a title", "text": ""}])
    assert load_beir(make_beir(tmp_path, corpus=corpus)).corpus["d4"] == Document("", "Only a title")


def test_round_trip_through_write_beir(tmp_path):
    original = load_beir(make_beir(tmp_path / "in"))
    out = write_beir(original, tmp_path / "out")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "corpus.jsonl",
        "qrels/dev.tsv",
        "qrels/test.tsv",
        "queries.jsonl",
    ]
    assert (out / "qrels" / "test.tsv").read_text("utf-8").splitlines()[0] == "query-id\tcorpus-id\tscore"
    again = load_beir(out, name=original.name)
    assert again.corpus == original.corpus
    assert again.queries == original.queries
    assert again.qrels == original.qrels
    assert again.fingerprint == original.fingerprint


def test_write_beir_keeps_unicode_quotes_and_newlines_in_text(tmp_path):
    collection = Collection(
        "c",
        corpus={"a": Document('say "hi"\tand\nbye — ok', "T\\itle"), "b": Document("plain")},
        queries={"q": "naïve query"},
        qrels={"dev.small": {"q": {"a": 3, "b": -1}}},
    )
    assert load_beir(write_beir(collection, tmp_path / "c")).fingerprint == collection.fingerprint
    assert (tmp_path / "c" / "qrels" / "dev.small.tsv").is_file()


def test_write_beir_refuses_ids_that_would_not_read_back(tmp_path):
    collection = Collection("c", {"a\tb": Document("x")}, {"q": "y"}, {"test": {"q": {"a\tb": 1}}})
    with pytest.raises(UserError, match=r"collection c: id 'a\\tb' has a tab"):
        write_beir(collection, tmp_path / "c")


def test_missing_files_are_named(tmp_path):
    with pytest.raises(UserError) as err:
        load_beir(make_beir(tmp_path / "a", corpus=None))
    assert str(err.value).startswith(
        f"{tmp_path / 'a' / 'corpus.jsonl'}: file not found (expected a BEIR folder"
    )
    with pytest.raises(UserError, match=r"queries\.jsonl: file not found"):
        load_beir(make_beir(tmp_path / "b", queries=None))
    with pytest.raises(UserError, match=r"qrels: no qrels file"):
        load_beir(make_beir(tmp_path / "c", qrels__test=None, qrels__dev=None))


@pytest.mark.parametrize(("key", "what"), [("corpus", "documents"), ("queries", "queries")])
@pytest.mark.parametrize("content", ["", "\n  \n"])
def test_an_empty_file_says_so(tmp_path, key, what, content):
    folder = make_beir(tmp_path, **{key: content})
    with pytest.raises(
        UserError, match=rf"^{folder / f'{key}.jsonl'}: no {what} \(the file is empty or blank\)$"
    ):
        load_beir(folder)


BAD_INPUT = [
    # (file, content, line, problem)
    ("corpus", jsonl(CORPUS[:1]) + '{"_id": "d2", "text": \n', 2, "not valid JSON"),
    (
        "corpus",
        jsonl(CORPUS[:1]) + '{"_id": "d2", "text": "cut short\n',
        2,
        "not valid JSON (Unterminated string starting at column 23)",
    ),
    ("corpus", jsonl(CORPUS[:2]) + '["d3", "text"]\n', 3, "expected a JSON object"),
    ("corpus", jsonl(CORPUS[:1]) + '{"text": "no id"}\n', 2, "missing key '_id'"),
    ("corpus", jsonl(CORPUS[:1]) + '{"_id": "d2"}\n', 2, "missing key 'text'"),
    ("corpus", jsonl(CORPUS[:1]) + '{"_id": "d2", "text": 5}\n', 2, "'text' must be a string, not int"),
    ("corpus", jsonl(CORPUS[:1]) + '{"_id": "", "text": "x"}\n', 2, "empty document id"),
    (
        "corpus",
        jsonl(CORPUS) + '{"_id": "d4", "title": " ", "text": "  "}\n',
        4,
        "document 'd4' has empty text",
    ),
    ("corpus", jsonl(CORPUS) + jsonl(CORPUS[1:2]), 4, "duplicate document id 'd2'"),
    ("queries", jsonl(QUERIES) + '{"_id": "q4", "text": ""}\n', 4, "query 'q4' has empty text"),
    ("queries", jsonl(QUERIES) + jsonl(QUERIES[:1]), 4, "duplicate query id 'q1'"),
    ("qrels__test", "query-id\tcorpus-id\tscore\nq1\td1\n", 2, "expected 3 tab-separated columns"),
    ("qrels__test", "query-id\tcorpus-id\tscore\nq1\td1\t1\t0\n", 2, "got 4"),
    ("qrels__test", "query-id\tcorpus-id\tscore\nq1 d1 1\n", 2, "got 1"),
    ("qrels__test", "query-id\tcorpus-id\tscore\nq1\td1\t1.5\n", 2, "score '1.5' is not an integer"),
    ("qrels__test", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td9\t1\n", 3, "unknown document id 'd9'"),
    ("qrels__test", "query-id\tcorpus-id\tscore\nq9\td1\t1\n", 2, "unknown query id 'q9'"),
    ("qrels__test", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td1\t2\n", 3, "duplicate judgement"),
]


@pytest.mark.parametrize(("key", "content", "line", "problem"), BAD_INPUT)
def test_bad_input_names_file_and_line(tmp_path, key, content, line, problem):
    folder = make_beir(tmp_path, **{key: content})
    name = {"corpus": "corpus.jsonl", "queries": "queries.jsonl", "qrels__test": "qrels/test.tsv"}[key]
    with pytest.raises(UserError) as err:
        load_beir(folder)
    message = str(err.value)
    assert message.startswith(f"{folder / name} line {line}: ")
    assert problem in message
    assert "\n" not in message


def test_non_utf8_bytes_name_file_and_line(tmp_path):
    corpus = jsonl(CORPUS[:2]).encode() + b'{"_id": "d3", "text": "caf\xe9"}\n'
    folder = make_beir(tmp_path, corpus=corpus)
    with pytest.raises(UserError) as err:
        load_beir(folder)
    assert str(err.value).startswith(f"{folder / 'corpus.jsonl'} line 3: not valid UTF-8")
