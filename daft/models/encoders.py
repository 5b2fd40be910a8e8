"""Text encoders: a transformer with CLS or mean pooling, the static L0 encoder, and an optional projection.

Every encoder is a `torch.nn.Module` that owns its tokenizer and splits encoding into the two steps a
latency bench must time separately: `tokenize(texts) -> features` and `forward(**features) -> vectors`.
`encode(texts)` chains them in length-sorted batches and returns L2-normalised numpy rows.

On disk an encoder is a directory that plain `transformers` can read (config, safetensors weights,
tokenizer files) plus `daft_encoder.json` (type, pooling, projection); nothing is ever unpickled
(`Encoder.save` here, `daft.models.build.load_encoder` reads it back).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from daft.core.errors import UserError
from daft.core.finite import require_finite
from daft.models.encoder_source import POOLINGS
from daft.models.tokenization import check_not_empty, check_texts, lean
from daft.store.cache import readable

ENCODER_FILE = "daft_encoder.json"
PROJECTION_FILE = "projection.safetensors"
STATIC_FILE = "static.safetensors"


def _mean_pool(hidden: Tensor, mask: Tensor) -> Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


class Encoder(nn.Module):
    """Base class: tokenizer + module; `forward` returns unnormalised vectors of size `dim`."""

    kind: str = "abstract"

    def __init__(self, tokenizer: Any, max_length: int = 256):
        super().__init__()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.projection: nn.Linear | None = None

    # -- sizes ------------------------------------------------------------------------------------------
    @property
    def hidden_size(self) -> int:
        """Width of the pooled vector before the projection."""
        raise NotImplementedError

    @property
    def dim(self) -> int:
        """Width of the output vectors."""
        return self.projection.out_features if self.projection is not None else self.hidden_size

    def parameter_count(self) -> int:
        """Number of parameters (embedding tables included)."""
        return sum(p.numel() for p in self.parameters())

    def add_projection(self, dim: int, *, seed: int = 0) -> None:
        """Project pooled vectors to `dim` with a bias-free linear map (needed when pair sides differ)."""
        generator = torch.Generator().manual_seed(seed)
        layer = nn.Linear(self.hidden_size, dim, bias=False)
        with torch.no_grad():
            bound = 1.0 / self.hidden_size**0.5
            layer.weight.copy_(torch.empty_like(layer.weight).uniform_(-bound, bound, generator=generator))
        self.projection = layer

    # -- encoding ---------------------------------------------------------------------------------------
    @property
    def input_names(self) -> tuple[str, ...]:
        """The tokenizer outputs that `forward` takes, in a fixed order (also the ONNX input names)."""
        return ("input_ids", "attention_mask")

    def tokenize(
        self, texts: Sequence[str], *, max_length: int | None = None, padding: str = "longest"
    ) -> dict[str, Tensor]:
        """Tokenise a batch into int64 tensors named by `input_names` (views of `tokenize_arrays`)."""
        arrays = self.tokenize_arrays(texts, max_length=max_length, padding=padding)
        return {name: torch.from_numpy(array) for name, array in arrays.items()}

    def tokenize_arrays(
        self, texts: Sequence[str], *, max_length: int | None = None, padding: str = "longest"
    ) -> dict[str, np.ndarray]:
        """Tokenise a batch into int64 numpy arrays named by `input_names` (padded, truncated)."""
        check_texts(texts)
        arrays = lean(self.tokenizer).encode(
            texts,
            max_length=max_length or self.max_length,
            padding=padding,
            special_tokens=self.special_tokens,
        )
        if not self.special_tokens:
            check_not_empty(arrays["attention_mask"].sum(axis=1), texts)
        return {name: arrays[name] for name in self.input_names}

    @property
    def special_tokens(self) -> bool:
        """Whether [CLS]/[SEP]-style special tokens are added (not for L0, which averages words only)."""
        return True

    def pool(self, **features: Tensor) -> Tensor:
        """The pooled vector before projection."""
        raise NotImplementedError

    def forward(self, **features: Tensor) -> Tensor:
        """Unnormalised output vectors for tokenised features."""
        vectors = self.pool(**features)
        return self.projection(vectors) if self.projection is not None else vectors

    def embed(self, **features: Tensor) -> Tensor:
        """L2-normalised output vectors for tokenised features."""
        return F.normalize(self(**features), dim=-1)

    @torch.inference_mode()
    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        max_length: int | None = None,
        device: str | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per text, in input order; `on_batch(n)` after each batch."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        was_training = self.training
        self.eval()
        target = torch.device(device) if device else next(self.parameters()).device

        def batch(chunk: list[str]) -> np.ndarray:
            features = self.tokenize(chunk, max_length=max_length)
            features = {k: v.to(target) for k, v in features.items()}
            return self.embed(**features).float().cpu().numpy()

        out = encode_by_length(texts, self.dim, batch_size, batch, on_batch)
        self.train(was_training)
        return require_finite(out, f"{self.kind} encoder ({self.dim}-d)")

    # -- persistence ------------------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """The daft-specific description stored next to the weights."""
        return {
            "type": self.kind,
            "max_length": self.max_length,
            "hidden_size": self.hidden_size,
            "dim": self.dim,
            "projection": self.projection is not None,
            "parameters": self.parameter_count(),
        }

    def save(self, directory: Path) -> None:
        """Write the encoder into `directory` (created) as safetensors + tokenizer + daft_encoder.json."""
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self._save_body(directory)
        self.tokenizer.save_pretrained(directory)
        if self.projection is not None:
            weight = self.projection.weight.detach().cpu().contiguous()
            save_file({"weight": weight}, directory / PROJECTION_FILE)
        (directory / ENCODER_FILE).write_text(json.dumps(self.config(), indent=2), "utf-8")
        readable(directory)

    def _save_body(self, directory: Path) -> None:
        raise NotImplementedError


class TransformerEncoder(Encoder):
    """A transformer (any `AutoModel`) with CLS or mean pooling."""

    kind = "transformer"

    def __init__(self, model: nn.Module, tokenizer: Any, *, pooling: str = "mean", max_length: int = 256):
        super().__init__(tokenizer, max_length)
        if pooling not in POOLINGS:
            raise UserError(f"unknown pooling {pooling!r}; known: {', '.join(POOLINGS)}")
        self.model = model
        self.pooling = pooling
        takes_types = "token_type_ids" in inspect.signature(model.forward).parameters
        self._input_names = ("input_ids", "attention_mask") + (
            ("token_type_ids",) if takes_types and "token_type_ids" in tokenizer.model_input_names else ()
        )

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    @property
    def input_names(self) -> tuple[str, ...]:
        return self._input_names

    def pool(self, **features: Tensor) -> Tensor:
        hidden = self.model(**features).last_hidden_state
        return hidden[:, 0] if self.pooling == "cls" else _mean_pool(hidden, features["attention_mask"])

    def config(self) -> dict[str, Any]:
        layers = getattr(self.model.config, "num_hidden_layers", None)
        return {**super().config(), "pooling": self.pooling, "layers": layers}

    def _save_body(self, directory: Path) -> None:
        self.model.save_pretrained(directory, safe_serialization=True)


class StaticEncoder(Encoder):
    """L0: the mean of static token embeddings over the non-padding tokens (no special tokens)."""

    kind = "static"

    def __init__(self, embedding: nn.Embedding, tokenizer: Any, *, max_length: int = 256):
        super().__init__(tokenizer, max_length)
        self.embedding = embedding

    @property
    def hidden_size(self) -> int:
        return int(self.embedding.embedding_dim)

    @property
    def special_tokens(self) -> bool:
        return False

    def pool(self, **features: Tensor) -> Tensor:
        return _mean_pool(self.embedding(features["input_ids"]), features["attention_mask"])

    def _save_body(self, directory: Path) -> None:
        from safetensors.torch import save_file

        save_file(
            {"embedding.weight": self.embedding.weight.detach().cpu().contiguous()}, directory / STATIC_FILE
        )


def encode_by_length(
    texts: Sequence[str],
    dim: int,
    batch_size: int,
    batch: Callable[[list[str]], np.ndarray],
    on_batch: Callable[[int], None] | None = None,
) -> np.ndarray:
    """`batch` over length-sorted batches of `texts` (less padding), rows back in input order: float32
    (len(texts), dim); `on_batch(n)` after each batch."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.empty((len(texts), dim), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        out[index] = batch([texts[i] for i in index])
        if on_batch is not None:
            on_batch(len(index))
    return out
