"""The training recipe file: its TOML schema, defaults, validation, `include` and `--set` overrides.

`load_recipe` turns a recipe file into a frozen, fully defaulted `Recipe` or raises one `UserError` whose
message names the file, the table and the key (or the `--set` override that caused the problem), so that
a typo costs a second and not an hour of training. It is the same engine as the bench suites
(`daft.core.config`). Model names are checked for form only (`daft.models.build.build` resolves them);
the collection, and the folders of `pair` and `path`, must exist.

Relative paths: `[recipe] output` is relative to the current directory. `[data] collection` (when it is not
a built-in name) and the encoders' `model`, `pair`, `path` and `tokenizer` are looked up next to the file
that wrote them first, then in the current directory. A recipe may start with `include = "base.toml"`
(relative to the recipe): that file's tables are merged in key by key, the recipe's own keys winning; an
encoder's source (model / arch + tokenizer / pair / path) is replaced as a whole. One level only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from daft.collections.collection import is_split_name
from daft.collections.registry import BUILTINS, folder_kinds, format_of, not_a_collection
from daft.core.config import (
    NAME,
    Arch,
    Loader,
    Schema,
    Table,
    apply_override,
    check_top_level,
    jsonable,
    read_including,
    show,
    suggest,
)
from daft.models.distill import INITS, TOKEN_WEIGHTS
from daft.models.encoder_source import ENCODER_TYPES, POOLINGS, SOURCES, existing, parse_source

__all__ = [
    "ALIGN_METRICS",
    "DEVICES",
    "ENCODER_TYPES",
    "INDEX_NEGATIVES",
    "METHODS",
    "TEACHERS",
    "NORMALIZATIONS",
    "POOLINGS",
    "PRECISIONS",
    "SIDES",
    "Arch",
    "DataSpec",
    "EncoderRecipe",
    "IndexSpec",
    "LossSpec",
    "NegativesSpec",
    "Recipe",
    "RecipeInfo",
    "TrainSpec",
    "load_recipe",
]

# zero_shot: evaluate untrained (a reference); fixed_index: the query side alone, against the document
# encoder's vectors of the whole corpus, computed once; fixed_index_finetune: that, then both sides fine-tuned.
METHODS = ("standard", "daft", "align_only", "zero_shot", "fixed_index", "fixed_index_finetune")
INDEX_METHODS = ("fixed_index", "fixed_index_finetune")
INDEX_NEGATIVES = ("corpus", "sampled", "bm25")
TEACHERS = ("doc", "encoder", "none")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
NORMALIZATIONS = ("row", "matrix")
ALIGN_METRICS = ("kl", "nDCG@10")
SIDES = ("query", "doc")


# --- the resolved recipe -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecipeInfo:
    """[recipe]: the name, the method, where the pair is written, the seed, device and precision."""

    name: str  # default: the file stem
    method: str  # required: standard | daft | align_only
    output: Path  # default: pairs/<name>; relative to the current directory, stored absolute
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    # auto: fp32 on CPU; on CUDA bf16 autocast where supported, else fp16.
    precision: str = "auto"


@dataclass(frozen=True)
class DataSpec:
    """[data]: the collection, its splits, and the query and document budgets of training and validation."""

    collection: str = "wordnet-small"  # a built-in name, or the absolute path of a BEIR / MS MARCO folder
    train_split: str = "train"
    dev_split: str = "dev"
    test_split: str = "test"  # evaluated once at the end; "" skips it
    max_train_queries: int = 0  # 0 = all; else a stable subset
    max_dev_queries: int = 1000  # validation queries (nDCG@10, RR@10)
    kl_documents: int = 2000  # validation documents for the KL estimator and the diagnostics
    validation_documents: int = 0  # 0 = rank the whole corpus at validation; else relevant + BM25-hard + fill
    query_max_length: int = 32
    doc_max_length: int = 64


@dataclass(frozen=True)
class NegativesSpec:
    """[negatives]: `k` hard negatives per training query, sampled from BM25's (k1, b) top `depth`."""

    k: int = 8
    depth: int = 100
    k1: float = 0.9
    b: float = 0.4


@dataclass(frozen=True)
class EncoderRecipe:
    """[query_encoder] / [doc_encoder]: exactly one of model, arch (with tokenizer), pair or path; plus lr."""

    type: str | None = "transformer"  # transformer | static; None with pair or path (the saved one's)
    model: str | None = None  # an asset name, a hub id, or an absolute path
    arch: Arch | None = None
    tokenizer: str | None = None  # with arch only
    pair: Path | None = None  # this side of a saved pair (absolute)
    path: Path | None = None  # a saved encoder directory (absolute)
    pooling: str | None = "mean"  # mean | cls; None with pair or path (the saved one's)
    dim: int | None = None  # add a projection to this size (matching the sides is checked at build time)
    lr: float = 1e-5
    # A freshly initialised projection usually wants a larger step than pre-trained weights; None = `lr`.
    projection_lr: float | None = None
    # A static encoder from a model: where its table starts (embeddings | distilled) and its token weights
    # (none | idf over [data] collection's corpus); see daft/models/distill.py.
    init: str = "embeddings"
    token_weights: str = "none"


@dataclass(frozen=True)
class LossSpec:
    """[loss]: scaled cosine similarity, how the softmax is normalised, and output dropout."""

    scale: float = 20.0  # tau = 1 / scale
    normalization: str = "row"  # row: per-query softmax; matrix: over the whole score matrix (the authors')
    dropout: float = 0.1  # on encoder outputs, during training; in [0, 1)


@dataclass(frozen=True)
class IndexSpec:
    """[index]: the objective of the fixed-index stage (methods fixed_index and fixed_index_finetune).

    The document side is fixed, so its vectors of the whole corpus are computed once
    (`daft.search.embeddings`) and a step costs the query encoder and one matrix product. The loss is the
    contrastive loss of [loss] over the candidates `negatives` names, plus the teacher's terms:
    `cosine_weight` x (1 - cos(query vector, teacher's vector of the same query)) and `listwise_weight` x
    KL(teacher's || student's softmax of [loss] scale x cosine over the same candidates), a listwise
    distillation of the teacher's ranking.
    """

    negatives: str = (
        "corpus"  # corpus: every document; sampled: `sampled_negatives` per step; bm25: [negatives]
    )
    sampled_negatives: int = 4096  # with negatives = "sampled": documents drawn per step, shared by the batch
    teacher: str = "doc"  # doc: the document encoder on the queries; encoder: [teacher]; none
    cosine_weight: float = 1.0
    listwise_weight: float = 0.0


@dataclass(frozen=True)
class TrainSpec:
    """[train]: batches, optimiser, validation cadence, the epoch budgets of both stages, checkpoints."""

    batch_size: int = 32
    warmup_steps: int = 100  # linear warm-up, then constant
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0  # 0 = no clipping
    steps_per_epoch: int = 0  # 0 = a full pass over the training queries
    eval_every: int = 0  # validate every N steps; 0 = once per epoch
    # Stage 1 (daft, align_only) by default stops at the first validation whose KL does not improve.
    align_max_epochs: int = 10
    align_metric: str = "kl"  # kl | nDCG@10: what picks the best align weights and stops the stage
    align_min_delta: float = 0.0  # an improvement must beat the best by this fraction of it; in [0, 1)
    align_patience: int = 0  # validations without improvement tolerated before the align stage stops
    finetune_max_epochs: int = 10  # stage 2 (daft) and the whole of standard
    finetune_patience: int = 3  # early stopping on dev nDCG@10; 0 = stop at the first non-improvement
    # The fixed-index stage: early-stopped on dev nDCG@10, which it ranks against the whole corpus for free.
    index_max_epochs: int = 20
    index_patience: int = 2
    checkpoint_every: int = 0  # steps between resumable checkpoints; 0 = at each validation


# Top-level table (and Recipe attribute) -> dataclass. Known keys, override typing and `to_dict` derive from it.
_TABLES: dict[str, type] = {
    "recipe": RecipeInfo,
    "data": DataSpec,
    "negatives": NegativesSpec,
    "query_encoder": EncoderRecipe,
    "doc_encoder": EncoderRecipe,
    "loss": LossSpec,
    "train": TrainSpec,
    "index": IndexSpec,
    "teacher": EncoderRecipe,  # optional: with [index] teacher = "encoder", the query encoder that teaches
}

SCHEMA = Schema(
    kind="recipe",
    tables=_TABLES,
    example="train.batch_size=16 or query_encoder.lr=1e-3",
    groups=(frozenset({*SOURCES, "tokenizer"}),),
)


@dataclass(frozen=True)
class Recipe:
    """A validated, fully defaulted training recipe; paths in it are absolute."""

    path: Path
    # Every table is the attribute of its name: recipe.recipe.seed, recipe.train.batch_size, ...
    recipe: RecipeInfo
    data: DataSpec
    negatives: NegativesSpec
    query_encoder: EncoderRecipe
    doc_encoder: EncoderRecipe
    loss: LossSpec
    train: TrainSpec
    index: IndexSpec
    teacher: EncoderRecipe | None  # the [teacher] table, present only with [index] teacher = "encoder"
    overrides: tuple[str, ...] = ()
    include: Path | None = None  # the file named by `include`, absolute

    @property
    def name(self) -> str:
        """The recipe's name ([recipe] name, by default the file stem)."""
        return self.recipe.name

    @property
    def method(self) -> str:
        """The training method: standard, daft or align_only."""
        return self.recipe.method

    @property
    def output(self) -> Path:
        """The directory the trained pair is written to (absolute)."""
        return self.recipe.output

    def encoder(self, side: str) -> EncoderRecipe:
        """The [query_encoder] or [doc_encoder] table of `side` ("query" or "doc"; the table names work too)."""
        return self.query_encoder if _side(side) == "query" else self.doc_encoder

    def max_length(self, side: str) -> int:
        """The token budget of `side`: [data] query_max_length or doc_max_length."""
        return self.data.query_max_length if _side(side) == "query" else self.data.doc_max_length

    def encoder_spec(self, side: str) -> dict[str, Any]:
        """The spec `daft.models.build.build` takes for `side` (no lr; a pair gives its own `side`)."""
        side = _side(side)
        return self._spec(self.encoder(side), side, self.max_length(side))

    def teacher_spec(self) -> dict[str, Any]:
        """The spec of the [teacher] encoder (a pair gives its query side); it encodes queries."""
        if self.teacher is None:
            raise ValueError("the recipe has no [teacher] table")
        return self._spec(self.teacher, "query", self.data.query_max_length)

    def _spec(self, enc: EncoderRecipe, side: str, max_length: int) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        if enc.model is not None or enc.arch is not None:
            spec["type"] = enc.type
            spec["pooling"] = enc.pooling
        if enc.model is not None:
            spec["model"] = enc.model
            # Only what differs from the defaults, so that the specs of existing recipes stay as they were.
            if enc.init != "embeddings":
                spec["init"] = enc.init
            if enc.token_weights != "none":
                spec["token_weights"] = enc.token_weights
                spec["idf_collection"] = self.data.collection
        elif enc.arch is not None:
            spec["arch"] = asdict(enc.arch)
            spec["tokenizer"] = enc.tokenizer
        elif enc.pair is not None:
            spec["pair"] = str(enc.pair)
            spec["side"] = side
        elif enc.path is not None:
            spec["path"] = str(enc.path)
        if enc.dim is not None:
            spec["dim"] = enc.dim
        spec["seed"] = self.recipe.seed
        spec["max_length"] = max_length
        return spec

    def to_dict(self) -> dict[str, Any]:
        """The recipe as resolved, JSON-ready: file, include, overrides, then one entry per table."""
        out: dict[str, Any] = {
            "path": str(self.path),
            "include": None if self.include is None else str(self.include),
            "overrides": list(self.overrides),
        }
        for table in _TABLES:
            value = getattr(self, table)
            if value is not None:  # an optional table the recipe does not have
                out[table] = jsonable(value)
        return out


def _side(side: str) -> str:
    """`side` as "query" or "doc" (also accepted: "query_encoder", "doc_encoder"); ValueError otherwise."""
    name = side.removesuffix("_encoder")
    if name not in SIDES:
        raise ValueError(f"unknown side {side!r}; known: query, doc (or query_encoder, doc_encoder)")
    return name


# --- loading -----------------------------------------------------------------------------------------------


def load_recipe(path: Path, overrides: Sequence[str] = ()) -> Recipe:
    """Read (with its include), override and validate the recipe at `path`; problems are one-line UserErrors."""
    path = Path(path)
    if isinstance(overrides, str):  # one override passed bare would otherwise be read character by character
        overrides = (overrides,)
    raw, origins, included = read_including(path, SCHEMA)
    provenance: dict[tuple[Any, ...], str] = {}
    for text in overrides:
        apply_override(path, raw, text, provenance, SCHEMA)
    loader = Loader(path, provenance, origins)
    check_top_level(loader, raw, SCHEMA)

    def table(name: str) -> Table:
        return loader.table(f"[{name}]", (name,), raw.get(name, {}), _TABLES[name])

    info = _parse_recipe(table("recipe"))
    data = _parse_data(table("data"))
    negatives = _parse_negatives(table("negatives"))
    query = _parse_encoder(table("query_encoder"), default_model=None)
    doc = _parse_encoder(table("doc_encoder"), default_model="minilm-l6")
    loss = _parse_loss(table("loss"))
    train = _parse_train(table("train"))
    if info.method not in INDEX_METHODS:
        for name in ("index", "teacher"):
            if name in raw:
                loader.fail(
                    f"[{name}]",
                    [(name,)],
                    f"only used by the methods with a fixed-index stage ({', '.join(INDEX_METHODS)}), "
                    f"not {info.method!r}",
                )
    index = _parse_index(table("index"), "teacher" in raw)
    teacher = _parse_encoder(table("teacher"), default_model=None) if "teacher" in raw else None
    if data.max_train_queries and data.max_train_queries < train.batch_size:
        loader.fail(
            "[train] batch_size",
            [("train", "batch_size"), ("data", "max_train_queries")],
            f"batch_size ({train.batch_size}) is above [data] max_train_queries ({data.max_train_queries}): "
            "not one full batch",
        )
    return Recipe(
        path, info, data, negatives, query, doc, loss, train, index, teacher, tuple(overrides), included
    )


# --- the tables --------------------------------------------------------------------------------------------


def _parse_recipe(t: Table) -> RecipeInfo:
    stem = t.loader.path.stem
    if "name" not in t and not NAME.fullmatch(stem):
        t.fail(
            "name",
            f"the file name {stem!r} is not a valid recipe name (letters, digits, '.', '_', '-'); set one",
        )
    name = t.string("name", stem, pattern=NAME)
    if "method" not in t:
        t.fail("method", f"required key is missing (one of: {', '.join(METHODS)})")
    method = t.choice("method", METHODS, "method")
    output = Path(os.path.abspath(Path(t.string("output", f"pairs/{name}")).expanduser()))
    device = t.choice("device", DEVICES, "device")
    precision = t.choice("precision", PRECISIONS, "precision")
    if device == "cpu" and precision == "fp16":
        t.fail(("device", "precision"), "fp16 training needs CUDA; use fp32 or bf16 on cpu")
    return RecipeInfo(name, method, output, t.integer("seed", minimum=0), device, precision)


def _parse_data(t: Table) -> DataSpec:
    reference = t.string("collection")
    collection = reference
    if reference not in BUILTINS:
        found = existing(t, "collection", reference)
        if found is None:
            known = sorted(BUILTINS)
            t.fail(
                "collection",
                f"unknown collection {reference!r}{suggest(reference, known)} (built-in: {', '.join(known)}; "
                f"or the path of {folder_kinds()})",
            )
        if not (os.path.isdir(found) and format_of(Path(found))):
            t.fail("collection", not_a_collection(found))
        collection = found
    splits = {}
    for key in ("train_split", "dev_split", "test_split"):
        split = t.text(key)
        if not is_split_name(split) and not (key == "test_split" and split == ""):
            skip = ' or "" to skip' if key == "test_split" else ""
            t.fail(key, f"expected a split name (letters, digits, '_', '.', '-'){skip}, got {show(split)}")
        splits[key] = split
    for other in ("dev_split", "test_split"):
        if splits[other] == splits["train_split"]:
            t.fail(("train_split", other), f"the training split {show(splits[other])} cannot also be {other}")
    return DataSpec(
        collection=collection,
        **splits,
        max_train_queries=t.integer("max_train_queries", minimum=0),
        max_dev_queries=t.integer("max_dev_queries", minimum=1),
        kl_documents=t.integer("kl_documents", minimum=1),
        validation_documents=t.integer("validation_documents", minimum=0),
        query_max_length=t.integer("query_max_length", minimum=1),
        doc_max_length=t.integer("doc_max_length", minimum=1),
    )


def _parse_negatives(t: Table) -> NegativesSpec:
    k = t.integer("k", minimum=0)  # 0: in-batch negatives only, no BM25 run of the training queries
    depth = t.integer("depth", minimum=1)
    if depth < k:
        t.fail(
            ("k", "depth"), f"depth ({depth}) is below k ({k}): negatives are sampled from BM25's top depth"
        )
    k1 = t.number("k1", positive=False)
    b = t.number("b", positive=False)
    if b > 1:
        t.fail("b", f"expected a number between 0 and 1, got {show(t.value('b'))}")
    return NegativesSpec(k, depth, k1, b)


def _parse_encoder(t: Table, *, default_model: str | None) -> EncoderRecipe:
    source = parse_source(t, default_model=default_model)
    lr = t.number("lr", positive=True)
    projection_lr = t.number("projection_lr", positive=True) if "projection_lr" in t else None
    if projection_lr is not None and source.dim is None and not source.saved:
        t.fail("projection_lr", "only used with dim (there is no projection to train)")
    init = t.choice("init", INITS, "L0 init")
    token_weights = t.choice("token_weights", TOKEN_WEIGHTS, "token weights")
    for key in ("init", "token_weights"):
        if key in t and (source.type != "static" or source.model is None):
            t.fail(key, 'only used with type = "static" and model (it says where an L0 table starts)')
    if source.saved:  # the saved encoder's own type and pooling apply
        return EncoderRecipe(
            None, None, None, None, source.pair, source.path, None, source.dim, lr, projection_lr
        )
    return EncoderRecipe(
        source.type,
        source.model,
        source.arch,
        source.tokenizer,
        None,
        None,
        source.pooling,
        source.dim,
        lr,
        projection_lr,
        init,
        token_weights,
    )


def _fraction(t: Table, key: str) -> float:
    """A number in [0, 1)."""
    value = t.number(key, positive=False)
    if value >= 1:
        t.fail(key, f"expected a number in [0, 1), got {show(t.value(key))}")
    return value


def _parse_loss(t: Table) -> LossSpec:
    scale = t.number("scale", positive=True)
    normalization = t.choice("normalization", NORMALIZATIONS, "normalization")
    return LossSpec(scale, normalization, _fraction(t, "dropout"))


def _parse_index(t: Table, has_teacher_table: bool) -> IndexSpec:
    negatives = t.choice("negatives", INDEX_NEGATIVES, "index negatives")
    if "sampled_negatives" in t and negatives != "sampled":
        t.fail("sampled_negatives", 'only used with negatives = "sampled"')
    teacher = t.choice("teacher", TEACHERS, "teacher")
    if teacher == "encoder" and not has_teacher_table:
        t.fail("teacher", 'teacher = "encoder" needs a [teacher] table (model, pair or path)')
    if has_teacher_table and teacher != "encoder":
        t.fail(
            "teacher", f'a [teacher] table is given, but teacher = {show(teacher)}; set teacher = "encoder"'
        )
    cosine = t.number("cosine_weight", positive=False)
    listwise = t.number("listwise_weight", positive=False)
    for key in ("cosine_weight", "listwise_weight"):
        if teacher == "none" and key in t:
            t.fail(key, 'only used with a teacher (teacher = "none" has no terms to weigh)')
    return IndexSpec(negatives, t.integer("sampled_negatives", minimum=1), teacher, cosine, listwise)


def _parse_train(t: Table) -> TrainSpec:
    return TrainSpec(
        batch_size=t.integer("batch_size", minimum=1),
        warmup_steps=t.integer("warmup_steps", minimum=0),
        weight_decay=t.number("weight_decay", positive=False),
        max_grad_norm=t.number("max_grad_norm", positive=False),
        steps_per_epoch=t.integer("steps_per_epoch", minimum=0),
        eval_every=t.integer("eval_every", minimum=0),
        align_max_epochs=t.integer("align_max_epochs", minimum=1),
        align_metric=t.choice("align_metric", ALIGN_METRICS, "align metric"),
        align_min_delta=_fraction(t, "align_min_delta"),
        align_patience=t.integer("align_patience", minimum=0),
        finetune_max_epochs=t.integer("finetune_max_epochs", minimum=1),
        finetune_patience=t.integer("finetune_patience", minimum=0),
        index_max_epochs=t.integer("index_max_epochs", minimum=1),
        index_patience=t.integer("index_patience", minimum=0),
        checkpoint_every=t.integer("checkpoint_every", minimum=0),
    )
