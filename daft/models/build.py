"""Encoders made: from a declarative spec (`build`), a pretrained model, an architecture, an L0 table's start,
or a directory `Encoder.save` wrote (`load_encoder`: safetensors only, never unpickled).

A sentence-transformers or model2vec directory becomes an encoder through `daft.models.st_models`, which
subclasses `Encoder`: the builders sit above both, so the encoder classes never import what builds them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from daft.core.errors import UserError
from daft.models import st_models
from daft.models.encoders import (
    ENCODER_FILE,
    PROJECTION_FILE,
    STATIC_FILE,
    Encoder,
    StaticEncoder,
    TransformerEncoder,
)
from daft.models.manifest import read_json_object, side_directory

SAFETENSORS_FILE = "model.safetensors"
PICKLE_PATTERNS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")


def _tokenizer(ref: str | Path) -> Any:
    from transformers import AutoTokenizer

    from daft.store.assets import resolve_model

    # A bare tokenizer directory (no model config) is fine here: only the tokenizer is needed.
    path = Path(ref).expanduser()
    return AutoTokenizer.from_pretrained(path if path.is_dir() else resolve_model(str(ref)))


def _default_pooling(model_dir: Path) -> str:
    """Sentence-transformers records its pooling in 1_Pooling/config.json; otherwise mean pooling."""
    path = model_dir / "1_Pooling" / "config.json"
    if path.is_file():
        config = json.loads(path.read_text("utf-8"))
        if config.get("pooling_mode_cls_token") and not config.get("pooling_mode_mean_tokens"):
            return "cls"
    return "mean"


def _pretrained(model_dir: Path) -> nn.Module:
    from transformers import AutoConfig, AutoModel
    from transformers.utils import logging as hf_logging

    # Its per-load progress bars and key reports would drown our own Rich progress.
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    config = AutoConfig.from_pretrained(model_dir)
    kwargs = {"add_pooling_layer": False} if config.model_type in {"bert", "roberta", "mpnet"} else {}
    return AutoModel.from_pretrained(model_dir, **kwargs)


def _embedding_shape(model_dir: Path) -> tuple[int, int]:
    """(rows, width) of a model's input embeddings, read from its config alone: a random table needs no weights."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_dir)
    return int(config.vocab_size), int(getattr(config, "embedding_size", None) or config.hidden_size)


def from_model(ref: str | Path, *, pooling: str | None = None, max_length: int = 256) -> TransformerEncoder:
    """A pretrained transformer encoder from a model asset, a local directory or a hub id."""
    from daft.store.assets import resolve_model

    model_dir = resolve_model(str(ref))
    return TransformerEncoder(
        _pretrained(model_dir),
        _tokenizer(model_dir),
        pooling=pooling or _default_pooling(model_dir),
        max_length=max_length,
    )


def static_from_model(
    ref: str | Path,
    *,
    max_length: int = 256,
    init: str = "embeddings",
    token_weights: str = "none",
    idf_collection: str | None = None,
    seed: int = 0,
) -> StaticEncoder:
    """An L0 encoder whose table starts from a model (`daft.models.distill`: `init`, `token_weights`).

    `embeddings`: the model's input word embeddings; `distilled`: its pooled output for each token alone;
    `random`: a random table of the embeddings' shape (`seed`).
    `token_weights = "idf"` scales each row by the token's idf in `idf_collection`'s corpus.
    """
    from daft.models import distill
    from daft.store.assets import resolve_model

    if init not in distill.INITS:
        raise UserError(f"unknown L0 init {init!r}; known: {', '.join(distill.INITS)}")
    if token_weights not in distill.TOKEN_WEIGHTS:
        raise UserError(f"unknown token_weights {token_weights!r}; known: {', '.join(distill.TOKEN_WEIGHTS)}")
    model_dir = resolve_model(str(ref))
    tokenizer = _tokenizer(model_dir)
    if init == "distilled":
        source = TransformerEncoder(_pretrained(model_dir), tokenizer, pooling=_default_pooling(model_dir))
        table = distill.distilled_table(source)
    elif init == "random":
        table = _random_table(*_embedding_shape(model_dir), seed)
    else:
        table = _pretrained(model_dir).get_input_embeddings().weight.detach().clone()
    if token_weights == "idf":
        if idf_collection is None:
            raise UserError('token_weights = "idf" needs a collection whose corpus gives the idf')
        table = table * distill.idf_weights(tokenizer, distill.corpus_texts(idf_collection)).unsqueeze(1)
    embedding = nn.Embedding.from_pretrained(table, freeze=False)
    return StaticEncoder(embedding, tokenizer, max_length=max_length)


def static_random(tokenizer: str | Path, dim: int, *, seed: int = 0, max_length: int = 256) -> StaticEncoder:
    """An L0 encoder with a randomly initialised table (normal, std 0.02 as in BERT)."""
    tok = _tokenizer(tokenizer)
    weight = _random_table(len(tok), dim, seed)
    return StaticEncoder(nn.Embedding.from_pretrained(weight, freeze=False), tok, max_length=max_length)


def _random_table(rows: int, dim: int, seed: int) -> torch.Tensor:
    """A normal (std 0.02, as BERT initialises) `rows` x `dim` table from its own generator."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(rows, dim, generator=generator) * 0.02


def from_arch(
    tokenizer: str | Path,
    *,
    layers: int,
    hidden: int,
    heads: int,
    intermediate: int | None = None,
    pooling: str = "mean",
    seed: int = 0,
    max_length: int = 256,
) -> TransformerEncoder:
    """A randomly initialised BERT of the given shape with an existing model's tokenizer."""
    from transformers import BertConfig, BertModel

    if hidden % heads:
        raise UserError(f"arch: hidden ({hidden}) must be a multiple of heads ({heads})")
    tok = _tokenizer(tokenizer)
    config = BertConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate or 4 * hidden,
        max_position_embeddings=max(512, max_length),
    )
    torch.manual_seed(seed)
    return TransformerEncoder(
        BertModel(config, add_pooling_layer=False), tok, pooling=pooling, max_length=max_length
    )


def build(spec: Mapping[str, Any]) -> Encoder:
    """An encoder from a declarative spec: {model|arch|pair|path, type, pooling, dim, tokenizer, seed}.

    A `model` that is a sentence-transformers or model2vec directory is loaded as that
    (`daft.models.st_models`); `side` (query, doc) picks the route of an asymmetric (Router) one.

    A static encoder from a model also takes `init`, `token_weights` and `idf_collection`
    (`daft.models.distill`).
    """
    kind = spec.get("type", "transformer")
    max_length = int(spec.get("max_length", 256))
    seed = int(spec.get("seed", 0))
    if "pair" in spec:
        encoder = load_encoder(side_directory(Path(spec["pair"]), spec.get("side", "query")))
    elif "path" in spec:
        encoder = load_encoder(Path(spec["path"]))
    elif "arch" in spec:
        arch = dict(spec["arch"])
        tokenizer = spec.get("tokenizer")
        if tokenizer is None:
            raise UserError("an encoder with `arch` needs `tokenizer` (a model whose tokenizer to use)")
        if kind == "static":
            encoder = static_random(tokenizer, int(arch["hidden"]), seed=seed, max_length=max_length)
        else:
            encoder = from_arch(
                tokenizer, **arch, pooling=spec.get("pooling", "mean"), seed=seed, max_length=max_length
            )
    elif "model" in spec and kind == "transformer" and _ecosystem_dir(spec["model"]):
        # Its own config says pooling, normalisation and truncation; `pooling` and `max_length` do not apply.
        encoder = st_models.load(spec["model"], side=spec.get("side", "query"))
    elif "model" in spec:
        if kind == "static":
            encoder = static_from_model(
                spec["model"],
                max_length=max_length,
                init=spec.get("init", "embeddings"),
                token_weights=spec.get("token_weights", "none"),
                idf_collection=spec.get("idf_collection"),
                seed=seed,
            )
        elif kind == "transformer":
            encoder = from_model(spec["model"], pooling=spec.get("pooling"), max_length=max_length)
        else:
            raise UserError(f"unknown encoder type {kind!r}; known: transformer, static")
    else:
        raise UserError("an encoder spec needs one of: model, arch, pair, path")
    if spec.get("dim") and int(spec["dim"]) != encoder.dim:
        encoder.add_projection(int(spec["dim"]), seed=seed)
    return encoder.eval()


def _ecosystem_dir(ref: Any) -> bool:
    """Whether `ref` is a local sentence-transformers or model2vec model directory."""
    return isinstance(ref, str | Path) and st_models.detect(ref) is not None


def load_encoder(directory: Path) -> Encoder:
    """Load an encoder saved with `Encoder.save` (safetensors only; never unpickles).

    Whatever is malformed (a missing or unreadable file, a wrong tensor key or shape, a table smaller than
    the vocabulary, pickle weights) is a one-line UserError naming the file, never a traceback.
    """
    directory = Path(directory)
    config_path = directory / ENCODER_FILE
    if not config_path.is_file():
        raise UserError(f"{directory}: not a daft encoder directory (no {ENCODER_FILE})")
    config = read_json_object(config_path)
    tokenizer = _saved_tokenizer(directory)
    max_length = int(config.get("max_length", 256))
    if config.get("type") == "static":
        table = _matrix(directory / STATIC_FILE, "embedding.weight")
        rows, source = table.shape[0], directory / STATIC_FILE
        encoder: Encoder = StaticEncoder(
            nn.Embedding.from_pretrained(table, freeze=False), tokenizer, max_length=max_length
        )
    elif config.get("type") == "transformer":
        model = _saved_model(directory)
        rows, source = model.get_input_embeddings().num_embeddings, directory / SAFETENSORS_FILE
        encoder = TransformerEncoder(
            model, tokenizer, pooling=config.get("pooling", "mean"), max_length=max_length
        )
    else:
        raise UserError(f"{config_path}: unknown encoder type {config.get('type')!r}")
    # A token id past the table's end would crash (or read garbage on a GPU) at the first query that has it.
    if rows < len(tokenizer):
        raise UserError(
            f"{source}: the token embedding table has {rows} rows, fewer than the tokenizer's {len(tokenizer)}"
        )
    if config.get("projection"):
        weight = _matrix(directory / PROJECTION_FILE, "weight")
        if weight.shape[1] != encoder.hidden_size:
            raise UserError(
                f"{directory / PROJECTION_FILE}: weight is {tuple(weight.shape)}, but the encoder gives "
                f"{encoder.hidden_size}-d vectors (expected (dim, {encoder.hidden_size}))"
            )
        encoder.projection = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        with torch.no_grad():
            encoder.projection.weight.copy_(weight)
    if config.get("dim") is not None and encoder.dim != int(config["dim"]):
        raise UserError(f"{config_path}: dim {config['dim']} does not match the weights ({encoder.dim})")
    return encoder.eval()


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _saved_tokenizer(directory: Path) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(directory)
    except (OSError, ValueError) as err:
        raise UserError(f"{directory}: no usable tokenizer ({_first_line(err)})") from None


def _safetensors(path: Path, read: Callable[[Path], Any]) -> Any:
    """`read(path)` for a safetensors file, with a missing or unreadable file as a UserError naming it."""
    from safetensors import SafetensorError

    if not path.is_file():
        raise UserError(f"{path}: missing")
    try:
        return read(path)
    except (SafetensorError, OSError, ValueError) as err:
        raise UserError(f"{path}: not a readable safetensors file ({_first_line(err)})") from None


def _tensor_names(path: Path) -> set[str]:
    from safetensors import safe_open

    with safe_open(path, "pt") as handle:
        return set(handle.keys())


def _matrix(path: Path, key: str) -> Tensor:
    """The 2-d float tensor `key` of a safetensors file."""
    from safetensors.torch import load_file

    tensors = _safetensors(path, load_file)
    if key not in tensors:
        raise UserError(f"{path}: no tensor {key!r} (it holds: {', '.join(sorted(tensors)) or 'nothing'})")
    tensor = tensors[key]
    if tensor.ndim != 2 or not tensor.is_floating_point():
        raise UserError(
            f"{path}: {key!r} must be a 2-d float matrix, not {tuple(tensor.shape)} {tensor.dtype}"
        )
    return tensor


def _saved_model(directory: Path) -> nn.Module:
    """The transformer of a saved encoder: safetensors only, and every weight of the model present in them."""
    weights = directory / SAFETENSORS_FILE
    index = directory / f"{SAFETENSORS_FILE}.index.json"  # a sharded save
    if not weights.is_file() and not index.is_file():
        pickles = sorted(p.name for pattern in PICKLE_PATTERNS for p in directory.glob(pattern))
        if pickles:
            raise UserError(
                f"{directory / pickles[0]}: pickle weights are never loaded (unpickling can run code); "
                "save the encoder as safetensors"
            )
        raise UserError(f"{weights}: missing")
    if index.is_file():
        try:
            stored = set(json.loads(index.read_text("utf-8"))["weight_map"])
        except (ValueError, KeyError, TypeError) as err:
            raise UserError(f"{index}: not a safetensors index ({_first_line(err)})") from None
    else:
        stored = _safetensors(weights, _tensor_names)
    try:
        model = _pretrained(directory)
    except (OSError, ValueError, RuntimeError) as err:
        raise UserError(f"{directory}: the transformer does not load ({_first_line(err)})") from None
    # transformers fills weights missing from the file with random values and only logs it.
    if missing := sorted(set(model.state_dict()) - stored):
        raise UserError(
            f"{weights}: no tensor {missing[0]!r} ({len(missing)} of the model's weights are missing)"
        )
    return model
