"""Fixtures for the backend tests: two tiny random encoders and a private cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from daft.models.encoders import Encoder
from daft.store import assets
from tests.bench.backends.support import BERT, STATIC, make


@pytest.fixture(scope="session")
def tokenizer_dir() -> Path:
    """The minilm-l6 asset directory, resolved once (before any test points DAFT_CACHE elsewhere)."""
    return assets.ensure("minilm-l6")


@pytest.fixture(scope="session")
def tiny_bert(tokenizer_dir: Path) -> Encoder:
    """A 2-layer, 32-wide random BERT with mean pooling (shared: tests must not modify it)."""
    return make(BERT, tokenizer_dir)


@pytest.fixture(scope="session")
def tiny_static(tokenizer_dir: Path) -> Encoder:
    """A random 32-wide static (L0) encoder (shared: tests must not modify it)."""
    return make(STATIC, tokenizer_dir)


@pytest.fixture(params=["bert", "static"])
def encoder(request: pytest.FixtureRequest, tiny_bert: Encoder, tiny_static: Encoder) -> Encoder:
    """Each tiny encoder in turn."""
    return tiny_bert if request.param == "bert" else tiny_static


@pytest.fixture(autouse=True)
def private_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Point the daft cache (where the ONNX graphs go) at a per-test directory."""
    root = tmp_path / "cache"
    monkeypatch.setenv("DAFT_CACHE", str(root))
    return root
