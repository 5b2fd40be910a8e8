"""Sharded corpus encoding: slices tile the corpus; 2 processes under torchrun (gloo) equal one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.documents import embeddings
from bench.documents.sharded import bounds, encode_sharded, shards_dir
from daft import collections
from daft.core.distributed import World
from daft.models.build import build

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def varied_beir(tmp_path: Path) -> Path:
    """41 documents of 1 to 30 words (an odd count, and lengths that batch differently per shard)."""
    words = [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "theta",
        "kappa",
        "lambda",
        "sigma",
        "omega",
        "river",
        "bank",
        "stone",
    ]
    folder = tmp_path / "beir"
    (folder / "qrels").mkdir(parents=True)
    docs = {
        f"d{i:02d}": " ".join(words[(i + j) % len(words)] for j in range(1 + (i * 7) % 30)) for i in range(41)
    }
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": d, "text": t}) + "\n" for d, t in docs.items())
    )
    (folder / "queries.jsonl").write_text(json.dumps({"_id": "q0", "text": "river bank"}) + "\n")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq0\td01\t1\n")
    return folder


@pytest.mark.parametrize("n", [0, 1, 5, 41])
@pytest.mark.parametrize("size", [1, 2, 3])
def test_slices_are_contiguous_and_tile_the_corpus(n: int, size: int) -> None:
    slices = [bounds(n, World(rank=r, size=size)) for r in range(size)]
    assert slices[0][0] == 0 and slices[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(slices, slices[1:], strict=False))


def test_one_process_writes_the_entry_the_suite_reads(
    varied_beir: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "cache"))
    encoder, collection = build({"model": str(tiny_model_dir)}), collections.load(str(varied_beir))
    assert encode_sharded(encoder, collection, World(), max_length=16, batch_size=4).status == "built"
    assert not shards_dir(encoder, collection, 16).exists()
    _, _, status = embeddings.doc_embeddings(encoder, collection, max_length=16)
    assert status == "cached"
    assert encode_sharded(encoder, collection, World(), max_length=16).status == "cached"


@pytest.mark.slow
def test_two_processes_under_torchrun_equal_one(
    varied_beir: Path, tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache_dir = tmp_path / "cache"
    env = {
        **os.environ,
        "DAFT_CACHE": str(cache_dir),
        "PYTHONPATH": str(ROOT),
        "OMP_NUM_THREADS": "1",
        "HF_HUB_OFFLINE": "1",
    }
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    command += ["-m", "bench", "encode", str(varied_beir), "--model", str(tiny_model_dir)]
    command += ["--max-length", "16", "--batch-size", "4"]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "41 document embeddings built by 2 process(es)" in done.stderr
    monkeypatch.setenv("DAFT_CACHE", str(cache_dir))
    encoder, collection = build({"model": str(tiny_model_dir)}), collections.load(str(varied_beir))
    ids, sharded, status = embeddings.doc_embeddings(encoder, collection, max_length=16)
    assert status == "cached" and ids == sorted(collection.corpus)
    single = embeddings.encode_texts(
        encoder,
        [collection.corpus[d].full_text for d in ids],
        max_length=16,
        batch_size=4,
        device=None,
        label="",
    )
    assert np.abs(sharded - single).max() <= 1e-6
