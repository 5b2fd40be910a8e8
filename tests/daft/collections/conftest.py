"""Fixtures for the collection tests: the real WordNet database, parsed and built once per test run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from daft.collections import wordnet
from daft.collections.collection import Collection

# The tests go through the `wordnet-3.0` asset (fetched into the cache once); DAFT_WORDNET_DIR points them
# at another unpacked WordNet 3.0 database instead.


@pytest.fixture(scope="session")
def wordnet_dir() -> Path:
    """A WordNet 3.0 database directory (data.*, index.*)."""
    if env := os.environ.get("DAFT_WORDNET_DIR"):
        return Path(env)
    return wordnet.source_dir()


@pytest.fixture(scope="session")
def wordnet_synsets(wordnet_dir: Path) -> list[wordnet.Synset]:
    """All parsed synsets."""
    return wordnet.parse_wordnet(wordnet_dir)


@pytest.fixture(scope="session")
def wordnet_full(wordnet_synsets: list[wordnet.Synset]) -> Collection:
    """The `wordnet` collection, built in memory."""
    return wordnet.wordnet_collection(wordnet_synsets)


@pytest.fixture(scope="session")
def wordnet_small(wordnet_synsets: list[wordnet.Synset], wordnet_full: Collection) -> Collection:
    """The `wordnet-small` collection, built in memory."""
    return wordnet.wordnet_small_collection(wordnet_synsets, wordnet_full)


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache (`DAFT_CACHE`) for this test."""
    root = tmp_path / "cache"
    monkeypatch.setenv("DAFT_CACHE", str(root))
    return root
