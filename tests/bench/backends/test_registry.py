"""The backend registry, target validation and `parity`, independent of any one backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

from bench.backends import Backend, Prepared, Target, names, parity, prepare, registry, unavailable
from bench.backends import backend as backend_spec
from daft.core.errors import UserError
from daft.models.encoders import Encoder
from tests.bench.backends.support import TEXTS, reference


def test_registry_names_the_backends_in_registration_order() -> None:
    assert names() == (
        "torch",
        "torch-compile",
        "torch-cudagraphs",
        "onnxruntime",
        "onnxruntime-int8",
        "static",
        "static-cold",
        "model2vec",
        "sentence-transformers",
    )
    for name, spec in registry().items():
        assert isinstance(spec, Backend) and spec.name == name
        assert spec.description and "\n" not in spec.description


def test_reading_the_registry_does_not_import_onnxruntime() -> None:
    code = (
        "import sys, bench.backends as b; "
        "assert b.registry() and b.unavailable('onnxruntime', 'cpu') is None; "
        "loaded = [m for m in sys.modules if m.startswith('onnxruntime')]; "
        "assert loaded == [], loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def test_backends_declare_their_own_special_cases() -> None:
    int8 = backend_spec("onnxruntime-int8")
    assert int8.exclusion("cuda", "fp32") == "dynamic int8 quantisation runs on the CPU provider"
    assert int8.parity_tolerance == 0.1 and backend_spec("onnxruntime").parity_tolerance == 0.0
    assert backend_spec("onnxruntime").exclusion("cuda", "bf16") == "onnxruntime runs fp32, fp16 on cuda"
    assert backend_spec("torch").exclusion("cuda:1", "bf16") is None


def test_a_backend_can_refuse_an_encoder_kind(tiny_bert: Encoder, tmp_path: Path) -> None:
    picky = Backend("picky", "static encoders only", prepare, {"cpu": ("fp32",)}, encoder_kinds=("static",))
    assert picky.refuses("transformer") == "picky runs static encoders only"
    assert picky.refuses("static") is None


def test_unknown_backend_is_a_user_error(tiny_bert: Encoder, tmp_path: Path) -> None:
    with pytest.raises(
        UserError, match=r"unknown backend 'tensorrt'; known: torch, torch-compile, torch-cudagraphs, onnx"
    ):
        prepare(tiny_bert, Target("tensorrt"), workdir=tmp_path)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("device", "tpu", "unknown device 'tpu'"),
        ("device", "cuda:x", "unknown device 'cuda:x'"),
        ("dtype", "fp8", "unknown dtype 'fp8'"),
        ("padding", "none", "unknown padding 'none'"),
        ("threads", -1, "threads must be >= 0"),
        ("max_length", 0, "max_length must be >= 1"),
    ],
)
@pytest.mark.parametrize("backend", names())
def test_malformed_targets_are_user_errors(
    tiny_bert: Encoder, tmp_path: Path, backend: str, field: str, value: object, message: str
) -> None:
    target = Target(backend, **{field: value})  # type: ignore[arg-type]
    with pytest.raises(UserError, match=message):
        prepare(tiny_bert, target, workdir=tmp_path)


def test_prepared_objects_satisfy_the_protocol(tiny_bert: Encoder, tmp_path: Path) -> None:
    for backend in ("torch", "onnxruntime"):
        with prepare(tiny_bert, Target(backend), workdir=tmp_path) as prepared:
            assert isinstance(prepared, Prepared)
            assert prepared.cuda_timer is None  # on CPU
            assert prepared.info["backend"] == backend


def test_parity_is_the_max_abs_difference_and_checks_shapes(tiny_bert: Encoder, tmp_path: Path) -> None:
    want = reference(tiny_bert)
    with prepare(tiny_bert, Target("torch"), workdir=tmp_path) as prepared:
        assert parity(prepared, want, TEXTS) < 1e-6
        shifted = want.copy()
        shifted[2, 5] += 0.25
        assert parity(prepared, shifted, TEXTS) == pytest.approx(0.25, abs=1e-6)
        with pytest.raises(UserError, match=r"backend returned shape \(5, 32\), reference has \(4, 32\)"):
            parity(prepared, want[:4], TEXTS)
        assert np.isfinite(parity(prepared, want[:1], TEXTS[:1]))


def test_cpu_is_always_available() -> None:
    assert unavailable("onnxruntime", "cpu") is None and unavailable("torch", "cpu") is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the reason given when CUDA is absent")
def test_cuda_without_a_gpu_says_why() -> None:
    assert "no CUDA device" in (unavailable("torch", "cuda") or "")


@pytest.mark.skipif(
    "CUDAExecutionProvider" in onnxruntime.get_available_providers(), reason="this onnxruntime has CUDA"
)
def test_cpu_only_onnxruntime_names_the_missing_provider() -> None:
    from bench.backends import onnxruntime as ort_backend

    assert "CUDAExecutionProvider" in (ort_backend.unavailable("cuda") or "")
    assert ort_backend.unavailable("cpu") is None
