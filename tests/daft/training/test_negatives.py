"""Hard negatives: sampled from the BM25 run, never a positive, seeded per query, within the depth."""

from __future__ import annotations

from pathlib import Path

import pytest

from daft.collections.collection import Collection
from daft.core.errors import UserError
from daft.search import bm25
from daft.training.negatives import hard_negatives, negatives_path
from tests.daft.search.test_bm25 import tiny_collection


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Collection:
    """The tiny BM25 collection, in an empty cache of this test's own."""
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path))
    return tiny_collection()


def positives(collection: Collection, split: str, qid: str) -> set[str]:
    return {doc for doc, grade in collection.qrels[split][qid].items() if grade > 0}


def test_negatives_exclude_positives_and_stay_within_depth(tiny: Collection) -> None:
    depth = 6
    negatives = hard_negatives(tiny, "train", k=4, depth=depth)
    ranked = bm25.run(tiny, "train", k=depth)
    assert set(negatives) == set(tiny.qrels["train"])
    for qid, chosen in negatives.items():
        assert len(chosen) == len(set(chosen)) <= 4
        assert not set(chosen) & positives(tiny, "train", qid)
        assert set(chosen) <= {doc for doc, _ in ranked[qid]}
    # "q-daily" has two positives (guitar, violin) among its top hits and one judged non-relevant (kite).
    top = [doc for doc, _ in ranked["q-daily"]]
    assert {"guitar", "violin"} <= set(top)
    assert len(negatives["q-daily"]) == 4


def test_judged_non_relevant_documents_can_be_negatives(tiny: Collection) -> None:
    # k = depth - positives: every candidate is taken, "kite" (grade 0) among them.
    negatives = hard_negatives(tiny, "train", k=3, depth=5)
    ranked = [doc for doc, _ in bm25.run(tiny, "train", k=5)["q-daily"]]
    assert "kite" in ranked
    assert set(negatives["q-daily"]) == set(ranked) - {"guitar", "violin"}


def test_negatives_are_deterministic_and_depend_on_the_seed(tiny: Collection) -> None:
    first = hard_negatives(tiny, "train", k=3, depth=20)
    assert hard_negatives(tiny, "train", k=3, depth=20) == first
    other = hard_negatives(tiny, "train", k=3, depth=20, seed=1)
    assert other != first
    assert other["q-daily"] != first["q-daily"]


def test_negatives_do_not_depend_on_query_order(tiny: Collection) -> None:
    first = hard_negatives(tiny, "train", k=3, depth=20)
    reversed_qrels = {split: dict(reversed(judged.items())) for split, judged in tiny.qrels.items()}
    flipped = Collection(tiny.name, tiny.corpus, tiny.queries, reversed_qrels)
    again = hard_negatives(flipped, "train", k=3, depth=20)
    assert list(again) == list(reversed(first))
    assert again == first


def test_queries_with_too_few_candidates_get_what_there_is(
    tiny: Collection, capsys: pytest.CaptureFixture[str]
) -> None:
    negatives = hard_negatives(tiny, "train", k=3, depth=20)
    # "quokkas smile at zebras" matches its positive and the two zebra twins only.
    assert sorted(negatives["q-quokka"]) == ["tie-a", "tie-b"]
    # "aardvark" and the money question match their positive only; "wheel" brings the bicycle to the potter.
    assert negatives["q-aardvark"] == negatives["q-money"] == []
    assert negatives["q-potter"] == ["bicycle"]
    err = " ".join(capsys.readouterr().err.split())
    assert "4 of 6 queries of tiny-bm25:train have fewer than 3" in err


def test_bad_arguments_are_user_errors(tiny: Collection) -> None:
    with pytest.raises(UserError, match="k must be"):
        hard_negatives(tiny, "train", k=0)
    with pytest.raises(UserError, match="depth must be"):
        hard_negatives(tiny, "train", k=10, depth=5)
    with pytest.raises(UserError, match="no split 'nope'"):
        hard_negatives(tiny, "nope")


# --- the cache: a machine without Java trains from negatives sampled elsewhere -------------------------------


def test_cached_negatives_are_read_without_bm25(tiny: Collection, monkeypatch: pytest.MonkeyPatch) -> None:
    first = hard_negatives(tiny, "train", k=3, depth=20)
    path = negatives_path(tiny, "train", k=3, depth=20, k1=bm25.DEFAULT_K1, b=bm25.DEFAULT_B, seed=0)
    assert path.is_file() and path.parent == bm25.index_root(tiny) / "runs"

    def no_bm25(*args: object, **kwargs: object) -> None:
        raise AssertionError("BM25 was searched although the negatives are cached")

    monkeypatch.setattr(bm25, "run", no_bm25)
    assert hard_negatives(tiny, "train", k=3, depth=20) == first
    with pytest.raises(AssertionError, match="BM25 was searched"):
        hard_negatives(tiny, "train", k=3, depth=20, seed=1)  # another setting is another entry


def test_the_cache_key_covers_every_setting_and_the_content(tiny: Collection) -> None:
    base = {"k": 3, "depth": 20, "k1": 0.9, "b": 0.4, "seed": 0}
    paths = {negatives_path(tiny, "train", **base)}
    for key, value in (("k", 4), ("depth", 21), ("k1", 1.2), ("b", 0.75), ("seed", 1)):
        paths.add(negatives_path(tiny, "train", **{**base, key: value}))
    paths.add(negatives_path(tiny, "dev", **base))
    judged = {split: dict(qrels) for split, qrels in tiny.qrels.items()}
    judged["train"]["q-daily"] = {**judged["train"]["q-daily"], "kite": 1}
    paths.add(negatives_path(Collection(tiny.name, tiny.corpus, tiny.queries, judged), "train", **base))
    assert len(paths) == 8


def test_a_damaged_cache_entry_is_sampled_again(tiny: Collection, capsys: pytest.CaptureFixture[str]) -> None:
    first = hard_negatives(tiny, "train", k=3, depth=20)
    path = negatives_path(tiny, "train", k=3, depth=20, k1=bm25.DEFAULT_K1, b=bm25.DEFAULT_B, seed=0)
    path.write_text('{"format": 1, "short": 0, "negatives": {"q-daily": ["kite"]}}', "utf-8")
    capsys.readouterr()
    assert hard_negatives(tiny, "train", k=3, depth=20) == first
    assert "unreadable or out of date; sampling again" in capsys.readouterr().err
    assert hard_negatives(tiny, "train", k=3, depth=20) == first
