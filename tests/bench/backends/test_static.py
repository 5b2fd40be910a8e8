"""The `static` / `static-cold` backends: numpy L0 with parity to torch, the word cache, one-line errors."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from bench.backends import Target, parity, prepare
from bench.backends.base import WarmTexts
from bench.plan import refusal
from bench.queries import load_queries
from bench.specs import EncoderSpec
from daft.core.errors import UserError
from daft.models.encoders import Encoder
from tests.bench.backends.support import STATIC, TEXTS, assert_unit_rows, make, reference


@pytest.mark.parametrize("backend", ["static", "static-cold"])
def test_parity_with_torch_fp32(tiny_static: Encoder, tmp_path: Path, backend: str) -> None:
    with prepare(tiny_static, Target(backend), workdir=tmp_path) as prepared:
        rows = prepared.fetch(prepared.forward(prepared.tokenize(list(TEXTS))))
        assert rows.dtype == np.float32 and rows.shape == (len(TEXTS), 32)
        assert_unit_rows(rows)
        assert parity(prepared, reference(tiny_static), TEXTS) < 1e-6


def test_parity_with_a_projection(tokenizer_dir: Path, tmp_path: Path) -> None:
    projected = make({**STATIC, "dim": 8}, tokenizer_dir)
    with prepare(projected, Target("static"), workdir=tmp_path) as prepared:
        assert prepared.info["projection"] is True
        assert parity(prepared, reference(projected), TEXTS) < 1e-6


def test_truncation_matches_torch(tiny_static: Encoder, tmp_path: Path) -> None:
    texts = ("a very long query " * 20, "short")
    with prepare(tiny_static, Target("static", max_length=4), workdir=tmp_path) as prepared:
        want = tiny_static.embed(**tiny_static.tokenize(list(texts), max_length=4)).detach().numpy()
        assert parity(prepared, want, texts) < 1e-6


def test_the_frozen_cache_reports_hits_and_never_learns(tiny_static: Encoder, tmp_path: Path) -> None:
    with prepare(tiny_static, Target("static"), workdir=tmp_path) as prepared:
        assert prepared.info["word_cache"]["words"] == 0  # no warm source given
        prepared.tokenize(["the cat", "the cat"])
        stats = prepared.cache_stats()
        assert (stats["words"], stats["word_hit_rate"], stats["size"]) == (4, 0.0, 0)
    with prepare(tiny_static, Target("static-cold"), workdir=tmp_path) as prepared:
        assert prepared.info["word_cache"] is None and prepared.cache_stats() is None


def test_a_missing_warm_source_leaves_the_cache_empty_and_says_why(
    tiny_static: Encoder, tmp_path: Path
) -> None:
    missing = str(tmp_path / "nowhere") + ":train"
    warm = WarmTexts(missing, functools.partial(load_queries, missing, None, limit=10**9))
    with prepare(tiny_static, Target("static", warm=warm), workdir=tmp_path) as prepared:
        warmed = prepared.info["word_cache"]["warmed_from"]
        assert warmed["texts"] == 0 and "starts empty" in warmed["note"]


@pytest.mark.parametrize("backend", ["static", "static-cold", "torch"])
def test_text_without_tokens_is_a_user_error(tiny_static: Encoder, tmp_path: Path, backend: str) -> None:
    with (
        prepare(tiny_static, Target(backend), workdir=tmp_path) as prepared,
        # the word cache's path names the position; the others the text itself
        pytest.raises(
            UserError, match=r"(position 1 of the batch|text '\\x00\\u200b\\x07') yields no tokens"
        ),
    ):
        prepared.tokenize(["fine", "\x00\u200b\x07"])


def test_a_transformer_is_refused(tiny_bert: Encoder, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="static runs static encoders only"):
        prepare(tiny_bert, Target("static"), workdir=tmp_path)
    assert refusal(EncoderSpec("m", model="m"), "static") == "static runs static encoders only"
    assert refusal(EncoderSpec("s", type="static", model="m"), "static") is None


def test_cpu_fp32_only(tiny_static: Encoder, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="runs on cpu in fp32 only"):
        prepare(tiny_static, Target("static", device="cuda"), workdir=tmp_path)


@pytest.mark.parametrize("backend", ["static", "static-cold"])
def test_one_text_at_a_time_matches_torch(tiny_static: Encoder, tmp_path: Path, backend: str) -> None:
    # Batch 1 takes its own numpy path (the headline L0 figure): each text alone, every token counted.
    with prepare(tiny_static, Target(backend), workdir=tmp_path) as prepared:
        for text in TEXTS:
            assert parity(prepared, reference(tiny_static, (text,)), (text,)) < 1e-6, text
