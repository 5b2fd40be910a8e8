"""What a backend declares and is given: `Target` in, a `bench.timing.Prepared` out, plus shared helpers.

The timing loop calls `tokenize` (host work), `forward` (enqueues the model call) and `fetch` (waits and
copies to the host) in that order, so that each step can be timed on its own. On CUDA a backend whose
kernels run on torch's current stream offers a `CudaTimer` for the device time of `forward`; one that runs on
a stream of its own (onnxruntime, whose run waits for its stream) offers none, and the loop times its
`forward` on the host clock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.timing import Prepared
from daft.core.errors import UserError
from daft.core.finite import require_finite
from daft.models.tokenization import PADDINGS as TOKENIZER_PADDINGS

if TYPE_CHECKING:
    import torch

    from daft.models.encoders import Encoder

DTYPES = ("fp32", "fp16", "bf16")
# A suite's [queries] padding: the tokenizer's, but for the unpadded "none" the static backends take on their own.
PADDINGS = tuple(p for p in TOKENIZER_PADDINGS if p != "none")
ENCODER_KINDS = ("transformer", "static")


@dataclass(frozen=True)
class WarmTexts:
    """Texts a tokenizer cache may learn before timing, never the measured ones: where they come from
    (`source`, for the setup's info) and how to read them (`load`; a UserError when they cannot be)."""

    source: str
    load: Callable[[], Sequence[str]]


@dataclass(frozen=True)
class Target:
    """Where and how to run an encoder: backend, device ("cpu", "cuda", "cuda:N"), dtype, threads, inputs."""

    backend: str
    device: str = "cpu"
    dtype: str = "fp32"
    threads: int | None = None  # None or 0: the backend's default
    max_length: int = 256
    padding: str = "longest"  # "longest" | "max_length"
    warm: WarmTexts | None = None  # what a tokenizer cache may learn (the runner's choice)


def _always_available(device: str) -> str | None:
    return None


@dataclass(frozen=True)
class Backend:
    """What a backend module declares about one backend name; `bench.backends` registers it.

    Suite validation reads `name`, plan exclusions read `dtypes`/`off_device`/`encoder_kinds`, the runner
    reads `parity_tolerance` and calls `prepare`, and `bench.backends.unavailable` calls `unavailable`.
    """

    name: str
    description: str  # one line, for `bench list`
    prepare: Callable[..., Prepared]  # (encoder, target, *, workdir) -> Prepared
    dtypes: Mapping[str, tuple[str, ...]]  # device kind ("cpu", "cuda") -> the dtypes it runs there
    off_device: str = ""  # why a device kind missing from `dtypes` is not measured
    # The smallest tolerance that is honest for this backend (int8 weights move embeddings by ~0.05);
    # the suite's measure.parity_tol applies when it is larger.
    parity_tolerance: float = 0.0
    encoder_kinds: tuple[str, ...] = ENCODER_KINDS
    # A library a user would otherwise reach for, measured side by side and marked as such in tables.
    reference: bool = False
    # Why this machine cannot run the backend on a CUDA `device` (a runtime built without CUDA), or None.
    unavailable: Callable[[str], str | None] = field(default=_always_available)

    def exclusion(self, device: str, dtype: str) -> str | None:
        """Why this backend does not run `dtype` on `device` at all (on any machine), or None."""
        kind = parse_device(device)[0]
        if kind not in self.dtypes:
            return self.off_device or f"{self.name} does not run on {kind}"
        if dtype not in self.dtypes[kind]:
            return f"{self.name} runs {', '.join(self.dtypes[kind])} on {kind}"
        return None

    def refuses(self, encoder_kind: str) -> str | None:
        """Why this backend cannot run an encoder of `encoder_kind` ("transformer", "static"), or None."""
        if encoder_kind in self.encoder_kinds:
            return None
        return f"{self.name} runs {' and '.join(self.encoder_kinds)} encoders only"


def parity(prepared: Prepared, reference: np.ndarray, texts: Sequence[str]) -> float:
    """Max abs difference of `prepared`'s embeddings of `texts` from a reference matrix (torch fp32, CPU)."""
    got = require_finite(prepared.fetch(prepared.forward(prepared.tokenize(texts))), "parity: backend")
    reference = require_finite(np.asarray(reference, dtype=np.float32), "parity: torch fp32 reference")
    if got.shape != reference.shape:
        raise UserError(f"parity: backend returned shape {got.shape}, reference has {reference.shape}")
    return float(np.abs(got.astype(np.float32) - reference).max()) if got.size else 0.0


# --- validation shared by the backends ----------------------------------------------------------------------


def parse_device(device: str) -> tuple[str, int]:
    """("cpu", 0) or ("cuda", index) for "cpu", "cuda", "cuda:N"; UserError otherwise."""
    kind, _, index = device.partition(":")
    if kind == "cpu" and not index:
        return "cpu", 0
    if kind == "cuda" and (not index or index.isdigit()):
        return "cuda", int(index or 0)
    raise UserError(f"unknown device {device!r}; known: cpu, cuda, cuda:N")


def check_target(target: Target) -> None:
    """Reject a target whose fields are malformed, whatever the backend."""
    parse_device(target.device)
    if target.dtype not in DTYPES:
        raise UserError(f"unknown dtype {target.dtype!r}; known: {', '.join(DTYPES)}")
    if target.padding not in PADDINGS:
        raise UserError(f"unknown padding {target.padding!r}; known: {', '.join(PADDINGS)}")
    if target.threads is not None and target.threads < 0:
        raise UserError(f"threads must be >= 0 (0 = the backend's default), got {target.threads}")
    if target.max_length < 1:
        raise UserError(f"max_length must be >= 1, got {target.max_length}")


def torch_device(target: Target) -> torch.device:
    """The torch device of `target`, checked to exist (UserError when CUDA is absent or the index is bad)."""
    import torch

    kind, index = parse_device(target.device)
    if kind == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise UserError(
            f"{target.backend}: device {target.device!r} asked for, but torch sees no CUDA device "
            f"(torch {torch.__version__}, built for CUDA {torch.version.cuda})"
        )
    if index >= torch.cuda.device_count():
        raise UserError(f"{target.device}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return torch.device("cuda", index)


def working_copy(encoder: Encoder, device: torch.device, dtype: torch.dtype) -> Encoder:
    """`encoder` itself when already on `device` in `dtype`, else a moved/cast copy (tokenizer shared).

    The caller's encoder also computes the fp32 CPU reference, so a backend must never move or cast it.
    """
    first = next(encoder.parameters(), None)
    if first is None or (first.device == device and first.dtype == dtype):
        return encoder
    # Sharing the tokenizer through the memo avoids copying it (it holds no weights and is not moved).
    clone = copy.deepcopy(encoder, memo={id(encoder.tokenizer): encoder.tokenizer})
    return clone.to(device=device, dtype=dtype)


class Closing:
    """Context-manager support for a Prepared: `with prepare(...) as p:` closes it on exit."""

    def activate(self) -> None:
        """Nothing process-wide to restore by default (a session of its own holds its threads)."""

    def close(self) -> None:
        """Nothing to release by default."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
