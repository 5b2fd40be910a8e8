"""A pair exported as a sentence-transformers Router model loads with plain SentenceTransformer(DIR)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from daft.__main__ import main
from daft.core.errors import UserError
from daft.export.st_export import CHECK_TEXTS, export, max_abs_difference
from daft.models.build import build
from daft.models.pair import EncoderPair, load_pair


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def pair_dir(tiny_model_dir: Path, tiny_tokenizer_dir: Path, tmp_path: Path) -> Path:
    """An asymmetric pair: a static L0 query side projected to 32-d, a tiny BERT document side."""
    query = build({"arch": {"hidden": 24}, "type": "static", "tokenizer": str(tiny_tokenizer_dir), "dim": 32})
    doc = build({"model": str(tiny_model_dir), "pooling": "mean"})
    EncoderPair(query, doc).save(tmp_path / "pair")
    return tmp_path / "pair"


def test_exported_pair_gives_the_same_vectors_per_route(pair_dir: Path, tmp_path: Path) -> None:
    from sentence_transformers import SentenceTransformer

    pair = load_pair(pair_dir)
    export(pair, tmp_path / "st")
    modules = json.loads((tmp_path / "st" / "modules.json").read_text())
    assert [m["type"].rsplit(".", 1)[-1] for m in modules] == ["Router"]
    model = SentenceTransformer(str(tmp_path / "st"), device="cpu", local_files_only=True)
    texts = list(CHECK_TEXTS)
    queries, documents = model.encode_query(texts), model.encode_document(texts)
    assert np.abs(queries - pair.query.encode(texts)).max() < 1e-5
    assert np.abs(documents - pair.doc.encode(texts)).max() < 1e-5
    # The routes really differ: each side went to its own encoder.
    assert np.abs(queries - documents).max() > 0.1
    assert max_abs_difference(pair, tmp_path / "st") < 1e-5


def test_cli_exports_and_reports_the_difference(pair_dir: Path, tmp_path: Path, capsys) -> None:
    assert main(["export", str(pair_dir), "--sentence-transformers", str(tmp_path / "st")]) == 0
    assert "max abs diff" in capsys.readouterr().err
    assert (tmp_path / "st" / "modules.json").is_file()
    # A non-empty target is refused, and so is asking for no format or both.
    assert main(["export", str(pair_dir), "--sentence-transformers", str(tmp_path / "st")]) == 2
    assert main(["export", str(pair_dir)]) == 2


def test_a_non_empty_directory_is_refused(pair_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(UserError, match="not empty"):
        export(load_pair(pair_dir), tmp_path / "full")


def test_an_exported_folder_and_its_files_have_the_users_modes(pair_dir: Path, tmp_path: Path) -> None:
    import os

    umask = os.umask(0o022)
    try:
        assert main(["export", str(pair_dir), "--sentence-transformers", str(tmp_path / "st")]) == 0
    finally:
        os.umask(umask)
    found = [tmp_path / "st", *(tmp_path / "st").rglob("*")]
    assert {oct(p.stat().st_mode & 0o777) for p in found if p.is_dir()} == {"0o755"}
    assert {oct(p.stat().st_mode & 0o777) for p in found if p.is_file()} == {"0o644"}
