"""Fixtures shared by the daft and bench tests: tiny, offline, made in the test session."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from daft.store import cache

# Where a test session writes: a private folder of its own, never the user's cache (`~/.cache/daft`, the
# Hugging Face and XDG caches) nor `/tmp/pytest-of-<user>`; removed when the session ends.
_PRIVATE = Path(tempfile.mkdtemp(prefix="daft-tests-"))


def _share_assets(user_cache: Path, private_cache: Path) -> None:
    """Link each intact model asset of the user's cache into the private one: read, never written (a
    rebuild replaces the link in the private cache, not the entry it points to); others are fetched
    privately on first use."""
    entries = sorted(
        p for p in (user_cache / "assets").glob("*") if p.is_dir() and not p.name.startswith(".")
    )
    (private_cache / "assets").mkdir(parents=True, exist_ok=True)
    for entry in entries:
        if cache.check(entry) is None:
            (private_cache / "assets" / entry.name).symlink_to(entry, target_is_directory=True)


@pytest.hookimpl(tryfirst=True)  # before pytest's tmp_path plugin reads --basetemp
def pytest_configure(config: pytest.Config) -> None:
    if config.option.basetemp is None:
        config.option.basetemp = str(_PRIVATE / "tmp")
    user_cache = cache.cache_root()
    for variable, folder in (("DAFT_CACHE", "daft"), ("HF_HOME", "huggingface"), ("XDG_CACHE_HOME", "xdg")):
        os.environ[variable] = str(_PRIVATE / folder)
    _share_assets(user_cache, _PRIVATE / "daft")


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_PRIVATE, ignore_errors=True)


WORDS = [
    "a",
    "an",
    "the",
    "of",
    "to",
    "in",
    "on",
    "for",
    "with",
    "and",
    "or",
    "is",
    "was",
    "are",
    "be",
    "by",
    "at",
    "as",
    "it",
    "this",
    "that",
    "from",
    "query",
    "document",
    "potter",
    "wheel",
    "clay",
    "bank",
    "river",
    "money",
    "run",
    "walk",
    "fast",
    "slow",
    "quick",
    "brown",
    "fox",
    "dog",
    "cat",
    "jumps",
    "over",
    "lazy",
    "capital",
    "france",
    "paris",
    "city",
    "big",
    "small",
    "red",
    "green",
    "blue",
    "word",
    "sense",
    "meaning",
    "example",
    "spin",
    "shape",
    "hand",
    "tool",
    "music",
    "guitar",
    "play",
]


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A WordPiece tokenizer over ~70 words (+ specials), saved like any Hugging Face tokenizer."""
    from transformers import AutoTokenizer, BertTokenizer

    directory = tmp_path_factory.mktemp("tiny-tokenizer")
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *WORDS,
        *[f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"],
    ]
    vocab += list("abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'\"-")
    # transformers 5 builds the fast tokenizer from `vocab` (a dict); a `vocab_file` is silently ignored and
    # the result maps every word to [UNK].
    ids = {token: i for i, token in enumerate(dict.fromkeys(vocab))}
    BertTokenizer(vocab=ids, do_lower_case=True).save_pretrained(directory)
    if AutoTokenizer.from_pretrained(directory)("potter wheel")["input_ids"][1:3] != [
        ids["potter"],
        ids["wheel"],
    ]:
        raise RuntimeError("the tiny tokenizer does not know its own words")
    return directory


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_tokenizer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BertModel (1 layer, 32 wide) saved with its tokenizer, like a model asset."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    directory = tmp_path_factory.mktemp("tiny-model")
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    config = BertConfig(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
    )
    torch.manual_seed(0)
    BertModel(config, add_pooling_layer=False).save_pretrained(directory)
    tok.save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_beir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A BEIR folder: 40 three-word docs; each query repeats two words of its doc (train/dev/test)."""
    folder = tmp_path_factory.mktemp("tiny-beir")
    rng = random.Random(0)
    content = [w for w in WORDS if len(w) > 3]
    docs = {f"d{i}": rng.sample(content, 3) for i in range(40)}
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": d, "title": "", "text": " ".join(ws)}) + "\n" for d, ws in docs.items())
    )
    queries, splits = [], {"train": [], "dev": [], "test": []}
    for i, (doc_id, words) in enumerate(docs.items()):
        split = "train" if i < 24 else "dev" if i < 32 else "test"
        queries.append(json.dumps({"_id": f"q{i}", "text": " ".join(words[:2])}) + "\n")
        splits[split].append(f"q{i}\t{doc_id}\t1\n")
    (folder / "queries.jsonl").write_text("".join(queries))
    (folder / "qrels").mkdir()
    for split, lines in splits.items():
        (folder / "qrels" / f"{split}.tsv").write_text("query-id\tcorpus-id\tscore\n" + "".join(lines))
    return folder


def under_hash_seeds(code: str, seeds: tuple[str, ...] = ("1", "2")) -> list[str]:
    """What `code` prints in fresh interpreters, one per PYTHONHASHSEED: a hash that must be stable
    across processes cannot be shown stable by calling it twice in one."""
    return [
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in seeds
    ]


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has exited (what a killed run leaves in its staging names)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(proc.stdout)
