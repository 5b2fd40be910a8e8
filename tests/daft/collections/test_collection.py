from __future__ import annotations

import pytest

from daft.collections.collection import Collection, Document, is_split_name
from daft.core.errors import UserError


def tiny(name: str = "tiny") -> Collection:
    return Collection(
        name=name,
        corpus={
            "d1": Document("first text", "First"),
            "d2": Document("second text"),
            "d3": Document("third"),
        },
        queries={"q1": "one", "q2": "two", "q3": "three"},
        qrels={"test": {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}, "dev": {"q3": {"d2": 1}}},
    )


def test_split_returns_its_queries_and_qrels():
    queries, qrels = tiny().split("test")
    assert queries == {"q1": "one", "q2": "two"}
    assert qrels == {"q1": {"d1": 1, "d2": 0}, "q2": {"d3": 2}}
    assert tiny().splits == ["test", "dev"]


def test_missing_split_names_the_collection_and_the_available_splits():
    with pytest.raises(UserError) as err:
        tiny().split("train")
    assert str(err.value) == "collection tiny has no split 'train'; available splits: test, dev"


def test_stats_counts_documents_queries_and_judged_pairs():
    assert tiny().stats() == {
        "documents": 3,
        "queries": 3,
        "splits": {"test": {"queries": 2, "judged_pairs": 3}, "dev": {"queries": 1, "judged_pairs": 1}},
    }


def test_fingerprint_ignores_order_and_name_but_not_content():
    a = tiny()
    reordered = Collection(
        name="other",
        corpus=dict(reversed(a.corpus.items())),
        queries=dict(reversed(a.queries.items())),
        qrels={"dev": a.qrels["dev"], "test": {"q2": {"d3": 2}, "q1": {"d2": 0, "d1": 1}}},
    )
    assert reordered.fingerprint == a.fingerprint
    assert len(a.fingerprint) == 64

    def changed(**kwargs) -> str:
        fields = {"name": "tiny", "corpus": a.corpus, "queries": a.queries, "qrels": a.qrels, **kwargs}
        return Collection(**fields).fingerprint

    assert changed(corpus={**a.corpus, "d1": Document("first text", "")}) != a.fingerprint  # title
    assert changed(corpus={**a.corpus, "d2": Document("second  text")}) != a.fingerprint  # text
    assert changed(queries={**a.queries, "q3": "Three"}) != a.fingerprint
    assert changed(qrels={**a.qrels, "dev": {"q3": {"d2": 2}}}) != a.fingerprint  # grade
    assert changed(qrels={"test": a.qrels["test"], "train": a.qrels["dev"]}) != a.fingerprint  # split name


def test_fingerprint_tells_title_and_text_apart():
    one = Collection("a", {"d": Document("x y", "")}, {}, {})
    other = Collection("a", {"d": Document("y", "x")}, {}, {})
    assert one.fingerprint != other.fingerprint


@pytest.mark.parametrize(
    ("qrels", "message"),
    [
        ({"test": {"q9": {"d1": 1}}}, "collection tiny: split test judges unknown query 'q9'"),
        ({"test": {"q1": {"d9": 1}}}, "collection tiny: split test query 'q1' judges unknown document 'd9'"),
        ({"a/b": {"q1": {"d1": 1}}}, "collection tiny: invalid split name 'a/b'"),
    ],
)
def test_inconsistent_collection_is_refused(qrels, message):
    with pytest.raises(UserError) as err:
        Collection("tiny", {"d1": Document("x")}, {"q1": "y"}, qrels)
    assert str(err.value) == message


@pytest.mark.parametrize("token", ["train", "dev.small", "test-2019", "fold_1", "2"])
def test_split_names(token):
    assert is_split_name(token)


@pytest.mark.parametrize("token", ["", "a/b", "a:b", ".hidden", "-x", "a b", "\\data"])
def test_not_split_names(token):
    assert not is_split_name(token)
