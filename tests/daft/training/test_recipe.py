"""Tests for daft.training.recipe: defaults, every error path (one line, naming file, table and key), overrides,
include, encoder specs, and the shipped recipes."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from daft.core.errors import UserError
from daft.training.recipe import (
    Arch,
    DataSpec,
    EncoderRecipe,
    IndexSpec,
    LossSpec,
    NegativesSpec,
    Recipe,
    RecipeInfo,
    TrainSpec,
    load_recipe,
)

RECIPES = Path(__file__).resolve().parents[3] / "recipes"

MINIMAL = """
[recipe]
method = "daft"

[query_encoder]
model = "minilm-l3"
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test from an empty directory: `output` and some references are relative to it."""
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)


def _write(folder: Path, text: str, name: str = "r.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path, overrides: Sequence[str] = ()) -> str:
    """The message of the UserError that loading `path` raises, checked to be one line."""
    with pytest.raises(UserError) as caught:
        load_recipe(path, overrides)
    message = str(caught.value)
    assert "\n" not in message
    return message


def _beir(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "corpus.jsonl").write_text('{"_id": "d", "text": "t"}\n', encoding="utf-8")
    return folder


# --- defaults ----------------------------------------------------------------------------------------------


def test_minimal_file_gets_every_default(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL, "daft-l3.toml")
    # Literal values, not the dataclass defaults: a changed default must fail here.
    assert load_recipe(path) == Recipe(
        path=path,
        recipe=RecipeInfo(
            name="daft-l3",
            method="daft",
            output=tmp_path / "cwd" / "pairs" / "daft-l3",
            seed=0,
            device="auto",
            precision="auto",
        ),
        data=DataSpec(
            collection="wordnet-small",
            train_split="train",
            dev_split="dev",
            test_split="test",
            max_train_queries=0,
            max_dev_queries=1000,
            kl_documents=2000,
            query_max_length=32,
            doc_max_length=64,
        ),
        negatives=NegativesSpec(k=8, depth=100, k1=0.9, b=0.4),
        query_encoder=EncoderRecipe(
            type="transformer",
            model="minilm-l3",
            arch=None,
            tokenizer=None,
            pair=None,
            path=None,
            pooling="mean",
            dim=None,
            lr=1e-5,
        ),
        doc_encoder=EncoderRecipe(
            type="transformer",
            model="minilm-l6",
            arch=None,
            tokenizer=None,
            pair=None,
            path=None,
            pooling="mean",
            dim=None,
            lr=1e-5,
        ),
        loss=LossSpec(scale=20.0, normalization="row", dropout=0.1),
        train=TrainSpec(
            batch_size=32,
            warmup_steps=100,
            weight_decay=0.01,
            max_grad_norm=1.0,
            steps_per_epoch=0,
            eval_every=0,
            align_max_epochs=10,
            finetune_max_epochs=10,
            finetune_patience=3,
            index_max_epochs=20,
            index_patience=2,
            checkpoint_every=0,
        ),
        index=IndexSpec(
            negatives="corpus", sampled_negatives=4096, teacher="doc", cosine_weight=1.0, listwise_weight=0.0
        ),
        teacher=None,
        overrides=(),
        include=None,
    )


FULL = """
[recipe]
name = "full"
method = "align_only"
output = "out/full"
seed = 7
device = "cuda"
precision = "bf16"

[data]
collection = "wordnet"
train_split = "train"
dev_split = "dev"
test_split = ""
max_train_queries = 64
max_dev_queries = 10
kl_documents = 20
validation_documents = 16
query_max_length = 16
doc_max_length = 128

[negatives]
k = 2
depth = 2
k1 = 1
b = 1

[query_encoder]
type = "transformer"
arch = { layers = 2, hidden = 128, heads = 2, intermediate = 512 }
tokenizer = "minilm-l6"
pooling = "cls"
dim = 384
lr = 1e-3

[doc_encoder]
type = "static"
model = "minilm-l6"
lr = 2e-5

[loss]
scale = 50
normalization = "matrix"
dropout = 0

[train]
batch_size = 8
warmup_steps = 0
weight_decay = 0
max_grad_norm = 0
steps_per_epoch = 5
eval_every = 3
align_max_epochs = 1
finetune_max_epochs = 2
finetune_patience = 0
checkpoint_every = 4
"""


def test_full_file_is_read_as_written(tmp_path: Path) -> None:
    recipe = load_recipe(_write(tmp_path, FULL))
    assert recipe.recipe == RecipeInfo(
        "full", "align_only", tmp_path / "cwd" / "out" / "full", 7, "cuda", "bf16"
    )
    assert (recipe.name, recipe.method, recipe.output) == ("full", "align_only", recipe.recipe.output)
    assert recipe.data == DataSpec("wordnet", "train", "dev", "", 64, 10, 20, 16, 16, 128)
    assert recipe.negatives == NegativesSpec(2, 2, 1.0, 1.0)
    assert recipe.query_encoder == EncoderRecipe(
        "transformer", None, Arch(2, 128, 2, 512), "minilm-l6", None, None, "cls", 384, 1e-3
    )
    assert recipe.doc_encoder == EncoderRecipe(
        "static", "minilm-l6", None, None, None, None, "mean", None, 2e-5
    )
    assert recipe.loss == LossSpec(50.0, "matrix", 0.0)
    assert isinstance(recipe.loss.scale, float) and isinstance(recipe.train.max_grad_norm, float)
    assert recipe.train == TrainSpec(8, 0, 0.0, 0.0, 5, 3, 1, "kl", 0.0, 0, 2, 0, 20, 2, 4)
    assert recipe.encoder("query") is recipe.query_encoder and recipe.encoder("doc") is recipe.doc_encoder
    assert recipe.encoder("query_encoder") is recipe.query_encoder
    assert recipe.encoder_spec("doc_encoder") == recipe.encoder_spec("doc")
    with pytest.raises(ValueError):
        recipe.encoder("both")


def test_arch_intermediate_defaults_to_four_times_hidden(tmp_path: Path) -> None:
    text = MINIMAL.replace(
        'model = "minilm-l3"', 'arch = { layers = 1, hidden = 64, heads = 4 }\ntokenizer = "t"'
    )
    arch = load_recipe(_write(tmp_path, text)).query_encoder.arch
    assert arch == Arch(1, 64, 4, 256)


def test_recipe_is_frozen(tmp_path: Path) -> None:
    recipe = load_recipe(_write(tmp_path, MINIMAL))
    with pytest.raises(AttributeError):
        recipe.train.batch_size = 1  # type: ignore[misc]


def test_method_specific_keys_are_accepted_for_every_method(tmp_path: Path) -> None:
    # align_max_epochs means nothing to standard, finetune_* nothing to align_only: no error either way.
    text = MINIMAL + "[train]\nalign_max_epochs = 3\nfinetune_max_epochs = 2\nfinetune_patience = 1\n"
    for method in ("standard", "daft", "align_only"):
        assert load_recipe(_write(tmp_path, text), [f"recipe.method={method}"]).method == method


# --- paths -------------------------------------------------------------------------------------------------


def test_output_is_relative_to_the_current_directory(tmp_path: Path) -> None:
    folder = tmp_path / "recipes"
    folder.mkdir()
    path = _write(folder, MINIMAL.replace('method = "daft"', 'method = "daft"\noutput = "pairs/x"'))
    assert load_recipe(path).output == tmp_path / "cwd" / "pairs" / "x"
    assert load_recipe(path, ["recipe.name=y", "recipe.output=/abs/z"]).output == Path("/abs/z")
    # The default follows the name.
    assert load_recipe(_write(folder, MINIMAL), ["recipe.name=y"]).output == tmp_path / "cwd" / "pairs" / "y"


def test_references_resolve_next_to_the_file_then_here(tmp_path: Path) -> None:
    folder = tmp_path / "recipes"
    next_to = _beir(folder / "coll")
    here = _beir(tmp_path / "cwd" / "here")
    (folder / "models" / "mine").mkdir(parents=True)
    (folder / "pairs" / "p").mkdir(parents=True)
    (tmp_path / "cwd" / "enc").mkdir()
    text = MINIMAL.replace('model = "minilm-l3"', 'model = "models/mine"\ndim = 8')
    text += '[data]\ncollection = "coll"\n[doc_encoder]\npath = "enc"\n'
    recipe = load_recipe(_write(folder, text))
    assert recipe.data.collection == str(next_to)
    assert recipe.query_encoder.model == str(folder / "models" / "mine")
    assert recipe.doc_encoder.path == tmp_path / "cwd" / "enc"
    recipe = load_recipe(_write(folder, text), ["data.collection=here"])
    assert recipe.data.collection == str(here)
    # A pair replaces the model named in the file only if the file says so; here both are set.
    assert "got model and pair" in _error(folder / "r.toml", ["query_encoder.pair=pairs/p"])
    text = MINIMAL.replace('model = "minilm-l3"', 'pair = "pairs/p"')
    recipe = load_recipe(_write(folder, text))
    assert recipe.query_encoder == EncoderRecipe(
        None, None, None, None, folder / "pairs" / "p", None, None, None, 1e-5
    )
    # Names that are no path are left for the encoder builder to resolve; built-in collections stay names.
    recipe = load_recipe(_write(folder, MINIMAL), ["data.collection=wordnet"])
    assert (recipe.data.collection, recipe.query_encoder.model) == ("wordnet", "minilm-l3")


# --- errors ------------------------------------------------------------------------------------------------

_ENC = '[recipe]\nmethod = "daft"\n[query_encoder]\n'

ERRORS = {
    "no method": ('[query_encoder]\nmodel = "m"\n', "[recipe] method: required key is missing (one of: standard, daft, align_only, zero_shot, fixed_index, fixed_index_finetune)"),
    "unknown method": (MINIMAL.replace('"daft"', '"dafft"'), "[recipe] method: unknown method 'dafft'; did you mean 'daft'? (known: standard, daft, align_only, zero_shot, fixed_index, fixed_index_finetune)"),
    "method prefix": (MINIMAL.replace('"daft"', '"align"'), "[recipe] method: unknown method 'align'; did you mean 'align_only'?"),
    "method not a string": (MINIMAL.replace('"daft"', "1"), "[recipe] method: expected a method name, got 1"),
    "duplicate table": (MINIMAL + "[recipe]\n", "[recipe] invalid TOML at line 7, column 8: Cannot declare ('recipe',) twice"),
    "gpu device": (MINIMAL.replace('method = "daft"', 'method = "daft"\ndevice = "gpu"'), "[recipe] device: unknown device 'gpu'; did you mean 'cuda'? (known: auto, cpu, cuda)"),
    "unknown precision": (MINIMAL.replace('method = "daft"', 'method = "daft"\nprecision = "float16"'), "[recipe] precision: unknown precision 'float16'; did you mean 'fp16'? (known: auto, fp32, bf16, fp16)"),
    "fp16 on cpu": (MINIMAL.replace('method = "daft"', 'method = "daft"\ndevice = "cpu"\nprecision = "fp16"'), "[recipe] device/precision: fp16 training needs CUDA"),
    "bad name": (MINIMAL.replace('method = "daft"', 'method = "daft"\nname = "a b"'), "[recipe] name: expected letters, digits, '.', '_' or '-' only, got \"a b\""),
    "negative seed": (MINIMAL.replace('method = "daft"', 'method = "daft"\nseed = -1'), "[recipe] seed: expected a non-negative integer, got -1"),
    "empty output": (MINIMAL.replace('method = "daft"', 'method = "daft"\noutput = ""'), '[recipe] output: expected a non-empty string, got ""'),
    "unknown key": (MINIMAL + "[train]\nbatchsize = 8\n", "[train] batchsize: unknown key 'batchsize'; did you mean 'batch_size'?"),
    "unknown table": (MINIMAL + "[negative]\nk = 1\n", "unknown table [negative]; did you mean [negatives]? (known: [recipe], [data], [negatives], [query_encoder], [doc_encoder], [loss], [train], [index], [teacher])"),
    "top-level key": ("seed = 1\n" + MINIMAL, "unknown top-level key 'seed'; did you mean to put it under [recipe]?"),
    "table not a table": (MINIMAL + "[[train]]\nbatch_size = 1\n", "[train]: expected a table, got [{ batch_size = 1 }]"),
    "unknown collection": (MINIMAL + '[data]\ncollection = "wordnet-smal"\n', "[data] collection: unknown collection 'wordnet-smal'; did you mean 'wordnet-small'? (built-in: wordnet, wordnet-small; or the path of a BEIR or MS MARCO/TREC folder)"),
    "not a collection folder": (MINIMAL + '[data]\ncollection = "."\n', "[data] collection: "),
    "bad split": (MINIMAL + '[data]\ndev_split = "a/b"\n', "[data] dev_split: expected a split name (letters, digits, '_', '.', '-'), got \"a/b\""),
    "empty train split": (MINIMAL + '[data]\ntrain_split = ""\n', "[data] train_split: expected a split name (letters, digits, '_', '.', '-'), got \"\""),
    "bad test split": (MINIMAL + "[data]\ntest_split = 3\n", "[data] test_split: expected a string, got 3"),
    "test split slash": (MINIMAL + '[data]\ntest_split = "a:b"\n', "[data] test_split: expected a split name (letters, digits, '_', '.', '-') or \"\" to skip, got \"a:b\""),
    "train is dev": (MINIMAL + '[data]\ndev_split = "train"\n', "[data] train_split/dev_split: the training split \"train\" cannot also be dev_split"),
    "train is test": (MINIMAL + '[data]\ntest_split = "train"\n', "[data] train_split/test_split: the training split \"train\" cannot also be test_split"),
    "negative train cap": (MINIMAL + "[data]\nmax_train_queries = -1\n", "[data] max_train_queries: expected a non-negative integer, got -1"),
    "zero dev queries": (MINIMAL + "[data]\nmax_dev_queries = 0\n", "[data] max_dev_queries: expected a positive integer, got 0"),
    "zero kl documents": (MINIMAL + "[data]\nkl_documents = 0\n", "[data] kl_documents: expected a positive integer, got 0"),
    "zero query length": (MINIMAL + "[data]\nquery_max_length = 0\n", "[data] query_max_length: expected a positive integer, got 0"),
    "float doc length": (MINIMAL + "[data]\ndoc_max_length = 64.0\n", "[data] doc_max_length: expected a positive integer, got 64.0"),
    "negative k": (MINIMAL + "[negatives]\nk = -1\n", "[negatives] k: expected a non-negative integer, got -1"),
    "depth below k": (MINIMAL + "[negatives]\nk = 8\ndepth = 4\n", "[negatives] k/depth: depth (4) is below k (8): negatives are sampled from BM25's top depth"),
    "negative k1": (MINIMAL + "[negatives]\nk1 = -0.5\n", "[negatives] k1: expected a non-negative number, got -0.5"),
    "b above one": (MINIMAL + "[negatives]\nb = 1.5\n", "[negatives] b: expected a number between 0 and 1, got 1.5"),
    "bool b": (MINIMAL + "[negatives]\nb = true\n", "[negatives] b: expected a non-negative number, got true"),
    "no query encoder": ('[recipe]\nmethod = "daft"\n', "[query_encoder] model/arch/pair/path: expected exactly one of model, arch, pair or path, got none"),
    "model and path": (MINIMAL + 'path = "p"\n', "[query_encoder] model/arch/pair/path: expected exactly one of model, arch, pair or path, got model and path"),
    "doc model and arch": (MINIMAL + '[doc_encoder]\nmodel = "a"\ntokenizer = "t"\narch = { layers = 1, hidden = 8, heads = 2 }\n', "[doc_encoder] model/arch/pair/path: expected exactly one of model, arch, pair or path, got model and arch"),
    "missing pair": (_ENC + 'pair = "nope"\n', "[query_encoder] pair: directory not found: nope (looked next to the file and in the current one)"),
    "type with pair": (_ENC + 'pair = "."\ntype = "static"\n', "[query_encoder] type: only used with model or arch (a saved encoder brings its own)"),
    "static with cls": (MINIMAL + 'type = "static"\npooling = "cls"\n', "[query_encoder] pooling: a static encoder always mean-pools, got \"cls\""),
    "zero lr": (MINIMAL + "lr = 0\n", "[query_encoder] lr: expected a positive number, got 0"),
    "zero projection_lr": (MINIMAL + "dim = 8\nprojection_lr = 0\n", "[query_encoder] projection_lr: expected a positive number, got 0"),
    "projection_lr without dim": (MINIMAL + "projection_lr = 1e-3\n", "[query_encoder] projection_lr: only used with dim (there is no projection to train)"),
    "init on a transformer": (MINIMAL + 'init = "distilled"\n', '[query_encoder] init: only used with type = "static" and model (it says where an L0 table starts)'),
    "unknown init": (MINIMAL + 'type = "static"\ninit = "pca"\n', "[query_encoder] init: unknown L0 init 'pca'"),
    "unknown token weights": (MINIMAL + 'type = "static"\ntoken_weights = "zipf"\n', "[query_encoder] token_weights: unknown token weights 'zipf'"),
    "string lr": (MINIMAL + '[doc_encoder]\nlr = "1e-5"\n', '[doc_encoder] lr: expected a positive number, got "1e-5"'),
    "doc unknown key": (MINIMAL + "[doc_encoder]\nname = 1\n", "[doc_encoder] name: unknown key 'name'"),
    "zero scale": (MINIMAL + "[loss]\nscale = 0\n", "[loss] scale: expected a positive number, got 0"),
    "unknown normalization": (MINIMAL + '[loss]\nnormalization = "rows"\n', "[loss] normalization: unknown normalization 'rows'; did you mean 'row'? (known: row, matrix)"),
    "align metric": (MINIMAL + '[train]\nalign_metric = "ndcg"\n', "[train] align_metric: unknown align metric 'ndcg'"),
    "align min delta": (MINIMAL + "[train]\nalign_min_delta = 1\n", "[train] align_min_delta: expected a number in [0, 1), got 1"),
    "align patience": (MINIMAL + "[train]\nalign_patience = -1\n", "[train] align_patience: expected a non-negative integer, got -1"),
    "dropout one": (MINIMAL + "[loss]\ndropout = 1\n", "[loss] dropout: expected a number in [0, 1), got 1"),
    "negative dropout": (MINIMAL + "[loss]\ndropout = -0.1\n", "[loss] dropout: expected a non-negative number, got -0.1"),
    "zero batch": (MINIMAL + "[train]\nbatch_size = 0\n", "[train] batch_size: expected a positive integer, got 0"),
    "negative warmup": (MINIMAL + "[train]\nwarmup_steps = -1\n", "[train] warmup_steps: expected a non-negative integer, got -1"),
    "negative decay": (MINIMAL + "[train]\nweight_decay = -1\n", "[train] weight_decay: expected a non-negative number, got -1"),
    "inf grad norm": (MINIMAL + "[train]\nmax_grad_norm = inf\n", "[train] max_grad_norm: expected a non-negative number, got inf"),
    "negative steps": (MINIMAL + "[train]\nsteps_per_epoch = -5\n", "[train] steps_per_epoch: expected a non-negative integer, got -5"),
    "negative eval": (MINIMAL + "[train]\neval_every = -1\n", "[train] eval_every: expected a non-negative integer, got -1"),
    "zero align epochs": (MINIMAL + "[train]\nalign_max_epochs = 0\n", "[train] align_max_epochs: expected a positive integer, got 0"),
    "zero finetune epochs": (MINIMAL + "[train]\nfinetune_max_epochs = 0\n", "[train] finetune_max_epochs: expected a positive integer, got 0"),
    "negative patience": (MINIMAL + "[train]\nfinetune_patience = -1\n", "[train] finetune_patience: expected a non-negative integer, got -1"),
    "bool checkpoint": (MINIMAL + "[train]\ncheckpoint_every = true\n", "[train] checkpoint_every: expected a non-negative integer, got true"),
    "batch above train cap": (MINIMAL + "[data]\nmax_train_queries = 16\n", "[train] batch_size: batch_size (32) is above [data] max_train_queries (16): not one full batch"),
    "syntax error": (MINIMAL + "[train]\nbatch_size = [1, 2\nwarmup_steps = 1\n", "[train] batch_size: invalid TOML at line 9, column 1: Unclosed array"),
    "syntax error at end": (MINIMAL + "[loss]\nscale = ", "[loss] invalid TOML at end of file: Invalid value"),
}  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), list(ERRORS.values()), ids=list(ERRORS))
def test_errors_name_file_table_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    message = _error(path)
    assert message.startswith(f"{path}: {expected}"), message


def test_file_stem_that_is_not_a_name_needs_an_explicit_name(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL, "my recipe.toml")
    assert "[recipe] name: the file name 'my recipe' is not a valid recipe name" in _error(path)
    assert load_recipe(path, ["recipe.name=ok"]).name == "ok"


def test_missing_and_non_utf8_files(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    assert _error(path) == f"{path}: file not found (expected a recipe TOML file)"
    path = tmp_path / "r.toml"
    path.write_bytes(MINIMAL.encode() + b'[recipe]\nname = "caf\xe9"\n')
    assert _error(path) == f"{path}: not UTF-8 (invalid byte at line 8)"


# --- overrides ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "get", "expected"),
    [
        ("train.batch_size=8", lambda r: r.train.batch_size, 8),
        ("query_encoder.lr=1e-3", lambda r: r.query_encoder.lr, 1e-3),
        ("doc_encoder.lr=1", lambda r: r.doc_encoder.lr, 1.0),
        ("recipe.method=standard", lambda r: r.method, "standard"),
        ("recipe.name=2024", lambda r: r.name, "2024"),
        ("data.collection=wordnet", lambda r: r.data.collection, "wordnet"),
        ("data.test_split=", lambda r: r.data.test_split, ""),
        ("negatives.b=0", lambda r: r.negatives.b, 0.0),
        ("loss.normalization=matrix", lambda r: r.loss.normalization, "matrix"),
        ("query_encoder.dim=128", lambda r: r.query_encoder.dim, 128),
        ("query_encoder.type=static", lambda r: r.query_encoder.type, "static"),
        (" recipe.device = cpu ", lambda r: r.recipe.device, "cpu"),
    ],
)
def test_override_values(
    tmp_path: Path, override: str, get: Callable[[Recipe], object], expected: object
) -> None:
    recipe = load_recipe(_write(tmp_path, MINIMAL), [override])
    assert get(recipe) == expected
    assert recipe.overrides == (override,)


def test_projection_lr_by_override(tmp_path: Path) -> None:
    recipe = load_recipe(
        _write(tmp_path, MINIMAL), ["query_encoder.dim=8", "query_encoder.projection_lr=1e-3"]
    )
    assert (recipe.query_encoder.projection_lr, recipe.query_encoder.lr) == (1e-3, 1e-5)
    assert load_recipe(_write(tmp_path, MINIMAL)).query_encoder.projection_lr is None


def test_static_init_reaches_the_encoder_spec(tmp_path: Path) -> None:
    overrides = [
        "query_encoder.type=static",
        "query_encoder.init=distilled",
        "query_encoder.token_weights=idf",
    ]
    recipe = load_recipe(_write(tmp_path, MINIMAL), overrides)
    spec = recipe.encoder_spec("query")
    assert (spec["init"], spec["token_weights"], spec["idf_collection"]) == (
        "distilled",
        "idf",
        "wordnet-small",
    )
    assert "init" not in recipe.encoder_spec("doc")  # a transformer has no table to start


def test_overrides_apply_in_order_and_are_recorded(tmp_path: Path) -> None:
    given = ["train.batch_size=4", "train.batch_size=2", "recipe.seed=3"]
    recipe = load_recipe(_write(tmp_path, MINIMAL), given)
    assert (recipe.train.batch_size, recipe.recipe.seed, recipe.overrides) == (2, 3, tuple(given))
    assert load_recipe(_write(tmp_path, MINIMAL), "train.batch_size=4").overrides == ("train.batch_size=4",)


BAD_OVERRIDES = {
    "train.batchsize=1": "unknown key 'batchsize'; did you mean 'batch_size'?",
    "trian.batch_size=1": "unknown table 'trian'; did you mean 'train'?",
    "include=base.toml": "expected table.key=value (e.g. train.batch_size=16 or query_encoder.lr=1e-3)",
    "train.batch_size=0": "expected a positive integer, got 0",
    "recipe.method=dafft": "unknown method 'dafft'; did you mean 'daft'?",
    "recipe.device=gpu": "unknown device 'gpu'; did you mean 'cuda'?",
    "negatives.depth=2": "depth (2) is below k (8)",
    "data.max_train_queries=4": "batch_size (32) is above [data] max_train_queries (4)",
    "query_encoder.arch={ layers = 1, hidden = 8, heads = 2 }": "got model and arch",
    "query_encoder.arch.layers=1": "got model and arch",
}


@pytest.mark.parametrize(("override", "expected"), list(BAD_OVERRIDES.items()), ids=list(BAD_OVERRIDES))
def test_bad_override_names_the_override(tmp_path: Path, override: str, expected: str) -> None:
    path = _write(tmp_path, MINIMAL)
    message = _error(path, [override])
    assert message.startswith(f"{path}: --set {override}: "), message
    assert expected in message, message


# --- include -----------------------------------------------------------------------------------------------

BASE = """
[recipe]
device = "cpu"

[data]
max_train_queries = 64

[negatives]
k = 3

[query_encoder]
type = "static"
model = "minilm-l6"
lr = 1e-3

[train]
batch_size = 16
"""


def test_include_merges_tables_key_by_key(tmp_path: Path) -> None:
    base = _write(tmp_path, BASE, "base.toml")
    folder = tmp_path / "sub"
    folder.mkdir()
    text = 'include = "../base.toml"\n[recipe]\nmethod = "standard"\n[train]\nbatch_size = 8\n[negatives]\ndepth = 3\n'
    recipe = load_recipe(_write(folder, text, "inc.toml"))
    assert recipe.include == base and recipe.name == "inc"
    assert (recipe.method, recipe.recipe.device) == ("standard", "cpu")
    assert (recipe.train.batch_size, recipe.data.max_train_queries) == (8, 64)
    assert (recipe.negatives.k, recipe.negatives.depth) == (3, 3)
    assert (recipe.query_encoder.type, recipe.query_encoder.model, recipe.query_encoder.lr) == (
        "static",
        "minilm-l6",
        1e-3,
    )
    assert recipe.to_dict()["include"] == str(base)


def test_include_replaces_an_encoder_source_as_a_whole(tmp_path: Path) -> None:
    _write(tmp_path, BASE, "base.toml")
    text = 'include = "base.toml"\n[recipe]\nmethod = "daft"\n[query_encoder]\ntype = "transformer"\n'
    text += 'tokenizer = "minilm-l6"\narch = { layers = 1, hidden = 8, heads = 2 }\n'
    encoder = load_recipe(_write(tmp_path, text)).query_encoder
    assert (encoder.model, encoder.arch, encoder.lr) == (None, Arch(1, 8, 2, 32), 1e-3)


def test_errors_in_the_included_file_name_it(tmp_path: Path) -> None:
    base = _write(tmp_path, BASE.replace("k = 3", "k = -1"), "base.toml")
    path = _write(tmp_path, 'include = "base.toml"\n[recipe]\nmethod = "daft"\n')
    assert _error(path) == f"{base}: [negatives] k: expected a non-negative integer, got -1"
    # Fixed by the including file, or by an override, it is fine.
    assert (
        load_recipe(
            _write(tmp_path, 'include = "base.toml"\n[recipe]\nmethod = "daft"\n[negatives]\nk = 1\n')
        ).negatives.k
        == 1
    )
    assert load_recipe(path, ["negatives.k=2"]).negatives.k == 2
    _write(tmp_path, BASE + "[loss]\nscal = 2\n", "base.toml")
    assert _error(path).startswith(f"{base}: [loss] scal: unknown key 'scal'; did you mean 'scale'?")
    _write(tmp_path, BASE + "[los]\nscale = 2\n", "base.toml")
    assert _error(path).startswith(f"{base}: unknown table [los]; did you mean [loss]?")
    _write(tmp_path, BASE + "[loss]\nscale = [2\n", "base.toml")
    assert _error(path) == f"{base}: [loss] invalid TOML at end of file: Unclosed array"
    # A required key that neither file sets is the including file's to add.
    _write(tmp_path, BASE.replace('model = "minilm-l6"\n', ""), "base.toml")
    assert _error(path).startswith(f"{path}: [query_encoder] model/arch/pair/path: expected exactly one")
    # A rule broken between the two files names the including file.
    _write(tmp_path, BASE, "base.toml")
    path = _write(tmp_path, 'include = "base.toml"\n[recipe]\nmethod = "daft"\n[negatives]\ndepth = 2\n')
    assert (
        _error(path)
        == f"{path}: [negatives] k/depth: depth (2) is below k (3): negatives are sampled from BM25's top depth"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("include = 1", "include: expected a non-empty string (a file path), got 1"),
        ('include = "nope.toml"', "include: file not found: "),
        ('include = "r.toml"', "include: a file cannot include itself"),
        ('include = "chain.toml"', "include: an included file cannot include another (one level only)"),
    ],
)
def test_include_errors(tmp_path: Path, text: str, expected: str) -> None:
    chain = _write(tmp_path, 'include = "base.toml"\n', "chain.toml")
    path = _write(tmp_path, text + "\n" + MINIMAL)
    blamed = chain if "one level" in expected else path
    assert _error(path).startswith(f"{blamed}: {expected}")


# --- encoder specs and to_dict -----------------------------------------------------------------------------

BUILD_KEYS = {
    "model",
    "arch",
    "tokenizer",
    "type",
    "pooling",
    "dim",
    "pair",
    "side",
    "path",
    "seed",
    "max_length",
}


def test_encoder_spec_is_what_build_takes(tmp_path: Path) -> None:
    (tmp_path / "p").mkdir()
    recipe = load_recipe(_write(tmp_path, FULL.replace("seed = 7", "seed = 5")))
    assert recipe.encoder_spec("query") == {
        "type": "transformer",
        "pooling": "cls",
        "arch": {"layers": 2, "hidden": 128, "heads": 2, "intermediate": 512},
        "tokenizer": "minilm-l6",
        "dim": 384,
        "seed": 5,
        "max_length": 16,
    }
    assert recipe.encoder_spec("doc") == {
        "type": "static",
        "pooling": "mean",
        "model": "minilm-l6",
        "seed": 5,
        "max_length": 128,
    }
    saved = MINIMAL.replace('model = "minilm-l3"', 'pair = "p"\ndim = 16') + '[doc_encoder]\npath = "p"\n'
    recipe = load_recipe(_write(tmp_path, saved))
    assert recipe.encoder_spec("query") == {
        "pair": str(tmp_path / "p"),
        "side": "query",
        "dim": 16,
        "seed": 0,
        "max_length": 32,
    }
    assert recipe.encoder_spec("doc") == {"path": str(tmp_path / "p"), "seed": 0, "max_length": 64}
    for side in ("query", "doc"):
        assert set(recipe.encoder_spec(side)) <= BUILD_KEYS and "lr" not in recipe.encoder_spec(side)


def test_to_dict_is_json_ready_and_complete(tmp_path: Path) -> None:
    recipe = load_recipe(_write(tmp_path, FULL), ["train.eval_every=2"])
    data = recipe.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert list(data) == [
        "path", "include", "overrides", "recipe", "data", "negatives", "query_encoder", "doc_encoder", "loss", "train", "index",
    ]  # fmt: skip
    assert data["path"] == str(tmp_path / "r.toml") and data["include"] is None
    assert data["overrides"] == ["train.eval_every=2"] and data["train"]["eval_every"] == 2
    assert data["recipe"]["output"] == str(tmp_path / "cwd" / "out" / "full")
    assert data["query_encoder"]["arch"] == {"layers": 2, "hidden": 128, "heads": 2, "intermediate": 512}
    assert data["query_encoder"]["lr"] == 1e-3


# --- the shipped recipes -----------------------------------------------------------------------------------

QUERIES = {
    # name: (type, model, dim, lr)
    "l0-minilm": ("static", "minilm-l6", None, 1e-3),
    "l0-bert": ("static", "bert-l2-h128", 384, 1e-3),
    "bert-l2": ("transformer", "bert-l2-h128", 384, 5e-5),
    "minilm-l3": ("transformer", "minilm-l3", None, 2e-5),
}
SHIPPED = [f"{folder}{method}-{query}" for folder in ("", "gpu/") for method in ("standard", "daft", "align_only") for query in QUERIES]  # fmt: skip


def test_every_recipe_file_is_tested() -> None:
    files = {str(p.relative_to(RECIPES).with_suffix("")) for p in RECIPES.rglob("*.toml")}
    base = {"base-cpu", "gpu/base-gpu", "zero_shot-minilm-l6", "gpu/zero_shot-minilm-l6"}
    collapse = {f"collapse/{name}" for name in COLLAPSE}
    assert files == {
        *SHIPPED,
        *base,
        *L0_INITS,
        "standard-minilm-l6",
        *collapse,
        "collapse/standard-bert-random",
        *GPU_GRID_ONLY,
        *(f"budget/standard-{query}-640" for query in BUDGET),
        "fixed-index/base",
        *(f"fixed-index/{name}" for name in FIXED_INDEX),
        "fixed-index/zero_shot-minilm-l6-wordnet",
        "fixed-index/standard-from-fixed_index-l0",
    }


# The budget-matched runs (issue 12, question 1): standard-<query> with daft's 640 steps and nothing else changed.
BUDGET = ["l0-minilm", "minilm-l3"]


@pytest.mark.parametrize("query", BUDGET)
def test_budget_recipes_differ_from_standard_only_in_epochs(query: str) -> None:
    base = load_recipe(RECIPES / f"standard-{query}.toml").to_dict()
    matched = load_recipe(RECIPES / "budget" / f"standard-{query}-640.toml").to_dict()
    assert matched["train"].pop("finetune_max_epochs") == 10 and base["train"].pop("finetune_max_epochs") == 4
    assert matched["recipe"]["output"] == str(Path.cwd() / "pairs" / f"standard-{query}-640")
    assert matched["recipe"]["name"] == f"standard-{query}-640"
    for data in (base, matched):
        for key in ("path", "include"):
            data.pop(key)
        data["recipe"].pop("output"), data["recipe"].pop("name")
    assert matched == base


# Keep the index, swap the query encoder (issue 19): name -> (query model, type, document side, teacher).
FIXED_INDEX = {
    "fixed_index-l0-minilm-distilled-idf": ("minilm-l6", "static", "minilm-l6", "doc"),
    "fixed_index-minilm-l3": ("minilm-l3", "transformer", "minilm-l6", "doc"),
    "fixed_index-bert-l2": ("bert-l2-h128", "transformer", "minilm-l6", "doc"),
    "fixed_index-l0-minilm-wordnet": ("minilm-l6", "static", "minilm-l6", "doc"),
    "fixed_index-l0-reference": ("minilm-l6", "static", "pair", "encoder"),
    "fixed_index-l0-reference-listwise": ("minilm-l6", "static", "pair", "encoder"),
    "fixed_index-l0-reference-listwise4": ("minilm-l6", "static", "pair", "encoder"),
}


def _fixed_index(name: str, tmp_path: Path) -> dict:
    """The recipe as a dict; the reference pair they name (trained first, not shipped) stands in as a folder."""
    pair = tmp_path / "pair"
    pair.mkdir(exist_ok=True)
    sides = ("doc_encoder", "teacher") if FIXED_INDEX[name][2] == "pair" else ()
    recipe = load_recipe(
        RECIPES / "fixed-index" / f"{name}.toml", [f'{side}.pair="{pair}"' for side in sides]
    )
    return recipe.to_dict()


@pytest.mark.parametrize("name", FIXED_INDEX)
def test_fixed_index_recipes_use_all_the_data_and_the_whole_corpus(name: str, tmp_path: Path) -> None:
    model, kind, doc, teacher = FIXED_INDEX[name]
    data = _fixed_index(name, tmp_path)
    assert data["recipe"]["method"] == "fixed_index" and data["query_encoder"]["model"] == model
    assert data["query_encoder"]["type"] == kind and data["index"]["teacher"] == teacher
    assert data["doc_encoder"]["model" if doc != "pair" else "pair"] == (
        doc if doc != "pair" else str(tmp_path / "pair")
    )
    assert (
        data["data"]["max_train_queries"],
        data["data"]["validation_documents"],
        data["negatives"]["k"],
    ) == (0, 0, 0)
    assert data["index"]["negatives"] == "corpus" and data["train"]["weight_decay"] == 0.0
    if kind == "static":
        assert (data["query_encoder"]["init"], data["query_encoder"]["token_weights"]) == ("distilled", "idf")


def test_the_full_wordnet_zero_shot_reference_evaluates_like_its_fixed_index_run(tmp_path: Path) -> None:
    """Same collection, document encoder, dev queries and whole-corpus validation: the same cached index."""
    zero = load_recipe(RECIPES / "fixed-index" / "zero_shot-minilm-l6-wordnet.toml").to_dict()
    trained = _fixed_index("fixed_index-l0-minilm-wordnet", tmp_path)
    assert zero["recipe"]["method"] == "zero_shot" and zero["query_encoder"]["model"] == "minilm-l6"
    assert zero["doc_encoder"] == trained["doc_encoder"]
    for key in ("collection", "max_dev_queries", "kl_documents", "validation_documents"):
        assert zero["data"][key] == trained["data"][key], key


@pytest.mark.parametrize(("name", "weight"), [("listwise", 1.0), ("listwise4", 4.0)])
def test_the_listwise_recipes_differ_from_their_reference_only_in_the_listwise_weight(
    tmp_path: Path, name: str, weight: float
) -> None:
    base = _fixed_index("fixed_index-l0-reference", tmp_path)
    listwise = _fixed_index(f"fixed_index-l0-reference-{name}", tmp_path)
    assert listwise["index"].pop("listwise_weight") == weight and base["index"].pop("listwise_weight") == 0.0
    for data in (base, listwise):
        for key in ("path", "overrides"):
            data.pop(key)
        data["recipe"].pop("output"), data["recipe"].pop("name")
    assert listwise == base


def test_fine_tuning_from_the_fixed_index_l0_differs_from_standard_only_in_the_start(tmp_path: Path) -> None:
    """DAFT's two stages with the index objective first: the second stage is exactly standard's."""
    start = tmp_path / "fixed_index-l0"
    start.mkdir()
    name = "fixed-index/standard-from-fixed_index-l0.toml"
    after = load_recipe(RECIPES / name, [f'query_encoder.pair="{start}"']).to_dict()
    standard = load_recipe(RECIPES / "standard-l0-minilm-distilled-idf.toml").to_dict()
    assert after["query_encoder"]["pair"] == str(start) and after["query_encoder"]["lr"] == 1e-3
    for data in (after, standard):
        for key in ("path", "overrides", "include", "query_encoder"):
            data.pop(key)
        data["recipe"].pop("output"), data["recipe"].pop("name")
    assert after == standard


# The collapse search (issue 12, question 4): name -> what it changes in standard-l0-minilm, as
# (query init, query lr, doc lr, normalisation, hard negatives, batch size, max_grad_norm).
COLLAPSE = {
    "standard-l0-random": ("random", 1e-3, 1e-5, "row", 3, 32, 1.0),
    "standard-l0-matrix": ("embeddings", 1e-3, 1e-5, "matrix", 3, 32, 1.0),
    "standard-l0-inbatch": ("embeddings", 1e-3, 1e-5, "row", 0, 32, 1.0),
    "standard-l0-inbatch-b128": ("embeddings", 1e-3, 1e-5, "row", 0, 128, 1.0),
    "standard-l0-highlr": ("embeddings", 1e-2, 1e-4, "row", 3, 32, 1.0),
    "standard-l0-random-harsh": ("random", 1e-2, 1e-4, "matrix", 0, 32, 0.0),
}


@pytest.mark.parametrize("name", COLLAPSE)
def test_collapse_recipes_change_only_what_they_say(name: str) -> None:
    recipe = load_recipe(RECIPES / "collapse" / f"{name}.toml")
    q, t = recipe.query_encoder, recipe.train
    changed = (q.init, q.lr, recipe.doc_encoder.lr, recipe.loss.normalization, recipe.negatives.k, t.batch_size, t.max_grad_norm)  # fmt: skip
    assert changed == COLLAPSE[name]
    assert (recipe.name, recipe.method, recipe.output) == (
        name,
        "standard",
        Path.cwd() / "pairs" / "collapse" / name,
    )
    assert (q.type, q.model, recipe.doc_encoder.model, recipe.include) == (
        "static",
        "minilm-l6",
        "minilm-l6",
        RECIPES / "base-cpu.toml",
    )
    assert (t.steps_per_epoch, t.finetune_max_epochs, t.eval_every) == (64, 1, 16)


def test_the_random_bert_collapse_recipe_shares_only_the_tokenizer() -> None:
    recipe = load_recipe(RECIPES / "collapse" / "standard-bert-random.toml")
    q = recipe.query_encoder
    assert (q.type, q.model, q.tokenizer, q.lr) == ("transformer", None, "minilm-l6", 1e-4)
    assert q.arch is not None and (q.arch.layers, q.arch.hidden) == (2, 384)


# The L0-start experiment (issue 12): name -> (method, init, token_weights) of its static query encoder.
L0_INITS = {
    "zero_shot-l0-minilm": ("zero_shot", "embeddings", "none"),
    "zero_shot-l0-minilm-distilled": ("zero_shot", "distilled", "none"),
    "zero_shot-l0-minilm-distilled-idf": ("zero_shot", "distilled", "idf"),
    "standard-l0-minilm-distilled-idf": ("standard", "distilled", "idf"),
    "daft-l0-minilm-distilled-idf": ("daft", "distilled", "idf"),
    "align_only-l0-minilm-distilled-idf": ("align_only", "distilled", "idf"),
}


@pytest.mark.parametrize("name", L0_INITS)
def test_l0_init_recipes_differ_from_the_base_only_in_the_start(name: str) -> None:
    recipe = load_recipe(RECIPES / f"{name}.toml")
    q = recipe.query_encoder
    assert (recipe.name, recipe.method, q.init, q.token_weights) == (name, *L0_INITS[name])
    assert (q.type, q.model, recipe.include) == ("static", "minilm-l6", RECIPES / "base-cpu.toml")
    assert recipe.output == Path.cwd() / "pairs" / name


@pytest.mark.parametrize("folder", ["", "gpu/"])
def test_the_fine_tuned_reference_is_minilm_l6_on_both_sides(folder: str) -> None:
    recipe = load_recipe(RECIPES / f"{folder}standard-minilm-l6.toml")
    sides = (recipe.query_encoder, recipe.doc_encoder)
    assert [(e.type, e.model, e.dim, e.lr) for e in sides] == [("transformer", "minilm-l6", None, 1e-5)] * 2
    base = "gpu/base-gpu.toml" if folder else "base-cpu.toml"
    assert (recipe.method, recipe.include) == ("standard", RECIPES / base)
    assert recipe.output == Path.cwd() / "pairs" / folder / "standard-minilm-l6"


# The GPU grid's recipes that only recipes/gpu/ has besides those of SHIPPED (daft/gpu/grid.py).
GPU_L0_INITS = {
    f"gpu/{method}-l0-minilm-distilled-idf": method for method in ("standard", "daft", "align_only")
}
GPU_GRID_ONLY = {*GPU_L0_INITS, "gpu/standard-minilm-l6"}


@pytest.mark.parametrize("name", GPU_L0_INITS)
def test_gpu_distilled_idf_recipes_differ_from_their_cpu_twins_only_in_the_base(name: str) -> None:
    gpu = load_recipe(RECIPES / f"{name}.toml")
    cpu = load_recipe(RECIPES / f"{name.removeprefix('gpu/')}.toml")
    assert (gpu.method, gpu.query_encoder) == (GPU_L0_INITS[name], cpu.query_encoder)
    assert (gpu.include, gpu.recipe.device, gpu.data.collection) == (
        RECIPES / "gpu" / "base-gpu.toml",
        "cuda",
        "wordnet",
    )
    assert gpu.output == Path.cwd() / "pairs" / name


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_recipes_load(name: str) -> None:
    recipe = load_recipe(RECIPES / f"{name}.toml")
    gpu, stem = name.startswith("gpu/"), name.removeprefix("gpu/")
    method, _, query = stem.partition("-")
    assert (recipe.name, recipe.method) == (stem, method)
    assert recipe.output == Path.cwd() / "pairs" / ("gpu" if gpu else "") / stem
    encoder = recipe.query_encoder
    assert (encoder.type, encoder.model, encoder.dim, encoder.lr) == QUERIES[query]
    assert (recipe.doc_encoder.model, recipe.doc_encoder.dim, recipe.doc_encoder.lr) == (
        "minilm-l6",
        None,
        1e-5,
    )
    if gpu:
        assert recipe.include == RECIPES / "gpu" / "base-gpu.toml" and recipe.recipe.device == "cuda"
        assert (recipe.data.collection, recipe.data.max_train_queries) == ("wordnet", 0)
        assert (recipe.train.batch_size, recipe.negatives.k, recipe.train.steps_per_epoch) == (64, 8, 0)
        assert (recipe.recipe.precision, recipe.train.eval_every) == ("bf16", 265)
        assert (recipe.train.align_max_epochs, recipe.train.finetune_max_epochs) == (3, 1)
    else:
        assert recipe.include == RECIPES / "base-cpu.toml"
        assert (recipe.data.collection, recipe.data.max_train_queries) == ("wordnet-small", 4096)
        assert (recipe.data.max_dev_queries, recipe.data.kl_documents) == (500, 1000)
        assert (recipe.data.validation_documents, recipe.train.warmup_steps) == (5000, 16)
        assert (recipe.train.batch_size, recipe.negatives.k, recipe.train.steps_per_epoch) == (32, 3, 64)
        assert (recipe.train.align_max_epochs, recipe.train.finetune_max_epochs) == (6, 4)
        assert recipe.train.finetune_patience == 2


@pytest.mark.parametrize("name", ["base-cpu", "gpu/base-gpu"])
def test_bases_are_not_recipes(name: str) -> None:
    path = RECIPES / f"{name}.toml"
    assert (
        _error(path)
        == f"{path}: [recipe] method: required key is missing (one of: standard, daft, align_only, zero_shot, fixed_index, fixed_index_finetune)"
    )


@pytest.mark.parametrize("folder", ["", "gpu/"])
def test_zero_shot_reference_recipe(folder: str) -> None:
    recipe = load_recipe(RECIPES / f"{folder}zero_shot-minilm-l6.toml")
    assert recipe.method == "zero_shot"
    assert (
        recipe.encoder_spec("query_encoder")["model"]
        == recipe.encoder_spec("doc_encoder")["model"]
        == "minilm-l6"
    )


# --- the fixed-index stage's tables ---------------------------------------------------------------------------

INDEX = MINIMAL.replace('"daft"', '"fixed_index"')


def test_index_table_and_teacher_are_read(tmp_path: Path) -> None:
    text = INDEX + '[index]\nnegatives = "sampled"\nsampled_negatives = 128\nteacher = "encoder"\n'
    text += 'listwise_weight = 0.5\n[teacher]\nmodel = "minilm-l6"\n'
    recipe = load_recipe(_write(tmp_path, text))
    assert recipe.index == IndexSpec("sampled", 128, "encoder", 1.0, 0.5)
    assert recipe.teacher is not None and recipe.teacher.model == "minilm-l6"
    assert recipe.teacher_spec()["max_length"] == recipe.data.query_max_length
    assert recipe.to_dict()["teacher"]["model"] == "minilm-l6"


INDEX_ERRORS = {
    "index table for daft": (MINIMAL + "[index]\nteacher = \"none\"\n", "[index]: only used by the methods with a fixed-index stage (fixed_index, fixed_index_finetune), not 'daft'"),
    "teacher table for standard": (MINIMAL.replace('"daft"', '"standard"') + "[teacher]\nmodel = \"m\"\n", "[teacher]: only used by the methods with a fixed-index stage (fixed_index, fixed_index_finetune), not 'standard'"),
    "encoder teacher without table": (INDEX + "[index]\nteacher = \"encoder\"\n", '[index] teacher: teacher = "encoder" needs a [teacher] table (model, pair or path)'),
    "table without encoder teacher": (INDEX + "[teacher]\nmodel = \"m\"\n", '[index] teacher: a [teacher] table is given, but teacher = "doc"; set teacher = "encoder"'),
    "sampled count without sampling": (INDEX + "[index]\nsampled_negatives = 8\n", '[index] sampled_negatives: only used with negatives = "sampled"'),
    "weight without teacher": (INDEX + "[index]\nteacher = \"none\"\ncosine_weight = 1.0\n", '[index] cosine_weight: only used with a teacher (teacher = "none" has no terms to weigh)'),
    "unknown negatives": (INDEX + "[index]\nnegatives = \"all\"\n", "[index] negatives: unknown index negatives 'all'"),
}  # fmt: skip


@pytest.mark.parametrize("case", INDEX_ERRORS, ids=list(INDEX_ERRORS))
def test_index_errors_name_the_key(tmp_path: Path, case: str) -> None:
    text, message = INDEX_ERRORS[case]
    path = _write(tmp_path, text)
    assert _error(path).startswith(f"{path}: {message}")
