"""`onnxruntime` and `onnxruntime-int8`: the exported ONNX graph in ONNX Runtime, on CPU or CUDA.

Graphs are cached per encoder in one sealed entry, `cache_root()/onnx/<key>/`, holding `model.onnx` (fp32,
exported and checked against torch) and, when first asked for, `model.int8.onnx` (dynamic int8 weights)
and `model.fp16.onnx` (fp16 with fp32 inputs/outputs). A variant is added by rebuilding the entry with the
existing files hard-linked in, so the entry stays complete-or-absent, and a corrupt file is noticed and
rebuilt.

On CUDA the inputs are copied to the device in `tokenize` and bound with IOBinding, as is the output. ORT runs
on a CUDA stream of its own and synchronises it at the end of each run by default; we keep that default (the
alternative needs a compute stream shared with torch, untested here), so `forward` returns once the device is
done, `cuda_timer` is None, and the loop times ORT's forward on the host clock (`perf_counter_ns`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.backends.base import Backend, Closing, Target, check_target, parse_device, working_copy
from daft.core.errors import UserError
from daft.store import cache

if TYPE_CHECKING:
    import onnxruntime as ort

    from daft.models.encoders import Encoder

# torch, onnx and onnxruntime are imported where a graph or a session is made: the registry reads this
# module's BACKENDS for suite validation, `bench list` and --dry-run, which need none of them.

# Bump when the recipe of any cached graph changes (export call, quantisation, fp16 conversion).
FORMAT_VERSION = 1
INT8_OPTIONS = {"per_channel": True}
GRAPHS = {"fp32": "model.onnx", "int8": "model.int8.onnx", "fp16": "model.fp16.onnx"}
CPU, CUDA = "CPUExecutionProvider", "CUDAExecutionProvider"
INT8_ON_CUDA = "dynamic int8 quantisation runs on the CPU provider"
# int8 weights move the embeddings far beyond an fp32 tolerance by design; 0.1 still catches a broken graph.
INT8_PARITY_TOLERANCE = 0.1


# --- the graph cache --------------------------------------------------------------------------------------


def _architecture(encoder: Encoder) -> dict[str, Any]:
    """What shapes the computation beyond the weights (heads, pooling, inputs, eps ...), JSON-ready."""
    model_config = getattr(getattr(encoder, "model", None), "config", None)
    described: dict[str, Any] = {}
    if model_config is not None:
        # Private keys and the writer's version carry paths and tool versions, not architecture.
        described = {
            k: v
            for k, v in model_config.to_dict().items()
            if not k.startswith("_") and k not in {"transformers_version", "name_or_path"}
        }
    daft_config = {k: v for k, v in encoder.config().items() if k != "max_length"}
    return {"daft": daft_config, "model": described, "inputs": list(encoder.input_names)}


def cache_key(encoder: Encoder, fingerprint: str) -> str:
    """sha256 of the weights fingerprint, the architecture, the opset and the format version."""
    from daft.export import onnx_export

    # The weights alone are not enough: heads, pooling or layer-norm eps change the graph, not the weights.
    parts = {
        "format": FORMAT_VERSION,
        "opset": onnx_export.OPSET,
        "weights": fingerprint,
        "architecture": _architecture(encoder),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def entry_dir(encoder: Encoder, fingerprint: str | None = None) -> Path:
    """The cache entry that holds (or will hold) `encoder`'s graphs."""
    fingerprint = fingerprint or cache.weights_fingerprint(encoder)
    return cache.cache_root() / "onnx" / cache_key(encoder, fingerprint)


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)  # graphs are never modified in place, so sharing the inode is safe
    except OSError:
        shutil.copy2(source, target)


def _cpu_fp32(encoder: Encoder) -> Encoder:
    import torch

    # The exporter moves the module it is given to the CPU; never do that to the caller's encoder.
    return working_copy(encoder, torch.device("cpu"), torch.float32)


class _DropPreprocessingHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def _quantise(source: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel scales: on all-MiniLM-L6-v2 the worst cosine to fp32 goes from 0.907 (per-tensor) to
    # 0.979 at the same size and speed. ORT's "run pre-processing" hint is logged on every call; for these
    # graphs pre-processing changed nothing, so the hint is dropped.
    hint = _DropPreprocessingHint()
    logging.getLogger().addFilter(hint)
    try:
        quantize_dynamic(source, target, weight_type=QuantType.QInt8, **INT8_OPTIONS)
    finally:
        logging.getLogger().removeFilter(hint)


def _to_fp16(source: Path, target: Path) -> None:
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    # keep_io_types: int64 ids in, fp32 embedding out, as for every other graph.
    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=True)
    onnx.save(model, str(target))


def ensure_graph(encoder: Encoder, variant: str, *, fingerprint: str | None = None) -> tuple[Path, str]:
    """Path of `encoder`'s `variant` graph (fp32, int8, fp16), built if needed, and what the cache did."""
    from daft.export import onnx_export

    fingerprint = fingerprint or cache.weights_fingerprint(encoder)
    entry = entry_dir(encoder, fingerprint)
    name = GRAPHS[variant]
    problem = cache.check(entry)
    if problem is None and (entry / name).is_file():
        return entry / name, "hit"
    keep: list[str] = []
    if problem is None:  # a sound entry that lacks this variant: carry its files over
        keep = [
            p.relative_to(entry).as_posix() for p in entry.rglob("*") if p.is_file() and p.name != cache.SEAL
        ]
        status = "extended"
    else:
        status = "built" if problem == "missing" else f"rebuilt ({problem})"
    cache.sweep(entry.parent)
    meta = {"kind": "onnx", "format": FORMAT_VERSION, "opset": onnx_export.OPSET, "weights": fingerprint}
    meta |= {"int8": {"weight_type": "QInt8", **INT8_OPTIONS}}
    with cache.building(entry, meta) as out:
        for relative in keep:
            _link_or_copy(entry / relative, out / relative)
        base = out / GRAPHS["fp32"]
        if GRAPHS["fp32"] not in keep:
            # export_checked compares onnxruntime with torch and refuses a graph that differs.
            onnx_export.export_checked(_cpu_fp32(encoder), base)
        # ORT's shape inference drops a scratch graph (and its weights) into the working directory when it
        # gives up; let that litter land in a scratch directory that is then removed.
        with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
            if variant == "int8":
                _quantise(base, out / name)
            elif variant == "fp16":
                _to_fp16(base, out / name)
    return entry / name, status


# --- the backend --------------------------------------------------------------------------------------------


@dataclass
class CudaFeed:
    """Inputs already on the device, bound (with the output) to an IOBinding."""

    binding: ort.IOBinding
    values: dict[str, ort.OrtValue]  # held so the device buffers outlive the run


def _variant(target: Target) -> str:
    """Which cached graph serves `target`, or a UserError for combinations that cannot run."""
    kind, _ = parse_device(target.device)
    if target.backend == "onnxruntime-int8":
        if kind != "cpu":
            raise UserError(
                "onnxruntime-int8 runs on cpu only (its dynamic int8 ops have no CUDA kernels); "
                "use onnxruntime with dtype fp16 on cuda"
            )
        if target.dtype != "fp32":
            raise UserError("onnxruntime-int8 has int8 weights and fp32 activations: use dtype fp32")
        return "int8"
    if target.dtype == "bf16":
        raise UserError("bf16 is not supported by the onnxruntime backend; use fp16 (cuda) or fp32")
    if target.dtype == "fp16" and kind == "cpu":
        raise UserError("onnxruntime: dtype fp16 on cpu is not supported (fp16 is for cuda); use fp32")
    return target.dtype


def unavailable(device: str) -> str | None:
    """Why this onnxruntime build cannot run on `device`, or None."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if parse_device(device)[0] == "cuda" and CUDA not in available:
        return (
            f"onnxruntime {ort.__version__} has no {CUDA} (available: {', '.join(available)}); "
            "install onnxruntime-gpu matching your CUDA"
        )
    return None


def _providers(target: Target) -> list[Any]:
    kind, index = parse_device(target.device)
    if kind == "cpu":
        return [CPU]
    if reason := unavailable(target.device):
        raise UserError(reason)
    # CPU stays as fallback for the few shape ops ORT places there by design.
    return [(CUDA, {"device_id": index}), CPU]


def _session_options(threads: int | None) -> ort.SessionOptions:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0  # 0: ORT's default (one per physical core)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: node-placement warnings would flood a sweep's output
    return options


class OrtPrepared(Closing):
    """An ONNX Runtime session on one graph variant; numpy feeds on CPU, IOBinding on CUDA."""

    cuda_timer = None  # ORT uses its own stream; see the module docstring

    def __init__(self, encoder: Encoder, target: Target):
        import onnxruntime as ort

        from daft.export import onnx_export

        check_target(target)
        variant = _variant(target)
        providers = _providers(target)
        kind, index = parse_device(target.device)
        self.target = target
        self.encoder = encoder
        self._cuda = kind == "cuda"
        # IOBinding is used exactly on CUDA; the tests also drive it on "cpu", the one device they have.
        self._bind = self._cuda
        self._ort_device = kind
        self._device_id = index
        fingerprint = cache.weights_fingerprint(encoder)
        path, cache_status = ensure_graph(encoder, variant, fingerprint=fingerprint)
        try:
            self.session = ort.InferenceSession(
                str(path), sess_options=_session_options(target.threads), providers=providers
            )
        except Exception as err:  # ORT raises bare RuntimeErrors (Fail, InvalidGraph ...) for bad EPs/graphs
            raise UserError(f"{target.backend}: cannot create a session on {path} ({err})") from None
        used = self.session.get_providers()
        if self._cuda and CUDA not in used:
            # ORT falls back to CPU silently when the CUDA EP fails to load (e.g. a cuDNN mismatch).
            raise UserError(f"{target.backend}: {CUDA} did not load (session got {', '.join(used)})")
        self._inputs = [i.name for i in self.session.get_inputs()]
        self._output = self.session.get_outputs()[0].name
        self.info: dict[str, Any] = {
            "backend": target.backend,
            "device": target.device,
            "dtype": target.dtype,
            "threads": target.threads or 0,
            "inter_op_threads": 1,
            "max_length": target.max_length,
            "padding": target.padding,
            "providers": used,
            "onnxruntime": ort.__version__,
            "onnx_path": str(path),
            "onnx_bytes": path.stat().st_size,
            "onnx_cache": cache_status,
            "opset": onnx_export.OPSET,
            "graph_variant": variant,
            "weights_sha256": fingerprint,
            "dim": encoder.dim,
            "encoder": encoder.kind,
            "quantised": variant == "int8",
            "quantisation": {"weight_type": "QInt8", **INT8_OPTIONS} if variant == "int8" else None,
            "forward_synchronises": self._cuda,
        }

    def _arrays(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        features = self.encoder.tokenize_arrays(
            texts, max_length=self.target.max_length, padding=self.target.padding
        )
        return {name: features[name] for name in self._inputs}

    def tokenize(self, texts: Sequence[str]) -> dict[str, np.ndarray] | CudaFeed:
        """int64 numpy arrays on CPU; on CUDA, device OrtValues bound with the output to an IOBinding."""
        arrays = self._arrays(texts)
        if not self._bind:
            return arrays
        import onnxruntime as ort

        binding = self.session.io_binding()
        device, index = self._ort_device, self._device_id
        # ortvalue_from_numpy copies synchronously, so the host arrays may go once it returns.
        values = {name: ort.OrtValue.ortvalue_from_numpy(a, device, index) for name, a in arrays.items()}
        for name, value in values.items():
            binding.bind_ortvalue_input(name, value)
        binding.bind_output(self._output, device, index)  # ORT allocates it on the device at each run
        return CudaFeed(binding, values)

    def forward(self, inputs: dict[str, np.ndarray] | CudaFeed) -> Any:
        """Run the session: the output array on CPU, the IOBinding (output on the device) on CUDA."""
        if isinstance(inputs, CudaFeed):
            self.session.run_with_iobinding(inputs.binding)
            return inputs.binding
        return self.session.run([self._output], inputs)[0]

    def fetch(self, output: Any) -> np.ndarray:
        """The embeddings as float32 numpy rows (copied from the device on CUDA)."""
        if not isinstance(output, np.ndarray):  # an IOBinding: the output is on the device
            output.synchronize_outputs()
            output = output.copy_outputs_to_cpu()[0]
        return np.ascontiguousarray(output, dtype=np.float32)

    def close(self) -> None:
        """Drop the session (its memory arena goes with it)."""
        self.session = None  # type: ignore[assignment]


def prepare(encoder: Encoder, target: Target, *, workdir: Path) -> OrtPrepared:
    """An ORT session on `encoder`'s cached graph for `target` (`workdir` is unused: graphs are cached)."""
    return OrtPrepared(encoder, target)


BACKENDS = (
    Backend(
        "onnxruntime",
        "ONNX Runtime on the exported graph; cpu fp32, cuda fp32/fp16",
        prepare,
        {"cpu": ("fp32",), "cuda": ("fp32", "fp16")},
        unavailable=unavailable,
    ),
    Backend(
        "onnxruntime-int8",
        "ONNX Runtime on the dynamically quantised graph (int8 weights); cpu only",
        prepare,
        {"cpu": ("fp32",)},
        off_device=INT8_ON_CUDA,
        parity_tolerance=INT8_PARITY_TOLERANCE,
        unavailable=unavailable,
    ),
)
