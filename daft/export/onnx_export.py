"""Export an encoder to ONNX (tokenised features in, L2-normalised vectors out) and check it numerically."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from daft.core.errors import UserError
from daft.models.encoders import Encoder

OPSET = 17
OUTPUT = "embedding"
PARITY_TEXTS = (
    "a potter's wheel",
    "the quick brown fox jumps over the lazy dog",
    "what is the capital of France?",
    "x",
    "an unusually long query that keeps going, with punctuation; numbers like 1234 and words such as "
    "antidisestablishmentarianism, to exercise truncation and padding in the same batch",
)


class _Embed(nn.Module):
    """Positional-argument wrapper, since the ONNX exporter passes inputs by position."""

    def __init__(self, encoder: Encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, *features: torch.Tensor) -> torch.Tensor:
        return self.encoder.embed(**dict(zip(self.encoder.input_names, features, strict=True)))


def export_onnx(encoder: Encoder, path: Path, *, opset: int = OPSET) -> Path:
    """Write `encoder` as an ONNX graph with dynamic batch and sequence axes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    was_training = encoder.training
    encoder.eval()
    # A padded example: a graph traced without padding may specialise the attention mask away.
    example = encoder.tokenize(["a short one", "a somewhat longer example sentence"], max_length=16)
    inputs = tuple(example[name].cpu() for name in encoder.input_names)
    axes = {name: {0: "batch", 1: "sequence"} for name in encoder.input_names} | {OUTPUT: {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(
            _Embed(encoder).cpu(),
            inputs,
            str(path),
            input_names=list(encoder.input_names),
            output_names=[OUTPUT],
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,
        )
    encoder.train(was_training)  # the exporter restores the wrapper's mode, which recursed into ours
    return path


def max_abs_diff(encoder: Encoder, onnx_path: Path, texts: Sequence[str] = PARITY_TEXTS) -> float:
    """Max abs difference between onnxruntime (CPU) and torch fp32 embeddings of `texts`."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    features = encoder.tokenize(list(texts))
    feed = {name: features[name].numpy().astype(np.int64) for name in encoder.input_names}
    got = session.run([OUTPUT], feed)[0]
    was_training = encoder.training
    encoder.eval()
    with torch.inference_mode():
        want = encoder.cpu().embed(**features).numpy()
    encoder.train(was_training)
    return float(np.abs(got - want).max())


def export_checked(encoder: Encoder, path: Path, *, tolerance: float = 1e-4) -> float:
    """Export and verify against torch; raise a UserError (and remove the file) beyond `tolerance`."""
    export_onnx(encoder, path)
    diff = max_abs_diff(encoder, path)
    if not diff < tolerance:
        Path(path).unlink(missing_ok=True)
        raise UserError(f"{path}: ONNX export differs from torch by {diff:.2e} (tolerance {tolerance:.0e})")
    return diff
