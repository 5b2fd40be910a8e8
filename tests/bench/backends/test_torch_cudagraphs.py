"""`torch-cudagraphs`: excluded with a reason on cpu; on CUDA, fixed shapes and parity with torch fp32."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.backends import Target, parity, prepare
from bench.plan import exclusion
from daft.core.errors import UserError
from daft.models.encoders import Encoder
from tests.bench.backends.support import TEXTS, needs_cuda, reference


def test_cpu_cells_are_excluded_with_the_reason() -> None:
    assert exclusion("torch-cudagraphs", "cpu", "fp32") == "CUDA graphs are a CUDA feature"
    assert exclusion("torch-cudagraphs", "cuda", "bf16") is None


def test_preparing_on_cpu_is_a_user_error(tiny_bert: Encoder, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="torch-cudagraphs: CUDA graphs are a CUDA feature; got device 'cpu'"):
        prepare(tiny_bert, Target("torch-cudagraphs"), workdir=tmp_path)


@pytest.mark.slow
@needs_cuda
def test_cuda_parity_with_fixed_shapes(tiny_bert: Encoder, tmp_path: Path) -> None:
    target = Target("torch-cudagraphs", device="cuda", max_length=16)
    with prepare(tiny_bert, target, workdir=tmp_path) as prepared:
        assert (
            prepared.info["padding"] == "max_length" and prepared.info["compile"]["mode"] == "reduce-overhead"
        )
        assert prepared.tokenize(list(TEXTS))["input_ids"].shape == (len(TEXTS), 16)
        for _ in range(3):  # the first calls record the graph; later ones replay it
            assert parity(prepared, reference(tiny_bert), TEXTS) < 1e-4
