"""The `torch` backend: parity with `Encoder.embed`, thread handling, the caller's encoder left alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bench.backends import Target, parity, prepare
from daft.core.errors import UserError
from daft.models.encoders import Encoder
from tests.bench.backends.support import BERT, TEXTS, assert_unit_rows, make, needs_cuda, reference


def test_parity_with_embed_on_cpu(encoder: Encoder, tmp_path: Path) -> None:
    with prepare(encoder, Target("torch"), workdir=tmp_path) as prepared:
        inputs = prepared.tokenize(TEXTS)
        assert set(inputs) == set(encoder.input_names)
        rows = prepared.fetch(prepared.forward(inputs))
        assert rows.dtype == np.float32 and rows.shape == (len(TEXTS), encoder.dim)
        assert_unit_rows(rows)
        assert np.abs(rows - reference(encoder)).max() < 1e-6
        assert prepared.info["weights_sha256"] and prepared.info["dtype"] == "fp32"


def test_padding_to_max_length(encoder: Encoder, tmp_path: Path) -> None:
    target = Target("torch", padding="max_length", max_length=40)
    with prepare(encoder, target, workdir=tmp_path) as prepared:
        assert prepared.tokenize(TEXTS)["input_ids"].shape == (len(TEXTS), 40)
        # Padding is masked out, so the vectors match the reference padded to the longest text.
        assert parity(prepared, reference(encoder), TEXTS) < 1e-5


def test_threads_are_set_and_restored(tiny_bert: Encoder, tmp_path: Path) -> None:
    before = torch.get_num_threads()
    wanted = 2 if before == 1 else 1
    prepared = prepare(tiny_bert, Target("torch", threads=wanted), workdir=tmp_path)
    assert torch.get_num_threads() == wanted and prepared.info["threads"] == wanted
    prepared.close()
    assert torch.get_num_threads() == before


def test_activate_restores_each_prepareds_threads_and_closing_last_first_unwinds(
    tiny_bert: Encoder, tmp_path: Path
) -> None:
    before = torch.get_num_threads()
    one = prepare(tiny_bert, Target("torch", threads=1), workdir=tmp_path)
    two = prepare(tiny_bert, Target("torch", threads=2), workdir=tmp_path)
    assert torch.get_num_threads() == 2
    one.activate()  # interleaved rounds visit one's cells after two was prepared
    assert torch.get_num_threads() == 1
    two.activate()
    assert torch.get_num_threads() == 2
    two.close()
    one.close()
    assert torch.get_num_threads() == before


def test_default_threads_leave_the_setting_alone(tiny_bert: Encoder, tmp_path: Path) -> None:
    before = torch.get_num_threads()
    for threads in (None, 0):
        with prepare(tiny_bert, Target("torch", threads=threads), workdir=tmp_path) as prepared:
            assert torch.get_num_threads() == before == prepared.info["threads"]


def test_caller_encoder_mode_is_restored(tokenizer_dir: Path, tmp_path: Path) -> None:
    encoder = make(BERT, tokenizer_dir).train()
    with prepare(encoder, Target("torch"), workdir=tmp_path) as prepared:
        assert not encoder.training  # shared on CPU fp32, and dropout must be off while timing
        assert parity(prepared, reference(encoder.eval()), TEXTS) < 1e-6
        encoder.train()
    assert encoder.training


@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
def test_half_precision_on_cpu_is_refused(tiny_bert: Encoder, tmp_path: Path, dtype: str) -> None:
    with pytest.raises(UserError, match=f"dtype {dtype} on cpu is not supported"):
        prepare(tiny_bert, Target("torch", dtype=dtype), workdir=tmp_path)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised when CUDA is absent")
def test_cuda_without_cuda_is_a_user_error(tiny_bert: Encoder, tmp_path: Path) -> None:
    before = torch.get_num_threads()
    with pytest.raises(UserError, match="torch sees no CUDA device"):
        prepare(tiny_bert, Target("torch", device="cuda", threads=1), workdir=tmp_path)
    assert torch.get_num_threads() == before


@needs_cuda
@pytest.mark.parametrize(("dtype", "tolerance"), [("fp32", 1e-4), ("fp16", 1e-2), ("bf16", 5e-2)])
def test_cuda_parity_timer_and_untouched_caller(
    encoder: Encoder, tmp_path: Path, dtype: str, tolerance: float
) -> None:
    with prepare(encoder, Target("torch", device="cuda", dtype=dtype), workdir=tmp_path) as prepared:
        inputs = prepared.tokenize(TEXTS)
        assert all(t.device.type == "cuda" for t in inputs.values())
        assert prepared.cuda_timer is not None
        prepared.cuda_timer.start()
        output = prepared.forward(inputs)
        prepared.cuda_timer.stop()
        rows = prepared.fetch(output)
        assert prepared.cuda_timer.elapsed_ns() > 0
        assert rows.dtype == np.float32 and rows.shape == (len(TEXTS), encoder.dim)
        assert_unit_rows(rows, atol=tolerance)
        assert np.abs(rows - reference(encoder)).max() < tolerance
        assert prepared.info["device"].startswith("cuda") and prepared.info["dtype"] == dtype
    parameter = next(encoder.parameters())
    assert parameter.device.type == "cpu" and parameter.dtype == torch.float32
