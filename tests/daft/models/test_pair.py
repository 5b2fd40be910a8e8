"""Pair folders: a saved pair loads back; every malformation is one line naming the file, exit 2."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from daft.__main__ import main
from daft.core.errors import UserError
from daft.models.build import build
from daft.models.pair import EncoderPair, load_pair


@pytest.fixture(scope="module")
def saved_pair(
    tiny_tokenizer_dir: Path, tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A static 16-d query encoder projected to 32-d, and a tiny 32-wide BERT document encoder."""
    query = build({"type": "static", "arch": {"hidden": 16}, "tokenizer": str(tiny_tokenizer_dir), "dim": 32})
    doc = build({"model": str(tiny_model_dir)})
    directory = tmp_path_factory.mktemp("pair") / "pair"
    EncoderPair(query, doc, {"method": "test"}).save(directory)
    return directory


def test_a_saved_pair_loads_back(saved_pair: Path) -> None:
    pair = load_pair(saved_pair)
    assert pair.query.encode(["potter wheel"]).shape == (1, 32)
    assert pair.doc.encode(["river bank"]).shape == (1, 32)


def _resave(path: Path, edit: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]) -> None:
    save_file(edit(load_file(path)), path, metadata={"format": "pt"})


def _pickle_doc(directory: Path) -> None:
    weights = directory / "doc" / "model.safetensors"
    torch.save(load_file(weights), directory / "doc" / "pytorch_model.bin")
    weights.unlink()


CASES: dict[str, tuple[Callable[[Path], object], str, str]] = {
    # name: (damage, the file the message names, what it says)
    "projection of the wrong shape": (
        lambda d: save_file({"weight": torch.randn(32, 20)}, d / "query/projection.safetensors"),
        "query/projection.safetensors",
        r"weight is \(32, 20\), but the encoder gives 16-d vectors",
    ),
    "static table smaller than the vocabulary": (
        lambda d: _resave(
            d / "query/static.safetensors", lambda w: {"embedding.weight": w["embedding.weight"][:8]}
        ),
        "query/static.safetensors",
        r"the token embedding table has 8 rows, fewer than the tokenizer's \d+",
    ),
    "wrong tensor key (static)": (
        lambda d: _resave(d / "query/static.safetensors", lambda w: {"table": w["embedding.weight"]}),
        "query/static.safetensors",
        r"no tensor 'embedding.weight' \(it holds: table\)",
    ),
    "wrong tensor key (transformer)": (
        lambda d: _resave(d / "doc/model.safetensors", lambda w: {f"bert.x.{k}": v for k, v in w.items()}),
        "doc/model.safetensors",
        r"no tensor '[\w.]+' \(\d+ of the model's weights are missing\)",
    ),
    "garbage safetensors": (
        lambda d: (d / "query/static.safetensors").write_bytes(b"not a safetensors file at all"),
        "query/static.safetensors",
        r"not a readable safetensors file",
    ),
    "garbage transformer weights": (
        lambda d: (d / "doc/model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{garbage"),
        "doc/model.safetensors",
        r"not a readable safetensors file",
    ),
    "pickle .bin on one side": (
        _pickle_doc,
        "doc/pytorch_model.bin",
        r"pickle weights are never loaded",
    ),
    "pair.json that is a list": (
        lambda d: (d / "pair.json").write_text("[1, 2]"),
        "pair.json",
        r"expected a JSON object, got list",
    ),
    "daft_encoder.json that is a list": (
        lambda d: (d / "doc/daft_encoder.json").write_text("[]"),
        "doc/daft_encoder.json",
        r"expected a JSON object, got list",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed_pair_is_one_line_naming_the_file(
    case: str, saved_pair: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    damage, culprit, says = CASES[case]
    directory = tmp_path / "pair"
    shutil.copytree(saved_pair, directory)
    damage(directory)
    with pytest.raises(UserError, match=rf"^{directory / culprit}: {says}"):
        load_pair(directory)
    side = "doc" if culprit.startswith("doc/") else "query"
    assert main(["export", str(directory), "--onnx", "--side", side]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {directory / culprit}: ") and err.count("\n") == 1, err


def test_a_saved_pairs_files_have_the_users_modes(tiny_model_dir: Path, tmp_path: Path) -> None:
    import os

    umask = os.umask(0o027)
    try:
        pair = EncoderPair(
            build({"type": "static", "model": str(tiny_model_dir)}), build({"model": str(tiny_model_dir)}), {}
        )
        pair.save(tmp_path / "pair")
    finally:
        os.umask(umask)
    weights = sorted((tmp_path / "pair").rglob("*.safetensors"))
    assert len(weights) == 2 and {oct(p.stat().st_mode & 0o777) for p in weights} == {"0o640"}
