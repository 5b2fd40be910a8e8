"""`sentence-transformers` (a reference row): `SentenceTransformer.encode` on the same transformer encoder.

What a user would otherwise reach for to serve a transformer encoder, with its default (torch) backend.
The encoder is saved into the run's work directory and loaded from there as Transformer -> Pooling (the
encoder's own) -> Normalize modules, so nothing comes from a hub. `encode` tokenises and embeds in one
call, so the whole of it is timed as `forward`. An encoder with a projection is refused (the reference is
for plain models).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bench.backends.base import Backend, Closing, Target, check_target
from daft.core.errors import UserError
from daft.models.tokenization import check_texts

if TYPE_CHECKING:
    from daft.models.encoders import Encoder


class SentenceTransformerPrepared(Closing):
    """A SentenceTransformer over the encoder's saved weights; `forward` is `encode`."""

    cuda_timer = None

    def __init__(self, encoder: Encoder, target: Target, workdir: Path):
        check_target(target)
        if target.device != "cpu" or target.dtype != "fp32":
            raise UserError(f"sentence-transformers: cpu fp32 only here, got {target.device}/{target.dtype}")
        import torch  # here, not at the top: the registry reads BACKENDS without torch

        try:
            import sentence_transformers
            from sentence_transformers import SentenceTransformer
            from sentence_transformers.sentence_transformer import modules
        except ImportError:
            raise UserError(
                "sentence-transformers: not installed (pip install sentence-transformers)"
            ) from None
        if encoder.kind != "transformer" or encoder.projection is not None:
            raise UserError("sentence-transformers: runs transformer encoders without a projection only")
        directory = Path(workdir) / f"sentence-transformers-{id(encoder)}"
        if not directory.is_dir():
            encoder.save(directory)
        pooling = getattr(encoder, "pooling", "mean")
        stack = [
            modules.Transformer(str(directory), max_seq_length=target.max_length),
            modules.Pooling(encoder.hidden_size, pooling_mode=pooling),
            modules.Normalize(),
        ]
        self._previous_threads = torch.get_num_threads()
        self._threads = target.threads
        self.model = SentenceTransformer(modules=stack, device="cpu").eval()
        if target.threads:
            torch.set_num_threads(target.threads)
        self.info: dict[str, Any] = {
            "backend": target.backend,
            "device": "cpu",
            "dtype": "fp32",
            "threads": torch.get_num_threads(),
            "threads_requested": target.threads,
            "max_length": target.max_length,
            "sentence_transformers": sentence_transformers.__version__,
            "torch": torch.__version__,
            "pooling": pooling,
            "dim": encoder.dim,
            "encoder": encoder.kind,
            "reference": True,
            "phases": "SentenceTransformer.encode tokenises inside: all of it is timed as forward",
            "quantised": False,
        }

    def activate(self) -> None:
        """Set torch's thread count back to this target's (another Prepared may have changed it)."""
        if self._threads:
            import torch

            torch.set_num_threads(self._threads)

    def tokenize(self, texts: Sequence[str]) -> list[str]:
        """The texts themselves (checked): sentence-transformers tokenises inside `encode`."""
        check_texts(texts)
        return list(texts)

    def forward(self, inputs: list[str]) -> np.ndarray:
        """`SentenceTransformer.encode` of the whole batch at once."""
        return self.model.encode(
            inputs, batch_size=len(inputs), convert_to_numpy=True, show_progress_bar=False
        )

    def fetch(self, output: np.ndarray) -> np.ndarray:
        """Already on the host."""
        return np.ascontiguousarray(output, dtype=np.float32)

    def close(self) -> None:
        """Restore the thread count."""
        import torch

        torch.set_num_threads(self._previous_threads)


def prepare(encoder: Encoder, target: Target, *, workdir: Path) -> SentenceTransformerPrepared:
    """A SentenceTransformer over `encoder`, saved into `workdir` and loaded from there."""
    return SentenceTransformerPrepared(encoder, target, workdir)


BACKENDS = (
    Backend(
        "sentence-transformers",
        "reference: SentenceTransformer.encode on the same transformer (its default torch backend)",
        prepare,
        {"cpu": ("fp32",)},
        off_device="the sentence-transformers reference is measured on cpu only",
        encoder_kinds=("transformer",),
        reference=True,
    ),
)
