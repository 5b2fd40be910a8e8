"""sentence-transformers and model2vec model directories as daft encoders.

A directory with `modules.json` is a sentence-transformers model: it is loaded by `SentenceTransformer`
itself, so pooling, dense layers, normalisation and truncation are exactly what its config says. An
asymmetric model (a `Router` with query and document routes) gives one encoder per route. A model2vec
directory (`config.json` with `"model_type": "model2vec"`, or model2vec's own keys and a `tokenizer.json`)
is loaded as a sentence-transformers `StaticEmbedding` (mean of token vectors, no special tokens), then
normalised when its config says `normalize`.

Nothing is fetched: the loaders only read local directories (a hub id never reaches here).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from torch import Tensor

from daft.core.errors import UserError
from daft.models.encoders import Encoder

MODULES_FILE = "modules.json"
ROUTES = {"query": "query", "doc": "document"}
# Where `from_pretrained` reports the weights a checkpoint lacked (and it initialised at random, loading on).
LOAD_REPORT_LOGGER = "transformers.modeling_utils"
# BERT's pooler (the [CLS] dense + tanh of next-sentence prediction) is never used by sentence-transformers'
# pooling, and many sentence-transformers checkpoints leave it out: its absence changes no vector.
UNUSED_WEIGHTS = ("pooler.",)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _model2vec_config(path: Path) -> dict[str, Any] | None:
    config = path / "config.json"
    if not config.is_file():
        return None
    try:
        found = json.loads(config.read_text("utf-8"))
    except ValueError as err:  # a garbled config would otherwise be ignored, and the folder misread
        raise UserError(f"{config}: invalid JSON ({err})") from None
    if not isinstance(found, dict):
        return None
    # Older model2vec versions name the type; newer ones write only their own keys (no transformers type).
    named = found.get("model_type") == "model2vec"
    unnamed = "model_type" not in found and "normalize" in found and (path / "tokenizer.json").is_file()
    return found if named or unnamed else None


def detect(ref: str | Path) -> str | None:
    """`sentence-transformers`, `model2vec`, or None (not a local directory of either)."""
    path = Path(ref).expanduser()
    if not path.is_dir():
        return None
    # model2vec writes a modules.json too; its own config is the better guide to how it encodes.
    if _model2vec_config(path) is not None:
        return "model2vec"
    return "sentence-transformers" if (path / MODULES_FILE).is_file() else None


def is_asymmetric(ref: str | Path) -> bool:
    """Whether `ref` is a sentence-transformers directory whose model routes queries and documents apart."""
    if detect(ref) != "sentence-transformers":
        return False
    try:
        modules = json.loads((Path(ref).expanduser() / MODULES_FILE).read_text("utf-8"))
    except ValueError as err:
        raise UserError(f"{Path(ref) / MODULES_FILE}: invalid JSON ({err})") from None
    return any(str(m.get("type", "")).endswith("Router") for m in modules if isinstance(m, dict))


class SentenceTransformerEncoder(Encoder):
    """A `SentenceTransformer` (one route of it, for a Router) behind daft's Encoder interface."""

    kind = "sentence-transformers"

    def __init__(self, model: Any, *, route: str | None = None, source: str = "") -> None:
        longest = getattr(model, "max_seq_length", None)
        # A static route has no limit (inf); daft's max_length is only recorded for such an encoder.
        super().__init__(getattr(model, "tokenizer", None), int(longest) if _finite(longest) else 256)
        self.st = model
        self.route = route
        self.source = source
        self._task = {"task": route} if route else {}

    @property
    def hidden_size(self) -> int:
        named = getattr(self.st, "get_embedding_dimension", None) or self.st.get_sentence_embedding_dimension
        dim = named()
        if not dim:
            raise UserError(f"{self.source}: the sentence-transformers model does not say its dimension")
        return int(dim)

    def tokenize(
        self, texts: Sequence[str], *, max_length: int | None = None, padding: str = "longest"
    ) -> dict:
        """The model's own preprocessing (its tokenizer, truncation and any prompt-free route inputs)."""
        for index, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise UserError(
                    f"empty text at position {index} of the batch: every query/document needs text"
                )
        features = self.st.preprocess(list(texts), **self._task)
        return {name: value for name, value in features.items() if isinstance(value, Tensor)}

    def pool(self, **features: Tensor) -> Tensor:
        return self.st.forward(dict(features), **self._task)["sentence_embedding"]

    def config(self) -> dict[str, Any]:
        return {**super().config(), "source": self.source, "route": self.route}

    def _save_body(self, directory: Path) -> None:
        raise UserError(
            f"{self.source}: a sentence-transformers encoder is not saved as a daft encoder; use its directory"
        )


def load(ref: str | Path, *, side: str = "query") -> SentenceTransformerEncoder:
    """The encoder of a local sentence-transformers or model2vec directory (`side` picks a Router's route)."""
    from sentence_transformers import SentenceTransformer

    path = Path(ref).expanduser()
    found = detect(path)
    if side not in ROUTES:
        raise UserError(f"unknown side {side!r}; known: {', '.join(ROUTES)}")
    if found is None:
        raise UserError(f"{path}: neither a sentence-transformers nor a model2vec model directory")
    try:
        with _missing_weights() as missing:
            if found == "sentence-transformers":
                model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            else:
                model = _model2vec(path)
    # What the libraries raise on a damaged folder has no common base (safetensors' and tokenizers' errors
    # are plain Exceptions; a garbled modules.json a TypeError): whatever this call raises is the folder's.
    except Exception as err:
        raise UserError(
            f"{path}: cannot load it as a {found} model ({type(err).__name__}: {_first_line(err)})"
        ) from None
    if missing:
        missing.sort()
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise UserError(
            f"{path}: its checkpoint lacks weights the model needs ({shown}); transformers would have "
            "initialised them at random"
        )
    route = ROUTES[side] if is_asymmetric(path) else None
    return SentenceTransformerEncoder(model, route=route, source=str(path)).eval()


class _LoadReports(logging.Handler):
    """The keys that transformers' load reports (a `Key | Status` table) name MISSING."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.missing: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        for line in _ANSI.sub("", record.getMessage()).splitlines():
            key, _, status = (cell.strip() for cell in line.partition(" | "))
            if status.startswith("MISSING") and not key.startswith(UNUSED_WEIGHTS):
                self.missing.append(key)


@contextmanager
def _missing_weights() -> Iterator[list[str]]:
    """The weights the loads inside lacked: transformers only logs them, so its report is listened to (at
    warning level even where the user silenced transformers' warnings)."""
    logger = logging.getLogger(LOAD_REPORT_LOGGER)
    reports, level = _LoadReports(), logger.level
    logger.addHandler(reports)
    logger.setLevel(min(level or logging.WARNING, logging.WARNING))
    try:
        yield reports.missing
    finally:
        logger.removeHandler(reports)
        logger.setLevel(level)


def _model2vec(path: Path) -> Any:
    """A model2vec directory as a SentenceTransformer: StaticEmbedding, then Normalize if its config says."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, StaticEmbedding

    config = _model2vec_config(path) or {}
    modules: list[Any] = [StaticEmbedding.from_model2vec(str(path))]
    if config.get("normalize", True):
        modules.append(Normalize())
    return SentenceTransformer(modules=modules, device="cpu")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0
