from __future__ import annotations

from pathlib import Path

import pytest

from daft.collections.beir import load_beir, write_beir
from daft.collections.collection import Document
from daft.collections.trec import load_trec
from daft.core.errors import UserError

FILES = {
    "collection.tsv": "0\tThe presence of communication amid scientific minds\n1\tThe Manhattan Project\n2\tcafé\n",
    "queries.dev.small.tsv": "100\twhat was the manhattan project\n",
    "qrels.dev.small.tsv": "100\t0\t1\t1\n",
    "queries.dev.tsv": "100\twhat was the manhattan project\n101\tcommunication\n",
    "qrels.dev.tsv": "100\t0\t1\t1\n101\t0\t0\t1\n101\t0\t2\t0\n",
    "queries.train.tsv": "200\tcoffee in paris\n",
    "qrels.train.txt": "200 Q0 2 2\n",
    "queries.eval.tsv": "300\tnever judged\n",
}


def make_trec(root: Path, **overrides: str | bytes | None) -> Path:
    """A small MS MARCO-like folder; `overrides` maps a file name (dots as `_`) to new content or None."""
    files: dict[str, str | bytes | None] = dict(FILES)
    for key, content in overrides.items():
        name = next(n for n in [*FILES, key] if n.replace(".", "_") == key or n == key)
        files[name] = content
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if content is None:
            continue
        if isinstance(content, bytes):
            (root / name).write_bytes(content)
        else:
            (root / name).write_text(content, encoding="utf-8")
    return root


def test_splits_come_from_the_qrels_file_names(tmp_path):
    collection = load_trec(make_trec(tmp_path / "msmarco"))
    assert collection.name == "msmarco"
    assert collection.splits == ["dev", "dev.small", "train"]
    assert collection.corpus["2"] == Document("café")
    assert collection.split("dev.small") == ({"100": "what was the manhattan project"}, {"100": {"1": 1}})
    assert collection.qrels["dev"] == {"100": {"1": 1}, "101": {"0": 1, "2": 0}}
    assert collection.qrels["train"] == {"200": {"2": 2}}
    # queries.eval.tsv has no qrels: nothing could be measured on it, so it is not read
    assert "300" not in collection.queries


def test_round_trip_to_beir(tmp_path):
    collection = load_trec(make_trec(tmp_path / "msmarco"))
    again = load_beir(write_beir(collection, tmp_path / "beir"))
    assert again.fingerprint == collection.fingerprint
    assert again.splits == ["train", "dev", "dev.small"]  # BEIR's own splits first


def test_missing_files_are_named(tmp_path):
    with pytest.raises(UserError) as err:
        load_trec(make_trec(tmp_path / "a", collection_tsv=None))
    assert str(err.value).startswith(f"{tmp_path / 'a' / 'collection.tsv'}: file not found")
    with pytest.raises(UserError) as err:
        load_trec(make_trec(tmp_path / "b", queries_train_tsv=None))
    assert (
        str(err.value)
        == f"{tmp_path / 'b' / 'queries.train.tsv'}: file not found (expected the queries of split train)"
    )
    only_queries = {n.replace(".", "_"): None for n in FILES if n.startswith("qrels.")}
    with pytest.raises(UserError, match=r"no qrels\.<split>\.tsv or qrels\.<split>\.txt file"):
        load_trec(make_trec(tmp_path / "c", **only_queries))


def test_two_qrels_files_for_one_split_are_refused(tmp_path):
    folder = make_trec(tmp_path, **{"qrels.train.tsv": "200\t0\t2\t1\n"})
    with pytest.raises(
        UserError, match=r"qrels\.train\.txt: split train also has qrels in qrels\.train\.tsv"
    ):
        load_trec(folder)


def test_a_query_reworded_in_another_file_is_refused(tmp_path):
    folder = make_trec(tmp_path, queries_dev_small_tsv="100\tsomething else\n")
    with pytest.raises(UserError) as err:
        load_trec(folder)
    assert str(err.value) == (
        f"{folder / 'queries.dev.small.tsv'} line 1: query '100' has a different text in another queries file"
    )


BAD_INPUT = [
    # (file, content, line, problem)
    (
        "collection.tsv",
        "0\tfine\n1\tone\ttab too many\n",
        2,
        "expected 2 tab-separated columns (pid, text), got 3",
    ),
    ("collection.tsv", "0\tfine\n1 no tab\n", 2, "got 1"),
    ("collection.tsv", "0\tfine\n1\t  \n2\tx\n", 2, "document '1' has empty text"),
    ("collection.tsv", "0\tfine\n\t text\n", 2, "empty document id"),
    ("collection.tsv", "0\ta\n1\tb\n2\tc\n0\td\n", 4, "duplicate document id '0'"),
    ("queries.train.tsv", "200\t\n", 1, "query '200' has empty text"),
    ("queries.train.tsv", "200\tcoffee\n200\ttea\n", 2, "duplicate query id '200'"),
    ("queries.train.tsv", "200\tcoffee\tin paris\n", 1, "expected 2 tab-separated columns (qid, text)"),
    ("qrels.train.txt", "200 Q0 2 1\n200 2 1\n", 2, "expected 4 columns (qid iter docid grade), got 3"),
    ("qrels.train.txt", "200 Q0 2 one\n", 1, "grade 'one' is not an integer"),
    ("qrels.train.txt", "200 Q0 2 1\n200 Q0 7 1\n", 2, "unknown document id '7' (not in collection.tsv)"),
    ("qrels.train.txt", "100 Q0 2 1\n", 1, "unknown query id '100' (not in queries.train.tsv)"),
    ("qrels.train.txt", "200 Q0 2 1\n200 0 2 1\n", 2, "duplicate judgement of query '200' and document '2'"),
]


@pytest.mark.parametrize(("name", "content", "line", "problem"), BAD_INPUT)
def test_bad_input_names_file_and_line(tmp_path, name, content, line, problem):
    folder = make_trec(tmp_path, **{name: content})
    with pytest.raises(UserError) as err:
        load_trec(folder)
    message = str(err.value)
    assert message.startswith(f"{folder / name} line {line}: ")
    assert problem in message
    assert "\n" not in message


def test_non_utf8_bytes_name_file_and_line(tmp_path):
    folder = make_trec(tmp_path, **{"queries.train.tsv": b"200\tcoffee\n201\tcaf\xe9\n"})
    with pytest.raises(UserError) as err:
        load_trec(folder)
    assert str(err.value).startswith(f"{folder / 'queries.train.tsv'} line 2: not valid UTF-8")
