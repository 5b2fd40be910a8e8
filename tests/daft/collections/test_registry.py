from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from daft.collections import registry, wordnet
from daft.collections.beir import write_beir
from daft.collections.collection import Collection, Document
from daft.collections.registry import Builtin, collection_dir, info, load, load_builtin, load_ref, parse_ref
from daft.core.errors import UserError
from daft.store import cache


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("wordnet", ("wordnet", None)),
        ("wordnet:test", ("wordnet", "test")),
        ("wordnet-small:dev", ("wordnet-small", "dev")),
        ("/path/to/beir:dev", ("/path/to/beir", "dev")),
        ("msmarco:dev.small", ("msmarco", "dev.small")),
        ("a:b:test", ("a:b", "test")),  # only after the last colon
        ("/data/a:b/c", ("/data/a:b/c", None)),  # what follows the colon has a slash
        ("C:\\data\\beir", ("C:\\data\\beir", None)),
        ("wordnet:", ("wordnet:", None)),
        (":test", (":test", None)),
    ],
)
def test_parse_ref(ref, expected):
    assert parse_ref(ref) == expected


def test_parse_ref_keeps_an_existing_path_whole(tmp_path):
    folder = tmp_path / "beir:v2"
    folder.mkdir()
    assert parse_ref(str(folder)) == (str(folder), None)
    assert parse_ref(f"{folder}:test") == (str(folder), "test")


def tiny(name: str = "tiny", text: str = "one") -> Collection:
    return Collection(
        name=name,
        corpus={"d1": Document(text), "d2": Document("two", "Title")},
        queries={"q1": "first query", "q2": "second query"},
        qrels={"train": {"q1": {"d1": 1}}, "test": {"q2": {"d2": 1, "d1": 0}}},
    )


class CountingBuilder:
    def __init__(self, collection: Collection):
        self.collection = collection
        self.calls = 0

    def __call__(self) -> Collection:
        self.calls += 1
        return self.collection


@pytest.fixture
def fake(cache_dir: Path) -> tuple[dict[str, Builtin], CountingBuilder]:
    builder = CountingBuilder(tiny())
    return {"tiny": Builtin("tiny", "a tiny collection", 3, builder)}, builder


def test_builtin_is_built_once_then_read_from_the_cache(fake, cache_dir):
    builtins, builder = fake
    first = load("tiny", builtins)
    assert builder.calls == 1
    directory = cache_dir / "collections" / "tiny"
    assert collection_dir("tiny") == directory
    assert cache.check(directory) is None
    meta = cache.read_seal(directory)["meta"]
    assert meta == {
        "collection": "tiny",
        "builder_version": 3,
        "fingerprint": first.fingerprint,
        "documents": 2,
        "splits": {"train": {"queries": 1, "judged_pairs": 1}, "test": {"queries": 1, "judged_pairs": 2}},
    }
    second = load("tiny", builtins)
    assert builder.calls == 1
    assert second.name == "tiny"
    assert second.fingerprint == first.fingerprint
    assert second.corpus == first.corpus and second.qrels == first.qrels


def test_corrupt_entry_is_rebuilt(fake, cache_dir, capsys):
    builtins, builder = fake
    load("tiny", builtins)
    with open(cache_dir / "collections" / "tiny" / "corpus.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"_id": "d3", "text": "smuggled in"}\n')
    collection = load("tiny", builtins)
    assert builder.calls == 2
    assert "d3" not in collection.corpus
    assert "rebuilding" in capsys.readouterr().err
    assert cache.check(cache_dir / "collections" / "tiny") is None


def test_entry_whose_content_no_longer_matches_its_fingerprint_is_rebuilt(fake, cache_dir):
    builtins, builder = fake
    load("tiny", builtins)
    directory = cache_dir / "collections" / "tiny"
    meta = cache.read_seal(directory)["meta"]
    # A valid seal over different content (e.g. written by a buggy older writer): only the fingerprint can tell.
    write_beir(tiny(text="changed"), directory)
    cache.seal(directory, meta)
    assert cache.check(directory) is None
    assert load("tiny", builtins).corpus["d1"].text == "one"
    assert builder.calls == 2


def test_entry_the_loader_rejects_is_rebuilt(fake, cache_dir):
    builtins, builder = fake
    load("tiny", builtins)
    directory = cache_dir / "collections" / "tiny"
    meta = cache.read_seal(directory)["meta"]
    (directory / "queries.jsonl").write_text("not json\n", "utf-8")
    cache.seal(directory, meta)
    assert load("tiny", builtins).queries["q1"] == "first query"
    assert builder.calls == 2


def test_entry_of_another_builder_version_is_rebuilt(fake, cache_dir):
    builtins, builder = fake
    load("tiny", builtins)
    newer = {"tiny": Builtin("tiny", "a tiny collection", 4, builder)}
    load("tiny", newer)
    assert builder.calls == 2
    assert cache.read_seal(cache_dir / "collections" / "tiny")["meta"]["builder_version"] == 4


def test_half_built_entry_and_staging_leftovers_are_replaced(fake, cache_dir):
    builtins, builder = fake
    directory = cache_dir / "collections" / "tiny"
    directory.mkdir(parents=True)
    (directory / "corpus.jsonl").write_text("", "utf-8")  # no seal: an interrupted build
    leftover = cache_dir / "collections" / ".tiny.abc.building"
    leftover.mkdir()
    os.utime(leftover, (time.time() - 7200, time.time() - 7200))  # killed two hours ago
    running = cache_dir / "collections" / ".other.xyz.building"
    running.mkdir()  # may belong to a build running in another process right now
    load("tiny", builtins)
    assert builder.calls == 1
    assert cache.check(directory) is None
    assert not leftover.exists()
    assert running.exists()


def test_failed_build_leaves_nothing(cache_dir):
    def broken() -> Collection:
        raise UserError("no data")

    with pytest.raises(UserError, match="no data"):
        load_builtin("broken", {"broken": Builtin("broken", "", 1, broken)})
    assert not (cache_dir / "collections" / "broken").exists()


def test_unknown_reference_lists_the_known_names(tmp_path, cache_dir):
    with pytest.raises(UserError) as err:
        load(str(tmp_path / "nowhere"))
    assert str(err.value) == (
        f"unknown collection '{tmp_path / 'nowhere'}'; known collections: wordnet, wordnet-small, "
        "or the path of a BEIR or MS MARCO/TREC folder"
    )
    with pytest.raises(
        UserError, match=r"unknown collection 'wordnet:test' \('wordnet:test' names split 'test'"
    ):
        load("wordnet:test")
    with pytest.raises(UserError, match="not a collection folder"):
        load(str(tmp_path))
    with pytest.raises(UserError, match="unknown built-in collection 'nope'; known: wordnet, wordnet-small"):
        load_builtin("nope")
    assert registry.names() == ["wordnet", "wordnet-small"]


def test_folders_are_recognised_by_their_files(tmp_path, cache_dir):
    beir = write_beir(tiny(), tmp_path / "beir")
    assert load(str(beir)).fingerprint == tiny().fingerprint
    trec = tmp_path / "trec"
    trec.mkdir()
    (trec / "collection.tsv").write_text("1\tone\n2\ttwo\n", "utf-8")
    (trec / "queries.dev.tsv").write_text("7\tnumber\n", "utf-8")
    (trec / "qrels.dev.tsv").write_text("7 0 2 1\n", "utf-8")
    collection, split = load_ref(f"{trec}:dev")
    assert split == "dev" and collection.qrels == {"dev": {"7": {"2": 1}}}
    assert not (cache_dir / "collections").exists()  # folders are read in place, never cached


def test_load_ref_checks_the_split(tmp_path):
    beir = write_beir(tiny(), tmp_path / "beir")
    with pytest.raises(UserError) as err:
        load_ref(f"{beir}:dev")
    assert str(err.value) == "collection beir has no split 'dev'; available splits: train, test"


def test_info_of_a_folder_and_of_one_split(tmp_path):
    beir = write_beir(tiny(), tmp_path / "beir")
    expected = {
        "name": "beir",
        "documents": 2,
        "queries": 2,
        "splits": {"train": {"queries": 1, "judged_pairs": 1}, "test": {"queries": 1, "judged_pairs": 2}},
        "fingerprint": tiny().fingerprint,
        "path": str(beir.resolve()),
        "cached": False,
    }
    assert info(str(beir)) == expected
    assert info(f"{beir}:test") == {**expected, "splits": {"test": {"queries": 1, "judged_pairs": 2}}}
    json.dumps(info(str(beir)))  # what `daft data info --json` prints


# --- the real built-in collections ----------------------------------------------------------------------------


@pytest.mark.assets
def test_builtin_wordnet_collections_through_the_cache(
    cache_dir, monkeypatch, wordnet_dir, wordnet_synsets, wordnet_full: Collection, wordnet_small: Collection
):
    def parse(directory: Path) -> list[wordnet.Synset]:
        assert directory == wordnet_dir
        return wordnet_synsets  # parsed once per session by the fixture

    monkeypatch.setattr(wordnet, "source_dir", lambda: wordnet_dir)
    monkeypatch.setattr(wordnet, "parse_wordnet", parse)
    for name, expected in (("wordnet", wordnet_full), ("wordnet-small", wordnet_small)):
        built = load(name)
        assert built.fingerprint == expected.fingerprint
        meta = cache.read_seal(cache_dir / "collections" / name)["meta"]
        assert meta["fingerprint"] == expected.fingerprint
        assert meta["documents"] == len(expected.corpus)
        monkeypatch.setattr(wordnet, "source_dir", lambda: pytest.fail("rebuilt although cached"))
        cached = load(name)
        monkeypatch.setattr(wordnet, "source_dir", lambda: wordnet_dir)
        assert cached.name == name
        assert cached.fingerprint == expected.fingerprint
        assert cached.stats() == expected.stats()
    assert info("wordnet-small:test")["splits"] == {"test": {"queries": 4_335, "judged_pairs": 4_335}}


def test_a_format_is_one_module_and_one_registry_line(tmp_path, monkeypatch):
    folder = tmp_path / "tiny-csv"
    folder.mkdir()
    (folder / "docs.csv").write_text("d1,a potter's wheel\nd2,the river bank\n")
    (folder / "topics.csv").write_text("q1,potter wheel\n")
    (folder / "judgements.csv").write_text("q1,d1,1\n")
    with pytest.raises(UserError) as err:
        load(str(folder))
    assert "a BEIR folder has corpus.jsonl, an MS MARCO/TREC folder has collection.tsv)" in str(err.value)

    monkeypatch.setattr(registry, "_FORMATS", (*registry._FORMATS, "tests.daft.collections.csv_format"))
    registry.formats.cache_clear()
    try:
        collection = load(str(folder))
        assert collection.split("test") == ({"q1": "potter wheel"}, {"q1": {"d1": 1}})
        assert collection.corpus["d2"].text == "the river bank"
        with pytest.raises(UserError, match="or the path of a BEIR or MS MARCO/TREC or CSV folder"):
            load(str(tmp_path / "nowhere"))
        with pytest.raises(
            UserError, match="an MS MARCO/TREC folder has collection.tsv, a CSV folder has docs.csv"
        ):
            load(str(tmp_path))
    finally:
        monkeypatch.undo()
        registry.formats.cache_clear()
