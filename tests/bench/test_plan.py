"""Tests for bench.plan: cell count and order, exclusions, the cuda threads collapse, cell identity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from bench.backends.onnxruntime import INT8_ON_CUDA
from bench.plan import HALF_ON_CPU, Plan, exclusion, plan, plan_table
from bench.results import Cell
from bench.specs import EncoderSpec, LatencySpec, MeasureSpec, QueriesSpec, Suite, SuiteInfo
from bench.suite import load_suite
from daft.core.errors import UserError

SUITES = Path(__file__).resolve().parents[2] / "suites"


def _suite(encoders: tuple[str, ...] = ("a", "b"), **latency: Any) -> Suite:
    specs = tuple(EncoderSpec(name, model=name) for name in encoders)
    return Suite(
        path=Path("suites/x.toml"),
        info=SuiteInfo("x"),
        queries=QueriesSpec(source="wordnet:test"),
        encoders=specs,
        latency=LatencySpec(**{"baseline": encoders[0], **latency}),
        measure=MeasureSpec(),
    )


def test_cells_are_encoder_major_then_backend_device_dtype_threads_batch() -> None:
    suite = _suite(
        backends=("onnxruntime", "torch"),  # suite order, not alphabetical
        batch_sizes=(32, 1),  # ascending whatever the order written
        threads=(2, 1),
    )
    assert [c.id for c in plan(suite).cells] == [
        "a/onnxruntime/cpu/fp32/b1/t1",
        "a/onnxruntime/cpu/fp32/b32/t1",
        "a/onnxruntime/cpu/fp32/b1/t2",
        "a/onnxruntime/cpu/fp32/b32/t2",
        "a/torch/cpu/fp32/b1/t1",
        "a/torch/cpu/fp32/b32/t1",
        "a/torch/cpu/fp32/b1/t2",
        "a/torch/cpu/fp32/b32/t2",
        "b/onnxruntime/cpu/fp32/b1/t1",
        "b/onnxruntime/cpu/fp32/b32/t1",
        "b/onnxruntime/cpu/fp32/b1/t2",
        "b/onnxruntime/cpu/fp32/b32/t2",
        "b/torch/cpu/fp32/b1/t1",
        "b/torch/cpu/fp32/b32/t1",
        "b/torch/cpu/fp32/b1/t2",
        "b/torch/cpu/fp32/b32/t2",
    ]


def test_device_comes_before_dtype_in_the_order() -> None:
    cells = plan(_suite(("a",), devices=("cuda", "cpu"), dtypes=("fp16", "fp32"), batch_sizes=(1,))).cells
    assert [c.id for c in cells] == ["a/torch/cuda/fp16/b1", "a/torch/cuda/fp32/b1", "a/torch/cpu/fp32/b1/t0"]


def test_default_suite_plan() -> None:
    assert [c.id for c in plan(_suite(("a",))).cells] == ["a/torch/cpu/fp32/b1/t0", "a/torch/cpu/fp32/b32/t0"]


@pytest.mark.parametrize(
    ("backend", "device", "dtype", "reason"),
    [
        ("torch", "cpu", "fp32", None),
        ("torch", "cpu", "fp16", HALF_ON_CPU),
        ("onnxruntime", "cpu", "bf16", HALF_ON_CPU),
        ("onnxruntime-int8", "cpu", "fp32", None),
        ("onnxruntime-int8", "cuda", "fp32", INT8_ON_CUDA),
        ("onnxruntime-int8", "cuda", "fp16", INT8_ON_CUDA),
        ("onnxruntime-int8", "cpu", "fp16", HALF_ON_CPU),
        ("torch-compile", "cuda", "bf16", None),
        ("onnxruntime", "cuda", "bf16", "onnxruntime runs fp32, fp16 on cuda"),
    ],
)
def test_exclusion_rules(backend: str, device: str, dtype: str, reason: str | None) -> None:
    assert exclusion(backend, device, dtype) == reason


def test_exclusions_are_kept_with_their_reason() -> None:
    result = plan(
        _suite(
            ("a",),
            backends=("torch", "onnxruntime-int8"),
            devices=("cpu", "cuda"),
            dtypes=("fp32", "fp16"),
            batch_sizes=(1,),
            threads=(1, 2),
        )
    )
    assert [c.id for c in result.cells] == [
        "a/torch/cpu/fp32/b1/t1",
        "a/torch/cpu/fp32/b1/t2",
        "a/torch/cuda/fp32/b1",
        "a/torch/cuda/fp16/b1",
        "a/onnxruntime-int8/cpu/fp32/b1/t1",
        "a/onnxruntime-int8/cpu/fp32/b1/t2",
    ]
    assert [(c.id, r) for c, r in result.excluded] == [
        ("a/torch/cpu/fp16/b1/t1", HALF_ON_CPU),
        ("a/torch/cpu/fp16/b1/t2", HALF_ON_CPU),
        ("a/onnxruntime-int8/cpu/fp16/b1/t1", HALF_ON_CPU),
        ("a/onnxruntime-int8/cpu/fp16/b1/t2", HALF_ON_CPU),
        ("a/onnxruntime-int8/cuda/fp32/b1", INT8_ON_CUDA),
        ("a/onnxruntime-int8/cuda/fp16/b1", INT8_ON_CUDA),
    ]
    # Excluded and runnable cells never overlap, and together they are the full grid.
    assert not {c.key for c in result.cells} & {c.key for c, _ in result.excluded}
    assert len(result.cells) + len(result.excluded) == 2 * (2 * 2 + 2)


def test_threads_collapse_to_one_cell_on_cuda() -> None:
    result = plan(_suite(("a",), devices=("cuda",), threads=(1, 2, 4), batch_sizes=(8,)))
    assert result.cells == (Cell("a", "torch", "cuda", "fp32", 8, None),)
    assert result.excluded == ()
    assert result.cells[0].id == "a/torch/cuda/fp32/b8"


def test_cuda_only_plan_is_fine_at_plan_time() -> None:
    # No CUDA here is the runner's business ("no CUDA device"), not the plan's.
    result = plan(_suite(("a",), devices=("cuda",), dtypes=("fp16",)))
    assert len(result.cells) == 2 and all(c.device == "cuda" for c in result.cells)


def test_only_filters_cells_and_keeps_exclusions() -> None:
    result = plan(_suite(("a",), devices=("cpu", "cuda"), dtypes=("fp32", "fp16"), batch_sizes=(1,)))
    cpu = result.only(lambda c: c.device != "cuda")
    assert [c.id for c in cpu.cells] == ["a/torch/cpu/fp32/b1/t0"]
    assert cpu.excluded == result.excluded and len(cpu.excluded) == 1
    assert result.only(lambda c: False).cells == ()


def test_plan_with_no_runnable_cell_is_a_user_error() -> None:
    with pytest.raises(UserError) as caught:
        plan(_suite(devices=("cpu",), dtypes=("fp16", "bf16")))
    message = str(caught.value)
    assert message.startswith("suites/x.toml: [latency] backends/devices/dtypes: no combination can run")
    assert f"torch/cpu/fp16: {HALF_ON_CPU}" in message and "torch/cpu/bf16" in message


def test_cell_key_and_id_are_stable() -> None:
    cpu = Cell("minilm-l6", "onnxruntime", "cpu", "fp32", 32, 2)
    assert cpu.key == ("minilm-l6", "onnxruntime", "cpu", "fp32", 32, 2)
    assert cpu.id == "minilm-l6/onnxruntime/cpu/fp32/b32/t2"
    cuda = Cell("minilm-l6", "torch", "cuda", "fp16", 1024, None)
    assert cuda.key == ("minilm-l6", "torch", "cuda", "fp16", 1024, None)
    assert cuda.id == "minilm-l6/torch/cuda/fp16/b1024"
    # Threads 0 (the library default) is a real value, distinct from "not applicable".
    assert Cell("m", "torch", "cpu", "fp32", 1, 0).id == "m/torch/cpu/fp32/b1/t0"
    assert Cell("m", "torch", "cpu", "fp32", 1, 0).key != Cell("m", "torch", "cpu", "fp32", 1, None).key


def test_cell_round_trips_through_json() -> None:
    for cell in (
        Cell("e.1", "torch-compile", "cpu", "fp32", 8, 0),
        Cell("e", "torch", "cuda", "bf16", 1, None),
    ):
        data = json.loads(json.dumps(cell.to_dict()))
        assert data == {
            "encoder": cell.encoder,
            "backend": cell.backend,
            "device": cell.device,
            "dtype": cell.dtype,
            "batch_size": cell.batch_size,
            "threads": cell.threads,
        }
        again = Cell.from_dict(data)
        assert again == cell and again.key == cell.key and again.id == cell.id


@pytest.mark.parametrize(
    "data",
    [
        {"encoder": "e", "backend": "torch", "device": "cpu", "dtype": "fp32", "batch_size": 1},
        {
            "encoder": "e",
            "backend": "torch",
            "device": "cpu",
            "dtype": "fp32",
            "batch_size": 1,
            "threads": 1,
            "x": 1,
        },
        {
            "encoder": "e",
            "backend": "torch",
            "device": "cpu",
            "dtype": "fp32",
            "batch_size": True,
            "threads": 1,
        },
        {
            "encoder": "e",
            "backend": "torch",
            "device": "cpu",
            "dtype": "fp32",
            "batch_size": None,
            "threads": 1,
        },
        {
            "encoder": "e",
            "backend": "torch",
            "device": "cpu",
            "dtype": "fp32",
            "batch_size": 1,
            "threads": "1",
        },
        {"encoder": 1, "backend": "torch", "device": "cpu", "dtype": "fp32", "batch_size": 1, "threads": 1},
        ["not", "a", "dict"],
    ],
)
def test_cell_from_dict_rejects_malformed_records(data: Any) -> None:
    with pytest.raises(UserError) as caught:
        Cell.from_dict(data)
    assert "\n" not in str(caught.value)


def test_table() -> None:
    result = plan(_suite(("a",), devices=("cpu", "cuda"), dtypes=("fp32", "fp16"), threads=(0, 2)))
    console = Console(record=True, width=200)
    console.print(plan_table(result))
    text = " ".join(console.export_text().split())  # the caption wraps at the table's width
    assert "8 cells" in text and "default" in text and "1, 32" in text
    assert f"excluded: torch/cpu/fp16 (4 cells): {HALF_ON_CPU}" in text
    assert plan_table(result).row_count == 4  # cpu t0, cpu t2, cuda fp32, cuda fp16
    assert isinstance(result, Plan)


# gpu_latency: onnxruntime has no bf16 (the backend declares it), so its 16 bf16 cells are excluded;
# cpu_latency: static/static-cold/model2vec run L0 only, sentence-transformers the three transformers only;
# cpu_latency_threads is the same on two thread counts.
@pytest.mark.parametrize(
    ("name", "count", "excluded", "device"),
    [
        ("cpu_latency", 56, 40, "cpu"),
        ("cpu_latency_threads", 112, 80, "cpu"),
        ("gpu_latency", 128, 16, "cuda"),
    ],
)
def test_shipped_suites_plan(name: str, count: int, excluded: int, device: str) -> None:
    result = plan(load_suite(SUITES / f"{name}.toml"))
    assert len(result.cells) == count
    assert {c.device for c in result.cells} == {device}
    assert len({c.key for c in result.cells}) == count
    assert len(result.excluded) == excluded
