from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import pytest

from daft.collections import wordnet
from daft.collections.collection import Collection
from daft.collections.wordnet import Synset, parse_line, parse_wordnet, split_gloss, split_of
from daft.core.errors import UserError
from tests.conftest import under_hash_seeds

LICENCE = (
    "  1 This software and database is being provided to you, the LICENSEE, by  \n  2 Princeton University\n"
)
DATA = {
    "noun": [
        "00000100 06 n 02 potter's_wheel 0 wheel 1 001 @ 04574999 n 0000 | a horizontal rotating wheel; "
        '"the potter\'s wheel was invented in Asia"; "a wheel"; "clay on a wheel"  ',
        "00000200 06 n 01 wheel 0 000 | a simple machine  ",
    ],
    "verb": [
        '00000300 29 v 01 wheel 0 001 @ 00000003 v 0000 01 + 02 00 | wheel around; "the bird wheeled overhead"  '
    ],
    "adj": [
        "00000400 00 a 01 abundant(a) 0 000 | present in great quantity  ",
        '00000500 00 s 02 galore(ip) 0 abounding 0 001 & 00000400 a 0000 | existing in abundance; "whiskey galore"  ',
    ],
    "adv": ['00000600 02 r 01 wheelwise 0 000 | like a wheel; "it turned wheelwise all night"  '],
}


def make_database(root: Path, **overrides: list[str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for pos, lines in {**DATA, **overrides}.items():
        (root / f"data.{pos}").write_text(LICENCE + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    return root


# --- parsing ------------------------------------------------------------------------------------------------


def test_parse_line_reads_hex_word_counts_markers_and_underscores(tmp_path):
    words = " ".join(f"w_{i} 0" for i in range(16))
    synset = parse_line(tmp_path / "data.verb", 1, f"00044149 29 v 10 {words} 000 | dress up", "v")
    assert synset.id == "00044149-v"
    assert synset.lemmas == tuple(f"w {i}" for i in range(16))  # 0x10 words, not 10
    synset = parse_line(tmp_path / "data.adj", 1, "00000001 00 s 02 galore(ip) 0 big(p) 0 000 | x", "as")
    assert synset.id == "00000001-s" and synset.lemmas == ("galore", "big")


@pytest.mark.parametrize(
    ("gloss", "definition", "examples"),
    [
        ('def; "one two three"; "short"', "def", ("one two three", "short")),
        ('def: "a b c"; "d e f"', "def", ("a b c", "d e f")),
        ('first; second; "a b c" - Mark Twain; "d e f"--Shakespeare', "first; second", ("a b c", "d e f")),
        ('def; "a b c" (Santayana)', "def", ("a b c",)),
        ('26th President; "said x y" (1858-1919)', "26th President (1858-1919)", ("said x y",)),
        ('def1; "a b c"; def2', "def1; def2", ("a b c",)),
        ('a summary list; as in e.g. "a news roundup"', "a summary list", ("a news roundup",)),
        ("a diacritical mark (,) placed below  ", "a diacritical mark (,) placed below", ()),
        ('def; "a b c', "def", ("a b c",)),  # an unterminated quote runs to the end
        ('a report (e.g., "he said `I am a fool\'")', "a report", ("he said `I am a fool'",)),
        ('promise (as in "carrot and stick"); "x y z"', "promise (as in)", ("carrot and stick", "x y z")),
        ('def; "the depth of  his sighs," "more"', "def", ("the depth of his sighs", "more")),
        ("(of a ball) no examples at all", "(of a ball) no examples at all", ()),
    ],
)
def test_split_gloss(gloss, definition, examples):
    assert split_gloss(gloss) == (definition, examples)


def test_synset_text_and_queries():
    synset = Synset("00000100-n", ("potter's wheel", "wheel"), "a wheel", ("one two three", "two words"))
    assert synset.text == "potter's wheel, wheel: a wheel"
    assert synset.queries == ["one two three"]


def test_parse_wordnet_on_a_tiny_database(tmp_path):
    synsets = parse_wordnet(make_database(tmp_path))
    assert [s.id for s in synsets] == [
        "00000100-n",
        "00000200-n",
        "00000300-v",
        "00000400-a",
        "00000500-s",
        "00000600-r",
    ]
    collection = wordnet.wordnet_collection(synsets)
    assert collection.corpus["00000100-n"].text == "potter's wheel, wheel: a horizontal rotating wheel"
    assert collection.corpus["00000500-s"].text == "galore, abounding: existing in abundance"
    # k counts the kept examples only: "a wheel" (2 words) is skipped
    assert {q: t for q, t in collection.queries.items() if q.startswith("00000100-n")} == {
        "00000100-n.0": "the potter's wheel was invented in Asia",
        "00000100-n.1": "clay on a wheel",
    }
    split = split_of("00000100-n")
    assert collection.qrels[split]["00000100-n.1"] == {"00000100-n": 1}


BAD_LINES = [
    ("noun", "00000100 06 n 01 wheel 0 000 a wheel without a bar", "not a WordNet synset line"),
    ("noun", "0000100 06 n 01 wheel 0 000 | x", "synset offset '0000100' is not 8 digits"),
    ("noun", "00000100 06 v 01 wheel 0 000 | x", "synset type 'v' does not belong in data.noun"),
    ("noun", "00000100 06 n 0g wheel 0 000 | x", "word count '0g' is not hexadecimal"),
    ("noun", "00000100 06 n 03 wheel 0 spoke 0 | x", "expected 3 words with their lex ids"),
]


@pytest.mark.parametrize(("pos", "line", "problem"), BAD_LINES)
def test_malformed_lines_name_file_and_line(tmp_path, pos, line, problem):
    root = make_database(tmp_path, **{pos: [DATA[pos][0], line]})
    with pytest.raises(UserError) as err:
        parse_wordnet(root)
    assert str(err.value).startswith(f"{root / f'data.{pos}'} line 4: {problem}")  # after 2 licence lines


def test_missing_data_file_is_named(tmp_path):
    root = make_database(tmp_path)
    (root / "data.adv").unlink()
    with pytest.raises(
        UserError, match=r"data\.adv: file not found \(expected a WordNet 3\.0 database file\)"
    ):
        parse_wordnet(root)


def test_split_of_is_a_stable_80_10_10_hash():
    assert [split_of(f"{i:08d}-n") for i in range(5)] == [split_of(f"{i:08d}-n") for i in range(5)]
    counts = Counter(split_of(f"{i:08d}-n") for i in range(20_000))
    assert 0.78 < counts["train"] / 20_000 < 0.82
    assert 0.09 < counts["dev"] / 20_000 < 0.11
    assert 0.09 < counts["test"] / 20_000 < 0.11
    assert split_of("03992509-n") == "train"


def test_small_subset_on_a_tiny_database(tmp_path, monkeypatch):
    synsets = parse_wordnet(make_database(tmp_path))
    # Put potter's wheel in test and everything else in train, to know what the subset must hold.
    monkeypatch.setattr(wordnet, "split_of", lambda doc_id: "test" if doc_id == "00000100-n" else "train")
    full = wordnet.wordnet_collection(synsets)
    small = wordnet.wordnet_small_collection(synsets, full, size=3)
    # potter's wheel + the other noun sense of "wheel" (the verb "wheel" is another part of speech) + padding
    assert {"00000100-n", "00000200-n"} < set(small.corpus)
    assert len(small.corpus) == 3
    assert small.qrels["test"] == full.qrels["test"]
    assert all(set(grades) <= set(small.corpus) for grades in small.qrels["train"].values())
    with pytest.raises(
        UserError, match="wordnet-small: the dev/test documents .* are 2 synsets, more than 1"
    ):
        wordnet.wordnet_small_collection(synsets, full, size=1)


# --- the real WordNet 3.0 -------------------------------------------------------------------------------------

WORDNET_SPLITS = {"train": 33_892, "dev": 4_363, "test": 4_335}


@pytest.mark.assets
def test_wordnet_counts(wordnet_full: Collection):
    assert len(wordnet_full.corpus) == 117_659
    assert len(wordnet_full.queries) == 42_590
    assert wordnet_full.stats()["splits"] == {
        split: {"queries": n, "judged_pairs": n} for split, n in WORDNET_SPLITS.items()
    }
    kinds = Counter(doc_id[-1] for doc_id in wordnet_full.corpus)
    assert kinds == {"n": 82_115, "v": 13_767, "s": 10_693, "a": 7_463, "r": 3_621}


@pytest.mark.assets
def test_wordnet_known_entries(wordnet_full: Collection):
    assert wordnet_full.corpus["03992509-n"].text == (
        "potter's wheel: a horizontal rotating wheel holding the clay being shaped by a potter"
    )
    assert (
        wordnet_full.queries["03992509-n.0"] == "the potter's wheel was invented in Asia Minor around 6500 BC"
    )
    assert wordnet_full.qrels["train"]["03992509-n.0"] == {"03992509-n": 1}
    # a satellite with a syntactic marker, whose examples are too short to be queries
    assert wordnet_full.corpus["00014358-s"].text == "abounding, galore: existing in abundance"
    assert not any(qid.startswith("00014358-s.") for qid in wordnet_full.queries)
    # 0x10 = 16 words
    assert wordnet_full.corpus["00044149-v"].text.startswith(
        "overdress, dress up, fig out, fig up, deck up, "
    )
    assert wordnet_full.corpus["00044149-v"].text.split(":")[0].count(",") == 15


@pytest.mark.assets
def test_wordnet_queries_and_documents_are_clean(wordnet_full: Collection):
    id_pattern = re.compile(r"\d{8}-[nvasr]")
    assert all(id_pattern.fullmatch(doc_id) for doc_id in wordnet_full.corpus)
    assert all(len(text.split()) >= 3 for text in wordnet_full.queries.values())
    texts = [doc.text for doc in wordnet_full.corpus.values()]
    assert not [t for t in texts if '"' in t or t != t.strip() or t[-1] in ";:," or "  " in t]


@pytest.mark.assets
def test_no_synset_has_queries_in_two_splits(wordnet_full: Collection):
    relevant = {}
    for split, judged in wordnet_full.qrels.items():
        for qid, grades in judged.items():
            assert grades == {qid.rsplit(".", 1)[0]: 1}  # a query's one relevant document is its synset
            relevant.setdefault(split, set()).update(grades)
    assert not relevant["train"] & relevant["dev"]
    assert not relevant["train"] & relevant["test"]
    assert not relevant["dev"] & relevant["test"]


def _index_senses(wordnet_dir: Path, corpus: dict) -> dict[tuple[str, str], set[str]]:
    """(pos, lemma) -> synset ids, read from the index.<pos> files (independently of the data files)."""
    senses = {}
    for pos, letter in (("noun", "n"), ("verb", "v"), ("adj", "a"), ("adv", "r")):
        for line in (wordnet_dir / f"index.{pos}").read_text("utf-8").splitlines():
            if line.startswith("  "):
                continue
            fields = line.split()
            offsets = fields[-int(fields[2]) :]
            ids = set()
            for offset in offsets:
                candidates = [f"{offset}-{letter}"] + ([f"{offset}-s"] if letter == "a" else [])
                ids.update(c for c in candidates if c in corpus)
            assert len(ids) == len(offsets)
            senses[(letter, fields[0])] = ids
    return senses


@pytest.mark.assets
def test_wordnet_small_invariants(
    wordnet_small: Collection, wordnet_full: Collection, wordnet_synsets: list[Synset], wordnet_dir: Path
):
    corpus = set(wordnet_small.corpus)
    assert len(corpus) == 20_000
    assert {doc_id: wordnet_full.corpus[doc_id] for doc_id in corpus} == wordnet_small.corpus
    for split in ("dev", "test"):
        assert wordnet_small.qrels[split] == wordnet_full.qrels[split]
    targets = {d for split in ("dev", "test") for g in wordnet_small.qrels[split].values() for d in g}
    assert len(targets) == 6_123
    assert targets <= corpus
    # every other sense (same part of speech) of every lemma of a target, per index.<pos>
    senses = _index_senses(wordnet_dir, wordnet_full.corpus)
    lemmas = {s.id: s.lemmas for s in wordnet_synsets}
    for target in targets:
        pos = "a" if target[-1] == "s" else target[-1]
        for lemma in lemmas[target]:
            siblings = senses[(pos, lemma.lower().replace(" ", "_"))]
            assert target in siblings
            assert siblings <= corpus, (target, lemma, siblings - corpus)
    # the train queries are exactly those whose relevant document is in the subset
    expected_train = {q: g for q, g in wordnet_full.qrels["train"].items() if set(g) <= corpus}
    assert wordnet_small.qrels["train"] == expected_train
    assert wordnet_small.stats()["splits"] == {
        "train": {"queries": 14_192, "judged_pairs": 14_192},
        "dev": {"queries": 4_363, "judged_pairs": 4_363},
        "test": {"queries": 4_335, "judged_pairs": 4_335},
    }
    assert len(wordnet_small.queries) == 14_192 + 4_363 + 4_335


@pytest.mark.assets
def test_wordnet_small_is_stable(wordnet_synsets, wordnet_full: Collection, wordnet_small: Collection):
    again = wordnet.wordnet_small_collection(list(reversed(wordnet_synsets)), wordnet_full)
    assert set(again.corpus) == set(wordnet_small.corpus)
    assert again.fingerprint == wordnet_small.fingerprint


def test_the_split_of_a_synset_is_the_same_in_every_process_and_follows_sha256():
    ids = [f"{i:08d}-n" for i in range(0, 5000, 97)]
    code = f"from daft.collections.wordnet import split_of; print([split_of(i) for i in {ids!r}])"
    first, second = under_hash_seeds(code)
    buckets = [int(hashlib.sha256(i.encode()).hexdigest()[:16], 16) % 10 for i in ids]
    want = ["train" if b < 8 else "dev" if b == 8 else "test" for b in buckets]
    assert first == second == f"{want}\n"
