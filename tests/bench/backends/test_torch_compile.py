"""The `torch-compile` backend: parity after compiling, failures as UserErrors, global state restored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch._dynamo

from bench.backends import Target, parity, prepare
from daft.core.errors import UserError
from daft.models.encoders import Encoder
from tests.bench.backends.support import TEXTS, assert_unit_rows, needs_cuda, reference


@pytest.mark.slow
def test_parity_after_compiling_and_state_restored(tiny_bert: Encoder, tmp_path: Path) -> None:
    """Compiles twice (batch 5, then the batch-1 specialisation): about 10 s on 2 CPU cores."""
    before_threads = torch.get_num_threads()
    before_fail = torch._dynamo.config.fail_on_recompile_limit_hit
    with prepare(tiny_bert, Target("torch-compile", threads=1), workdir=tmp_path) as prepared:
        assert torch._dynamo.config.fail_on_recompile_limit_hit is True  # never a silent eager fallback
        rows = prepared.fetch(prepared.forward(prepared.tokenize(TEXTS)))
        assert_unit_rows(rows)
        assert np.abs(rows - reference(tiny_bert)).max() < 1e-5
        assert parity(prepared, reference(tiny_bert, TEXTS[:1]), TEXTS[:1]) < 1e-5
        assert prepared.info["compile"]["dynamic"] is True
    assert torch.get_num_threads() == before_threads
    assert torch._dynamo.config.fail_on_recompile_limit_hit == before_fail


def test_compile_failure_is_a_one_line_user_error(tiny_bert: Encoder, tmp_path: Path) -> None:
    with prepare(tiny_bert, Target("torch-compile"), workdir=tmp_path) as prepared:

        def broken(**_: torch.Tensor) -> torch.Tensor:
            raise torch._dynamo.exc.TorchDynamoException(
                "backend='inductor' raised:\nno C++ compiler\nlog..."
            )

        prepared.embed_fn = broken
        with pytest.raises(UserError) as caught:
            prepared.forward(prepared.tokenize(TEXTS))
    message = str(caught.value)
    assert message.startswith("torch-compile: compilation failed on this platform (TorchDynamoException")
    assert "no C++ compiler" in message and "\n" not in message


def test_other_errors_are_not_disguised(tiny_bert: Encoder, tmp_path: Path) -> None:
    with prepare(tiny_bert, Target("torch-compile"), workdir=tmp_path) as prepared:

        def buggy(**_: torch.Tensor) -> torch.Tensor:
            raise KeyError("input_ids")

        prepared.embed_fn = buggy
        with pytest.raises(KeyError):
            prepared.forward(prepared.tokenize(TEXTS))


@pytest.mark.parametrize("dtype", ["fp16", "bf16"])
def test_half_precision_on_cpu_is_refused(tiny_bert: Encoder, tmp_path: Path, dtype: str) -> None:
    with pytest.raises(UserError, match=f"torch-compile: dtype {dtype} on cpu is not supported"):
        prepare(tiny_bert, Target("torch-compile", dtype=dtype), workdir=tmp_path)


@pytest.mark.slow
@needs_cuda
@pytest.mark.parametrize(("dtype", "tolerance"), [("fp32", 1e-4), ("fp16", 1e-2)])
def test_cuda_parity(tiny_bert: Encoder, tmp_path: Path, dtype: str, tolerance: float) -> None:
    with prepare(
        tiny_bert, Target("torch-compile", device="cuda", dtype=dtype), workdir=tmp_path
    ) as prepared:
        assert prepared.cuda_timer is not None
        assert parity(prepared, reference(tiny_bert), TEXTS) < tolerance
