"""The GPU pack: what a grid needs, the size limit, fp16 weights and their restoration, the sealed folder."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from daft.core.errors import UserError
from daft.gpu import pack as P
from daft.gpu import unpack as U
from daft.gpu.grid import FULL, SMOKE
from daft.store import cache

ROOT = Path(__file__).resolve().parents[3]


def test_the_full_grid_needs_minilm_wordnet_and_one_set_of_negatives() -> None:
    needs = P.needs(FULL, ROOT)
    assert needs == P.Needs(("minilm-l6",), ("wordnet",), (("wordnet", "train", 8, 100, 0.9, 0.4, 0),))
    assert P.needs(SMOKE, ROOT).models == ("bert-l2-h128",)


@pytest.fixture
def empty_grid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A grid that needs nothing (no assets, collections, negatives or wheels), in a cache of its own."""
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(P, "needs", lambda grid, root: P.Needs((), (), ()))
    monkeypatch.setattr(P, "WHEELS", {"3.12": ()})
    return tmp_path


def test_a_pack_over_the_limit_is_refused_and_leaves_the_old_one(empty_grid: Path) -> None:
    directory = empty_grid / "pack"
    meta = P.pack(directory, "full", root=ROOT)
    assert meta["sizes"]["tree"] == P.tree_size(ROOT) > 0
    assert cache.check(directory) is None and U.read_pack(directory)["grid"] == "full"
    with pytest.raises(
        UserError, match=r"pack: the pack \(0\.0 MiB\) and the working tree of .* over the 1\.0 MiB"
    ):
        P.pack(directory, "smoke", root=ROOT, limit=2**20)
    assert U.read_pack(directory)["grid"] == "full"  # the complete pack that was there stays
    assert not list(empty_grid.glob(".*.building"))  # the refused one left nothing behind


def test_a_folder_that_is_not_a_pack_is_not_replaced(empty_grid: Path) -> None:
    (empty_grid / "mine").mkdir()
    (empty_grid / "mine" / "notes.txt").write_text("keep", "utf-8")
    with pytest.raises(UserError, match="mine: exists and is not a GPU pack"):
        P.pack(empty_grid / "mine", "full", root=ROOT)


def test_a_modified_or_foreign_pack_is_refused(empty_grid: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = empty_grid / "pack"
    P.pack(directory, "full", root=ROOT)
    (directory / P.CACHE_ARCHIVE).write_bytes(b"changed")
    with pytest.raises(UserError, match=r"not a complete GPU pack \(cache\.tar\.xz has 7 bytes"):
        U.read_pack(directory)
    P.pack(directory, "full", root=ROOT)
    seal = json.loads((directory / cache.SEAL).read_text("utf-8"))
    seal["meta"]["wheels"] = ["x.whl"]
    (directory / cache.SEAL).write_text(json.dumps(seal), "utf-8")
    monkeypatch.setattr(P, "current_python", lambda: "3.11")
    monkeypatch.setattr(U, "current_python", lambda: "3.11")
    with pytest.raises(
        UserError, match="wheels are for Python 3.12, this is Python 3.11; pack again with --python 3.11"
    ):
        U.read_pack(directory)


def test_weights_travel_as_fp16_and_come_back_in_their_dtypes(tmp_path: Path) -> None:
    source = tmp_path / "model"
    source.mkdir()
    weights = {"w": torch.randn(64, 8) * 3, "ids": torch.arange(5), "b": torch.randn(8, dtype=torch.float64)}
    save_file(weights, source / P.WEIGHTS)
    (source / "config.json").write_text("{}", "utf-8")
    info = P._pack_model(source, tmp_path / "packed")
    packed = load_file(tmp_path / "packed" / P.WEIGHTS)
    assert {k: v.dtype for k, v in packed.items()} == {
        "w": torch.float16,
        "ids": torch.int64,
        "b": torch.float16,
    }
    assert info["dtypes"] == {"w": "float32", "ids": "int64", "b": "float64"}
    assert 0 < info["max_abs_rounding"] < 3 * 2**-10 * 4  # fp16 keeps 11 significant bits
    U._restore_model(tmp_path / "packed", tmp_path / "restored", info["dtypes"], "model")
    restored = load_file(tmp_path / "restored" / P.WEIGHTS)
    assert {k: v.dtype for k, v in restored.items()} == {k: v.dtype for k, v in weights.items()}
    assert torch.equal(restored["ids"], weights["ids"])
    assert (restored["w"] - weights["w"]).abs().max().item() == pytest.approx(
        info["max_abs_rounding"], rel=0.5
    )
    assert cache.check(tmp_path / "restored") is None and (tmp_path / "restored" / "config.json").is_file()


def test_weights_beyond_fp16_cannot_travel(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    save_file({"w": torch.tensor([1.0, 1e6])}, tmp_path / "model" / P.WEIGHTS)
    with pytest.raises(UserError, match="w holds values beyond float16's range"):
        P._pack_model(tmp_path / "model", tmp_path / "packed")


def test_the_tree_that_travels_is_what_git_does_not_ignore(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("/.gpu/\n", "utf-8")
    (tmp_path / "tracked.txt").write_text("x" * 100, "utf-8")
    (tmp_path / ".gpu").mkdir()
    (tmp_path / ".gpu" / "big").write_bytes(b"x" * 10_000)
    (tmp_path / "staging").mkdir()
    (tmp_path / "staging" / "part").write_bytes(b"x" * 1_000)
    assert P.tree_size(tmp_path) == 100 + 1_000 + len("/.gpu/\n")
    assert P.tree_size(tmp_path, exclude=(tmp_path / "staging",)) == 100 + len("/.gpu/\n")
