"""The `onnxruntime` and `onnxruntime-int8` backends: parity, the graph cache, session options, bad combos."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from bench.backends import Target, parity, prepare
from bench.backends import onnxruntime as ort_backend
from daft.core.errors import UserError
from daft.export import onnx_export
from daft.models.encoders import Encoder
from daft.store import cache
from tests.bench.backends.support import BERT, TEXTS, assert_unit_rows, make, reference

_PROVIDERS = ort.get_available_providers()
needs_ort_cuda = pytest.mark.skipif(
    "CUDAExecutionProvider" not in _PROVIDERS,
    reason=f"needs onnxruntime-gpu with a CUDA device (available: {', '.join(_PROVIDERS)})",
)


@pytest.fixture
def exports(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Records every ONNX export the backend makes."""
    made: list[Path] = []
    real = onnx_export.export_checked

    def counting(encoder: Encoder, path: Path, **kwargs: object) -> float:
        made.append(Path(path))
        return real(encoder, path, **kwargs)

    monkeypatch.setattr(onnx_export, "export_checked", counting)
    return made


def rows_of(prepared: object, texts: tuple[str, ...] = TEXTS) -> np.ndarray:
    return prepared.fetch(prepared.forward(prepared.tokenize(texts)))  # type: ignore[attr-defined]


def test_parity_with_embed(encoder: Encoder, tmp_path: Path, private_cache: Path) -> None:
    with prepare(encoder, Target("onnxruntime"), workdir=tmp_path) as prepared:
        inputs = prepared.tokenize(TEXTS)
        assert all(a.dtype == np.int64 for a in inputs.values())
        rows = prepared.fetch(prepared.forward(inputs))
        assert rows.dtype == np.float32 and rows.shape == (len(TEXTS), encoder.dim)
        assert_unit_rows(rows)
        assert np.abs(rows - reference(encoder)).max() < 1e-5
        info = prepared.info
        assert info["providers"] == ["CPUExecutionProvider"] and not info["quantised"]
        path = Path(info["onnx_path"])
        assert path.name == "model.onnx" and path.parent.parent == private_cache / "onnx"
        assert info["onnx_bytes"] == path.stat().st_size
        assert info["weights_sha256"] == cache.weights_fingerprint(encoder)


def test_int8_is_really_quantised_and_close(encoder: Encoder, tmp_path: Path) -> None:
    with prepare(encoder, Target("onnxruntime"), workdir=tmp_path) as fp32:
        fp32_bytes = fp32.info["onnx_bytes"]
    with prepare(encoder, Target("onnxruntime-int8"), workdir=tmp_path) as int8:
        diff = parity(int8, reference(encoder), TEXTS)
        assert 0 < diff < 0.1
        assert_unit_rows(rows_of(int8))
        assert int8.info["quantised"] and Path(int8.info["onnx_path"]).name == "model.int8.onnx"
        assert int8.info["onnx_bytes"] < fp32_bytes / 2  # int8 tables and matrices are a quarter the size
        graph = onnx.load(int8.info["onnx_path"]).graph
        # Matrices become int8 (MatMulInteger), the embedding table uint8 (Gather + DequantizeLinear).
        eight_bit = {onnx.TensorProto.INT8, onnx.TensorProto.UINT8}
        assert sum(init.data_type in eight_bit for init in graph.initializer) >= 1
        assert {node.op_type for node in graph.node} & {"MatMulInteger", "DequantizeLinear"}


def test_graph_cache_is_reused_extended_and_rebuilt_when_corrupt(
    tiny_bert: Encoder, tmp_path: Path, exports: list[Path]
) -> None:
    first = prepare(tiny_bert, Target("onnxruntime"), workdir=tmp_path)
    path = Path(first.info["onnx_path"])
    first.close()
    assert first.info["onnx_cache"] == "built" and len(exports) == 1
    stamp = path.stat().st_mtime_ns

    with prepare(tiny_bert, Target("onnxruntime"), workdir=tmp_path) as again:
        assert again.info["onnx_cache"] == "hit" and again.info["onnx_path"] == str(path)
    with prepare(tiny_bert, Target("onnxruntime-int8"), workdir=tmp_path) as int8:
        # Adding the int8 variant re-uses the fp32 graph: no second export, same file.
        assert int8.info["onnx_cache"] == "extended" and Path(int8.info["onnx_path"]).parent == path.parent
    assert len(exports) == 1 and path.stat().st_mtime_ns == stamp
    assert cache.check(path.parent) is None

    path.write_bytes(b"\0" * path.stat().st_size)  # same size: only the re-hash notices
    with prepare(tiny_bert, Target("onnxruntime"), workdir=tmp_path) as rebuilt:
        assert rebuilt.info["onnx_cache"].startswith("rebuilt (model.onnx does not match")
        assert parity(rebuilt, reference(tiny_bert), TEXTS) < 1e-5
    assert len(exports) == 2

    (path.parent / cache.SEAL).unlink()  # as if a build had been killed before sealing
    with prepare(tiny_bert, Target("onnxruntime-int8"), workdir=tmp_path) as int8:
        assert int8.info["onnx_cache"].startswith("rebuilt (not sealed")
        assert 0 < parity(int8, reference(tiny_bert), TEXTS) < 0.1
    assert len(exports) == 3
    assert not [p for p in path.parent.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_same_weights_other_architecture_gets_its_own_graph(tokenizer_dir: Path) -> None:
    two_heads = make(BERT, tokenizer_dir)
    four_heads = make({"arch": {**BERT["arch"], "heads": 4}}, tokenizer_dir)
    fingerprint = cache.weights_fingerprint(two_heads)
    assert cache.weights_fingerprint(four_heads) == fingerprint  # heads do not show in the weights
    assert ort_backend.entry_dir(two_heads) != ort_backend.entry_dir(four_heads)


def test_session_options_follow_the_target(tiny_bert: Encoder, tmp_path: Path) -> None:
    with prepare(tiny_bert, Target("onnxruntime", threads=1), workdir=tmp_path) as prepared:
        options = prepared.session.get_session_options()
        assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1
        assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
        assert prepared.info["threads"] == 1
    with prepare(tiny_bert, Target("onnxruntime", threads=None), workdir=tmp_path) as prepared:
        assert prepared.session.get_session_options().intra_op_num_threads == 0


def test_padding_to_max_length(tiny_bert: Encoder, tmp_path: Path) -> None:
    target = Target("onnxruntime", padding="max_length", max_length=40)
    with prepare(tiny_bert, target, workdir=tmp_path) as prepared:
        assert prepared.tokenize(TEXTS)["input_ids"].shape == (len(TEXTS), 40)
        assert parity(prepared, reference(tiny_bert), TEXTS) < 1e-5


def test_iobinding_path_on_cpu(encoder: Encoder, tmp_path: Path) -> None:
    """The CUDA code path (OrtValues + IOBinding), driven on the CPU device so it runs without a GPU."""
    with prepare(encoder, Target("onnxruntime"), workdir=tmp_path) as prepared:
        prepared._bind = True
        feed = prepared.tokenize(TEXTS)
        assert isinstance(feed, ort_backend.CudaFeed) and set(feed.values) == set(encoder.input_names)
        output = prepared.forward(feed)
        rows = prepared.fetch(output)
        assert rows.shape == (len(TEXTS), encoder.dim)
        assert np.abs(rows - reference(encoder)).max() < 1e-5


def test_fp16_graph_conversion(tiny_bert: Encoder) -> None:
    """The fp16 graph used on CUDA: fp16 weights, int64 ids in, fp32 out; ORT's CPU kernels can check it."""
    path, status = ort_backend.ensure_graph(tiny_bert, "fp16")
    assert status == "extended" or status == "built"
    assert (path.parent / "model.onnx").is_file() and cache.check(path.parent) is None
    graph = onnx.load(str(path)).graph
    assert any(init.data_type == onnx.TensorProto.FLOAT16 for init in graph.initializer)
    assert [i.type.tensor_type.elem_type for i in graph.input] == [onnx.TensorProto.INT64] * len(graph.input)
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    features = tiny_bert.tokenize(list(TEXTS))
    rows = session.run(None, {k: v.numpy() for k, v in features.items()})[0]
    assert rows.dtype == np.float32
    assert np.abs(rows - reference(tiny_bert)).max() < 1e-2


@pytest.mark.parametrize(
    ("backend", "device", "dtype", "message"),
    [
        ("onnxruntime", "cpu", "fp16", "dtype fp16 on cpu is not supported"),
        ("onnxruntime", "cpu", "bf16", "bf16 is not supported by the onnxruntime backend"),
        ("onnxruntime", "cuda", "bf16", "bf16 is not supported by the onnxruntime backend"),
        ("onnxruntime-int8", "cuda", "fp32", "onnxruntime-int8 runs on cpu only"),
        ("onnxruntime-int8", "cpu", "fp16", "int8 weights and fp32 activations"),
    ],
)
def test_unsupported_combinations(
    tiny_bert: Encoder,
    tmp_path: Path,
    private_cache: Path,
    backend: str,
    device: str,
    dtype: str,
    message: str,
) -> None:
    with pytest.raises(UserError, match=message):
        prepare(tiny_bert, Target(backend, device=device, dtype=dtype), workdir=tmp_path)
    assert not (private_cache / "onnx").exists()  # refused before any export


@pytest.mark.skipif(
    "CUDAExecutionProvider" in ort.get_available_providers(),
    reason="checks the error without a CUDA provider",
)
def test_cuda_without_the_cuda_provider(tiny_bert: Encoder, tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"has no CUDAExecutionProvider \(available: .*CPUExecutionProvider"):
        prepare(tiny_bert, Target("onnxruntime", device="cuda"), workdir=tmp_path)


@needs_ort_cuda
@pytest.mark.parametrize(("dtype", "tolerance"), [("fp32", 1e-4), ("fp16", 1e-2)])
def test_cuda_parity(encoder: Encoder, tmp_path: Path, dtype: str, tolerance: float) -> None:
    with prepare(encoder, Target("onnxruntime", device="cuda", dtype=dtype), workdir=tmp_path) as prepared:
        assert prepared.info["providers"][0] == "CUDAExecutionProvider"
        assert prepared.cuda_timer is None  # ORT's own stream: timed with sync() + perf_counter
        feed = prepared.tokenize(TEXTS)
        assert all(v.device_name() == "cuda" for v in feed.values.values())
        output = prepared.forward(feed)
        rows = prepared.fetch(output)
        assert rows.dtype == np.float32 and rows.shape == (len(TEXTS), encoder.dim)
        assert_unit_rows(rows, atol=tolerance)
        assert np.abs(rows - reference(encoder)).max() < tolerance


def test_hard_linked_variants_share_the_fp32_graph(tiny_bert: Encoder, tmp_path: Path) -> None:
    fp32, _ = ort_backend.ensure_graph(tiny_bert, "fp32")
    inode = os.stat(fp32).st_ino
    ort_backend.ensure_graph(tiny_bert, "int8")
    assert os.stat(fp32).st_ino == inode  # carried over by a link, not re-exported or copied
