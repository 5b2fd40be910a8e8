"""Tests for bench.suite: defaults, every error path (one line, naming file, table and key), overrides."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench import schema
from bench.retrieval.systems.bm25 import Bm25Settings
from bench.retrieval.systems.hybrid import HybridSettings
from bench.retrieval.systems.rrf import RrfSettings
from bench.retrieval.systems.vectors import VectorSettings
from bench.specs import EncoderSpec, LatencySpec, MeasureSpec, QueriesSpec, Suite, SuiteInfo
from bench.suite import load_suite
from daft.core.errors import UserError
from daft.training.recipe import load_recipe

SUITES = Path(__file__).resolve().parents[2] / "suites"

MINIMAL = """
[queries]
source = "wordnet:test"

[[encoders]]
name = "m"
model = "minilm-l6"
"""


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path, overrides: tuple[str, ...] = ()) -> str:
    """The message of the UserError that loading `path` raises, checked to be one line naming the file."""
    with pytest.raises(UserError) as caught:
        load_suite(path, overrides)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: "), message
    return message


# --- defaults ----------------------------------------------------------------------------------------------


def test_minimal_file_gets_every_default(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL, "tiny_suite.toml")
    # Literal values, not the dataclass defaults: a changed default must fail here.
    assert load_suite(path) == Suite(
        path=path,
        info=SuiteInfo(name="tiny_suite", description=""),
        queries=QueriesSpec(source="wordnet:test", file=None, limit=512, max_length=32, padding="longest"),
        encoders=(
            EncoderSpec(
                name="m",
                type="transformer",
                model="minilm-l6",
                arch=None,
                tokenizer=None,
                pair=None,
                pooling="mean",
                dim=None,
            ),
        ),
        latency=LatencySpec(
            backends=("torch",),
            devices=("cpu",),
            dtypes=("fp32",),
            batch_sizes=(1, 32),
            threads=(0,),
            baseline="m",
        ),
        measure=MeasureSpec(
            min_time_s=0.5,
            min_samples=10,
            max_samples=10000,
            max_time_s=5.0,
            warmup_window=5,
            warmup_rel_tol=0.05,
            warmup_max_s=3.0,
            cv_warn=0.10,
            parity_tol=1e-3,
            seed=0,
        ),
        overrides=(),
    )


def test_full_file_is_read_as_written(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[suite]
name = "full"
description = "all keys"

[queries]
source = "wordnet-small:dev"
limit = 7
max_length = 16
padding = "max_length"

[[encoders]]
name = "tiny"
arch = { layers = 2, hidden = 128, heads = 2, intermediate = 512 }
tokenizer = "minilm-l6"
pooling = "cls"
dim = 64

[[encoders]]
name = "L0"
type = "static"
model = "minilm-l6"

[latency]
backends = ["onnxruntime-int8", "torch-compile"]
devices = ["cuda", "cpu"]
dtypes = ["bf16", "fp32"]
batch_sizes = [256, 1]
threads = [2, 0]
baseline = "L0"

[measure]
min_time_s = 1          # an int where a float is expected is fine
min_samples = 3
max_samples = 30
max_time_s = 2.5
warmup_window = 2
warmup_rel_tol = 0.1
warmup_max_s = 0
cv_warn = 0.2
parity_tol = 1e-2
seed = 42
""",
    )
    suite = load_suite(path)
    assert suite.name == "full" and suite.description == "all keys"
    assert (suite.queries.collection, suite.queries.split) == ("wordnet-small", "dev")
    assert (suite.queries.limit, suite.queries.max_length, suite.queries.padding) == (7, 16, "max_length")
    tiny, static = suite.encoders
    assert tiny.arch is not None and (tiny.arch.layers, tiny.arch.hidden, tiny.arch.heads) == (2, 128, 2)
    assert (tiny.arch.intermediate, tiny.tokenizer, tiny.pooling, tiny.dim) == (512, "minilm-l6", "cls", 64)
    assert (static.type, static.model, static.pooling) == ("static", "minilm-l6", "mean")
    # Sweeps keep the order written; `plan` decides the run order.
    assert suite.latency == LatencySpec(
        ("onnxruntime-int8", "torch-compile"), ("cuda", "cpu"), ("bf16", "fp32"), (256, 1), (2, 0), "L0"
    )
    assert suite.measure.min_time_s == 1.0 and isinstance(suite.measure.min_time_s, float)
    assert (suite.measure.warmup_max_s, suite.measure.seed) == (0.0, 42)
    assert suite.encoder("L0") is static


def test_arch_intermediate_defaults_to_four_times_hidden(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        MINIMAL.replace(
            'model = "minilm-l6"', 'arch = { layers = 1, hidden = 64, heads = 4 }\ntokenizer = "t"'
        ),
    )
    arch = load_suite(path).encoders[0].arch
    assert arch is not None and arch.intermediate == 256


def test_suite_is_frozen(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path, MINIMAL))
    with pytest.raises(AttributeError):
        suite.latency.batch_sizes = (1,)  # type: ignore[misc]


# --- paths -------------------------------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_suite_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "suites"
    (folder / "models" / "mine").mkdir(parents=True)
    (folder / "colls" / "c").mkdir(parents=True)
    (folder / "q.txt").write_text("a query\n", encoding="utf-8")
    text = """
[queries]
file = "q.txt"

[[encoders]]
name = "local"
model = "models/mine"

[[encoders]]
name = "asset"
model = "minilm-l6"

[[encoders]]
name = "hub"
model = "sentence-transformers/all-MiniLM-L6-v2"

[[encoders]]
name = "trained"
pair = "pairs/not-yet-trained"
"""
    _write(folder, text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    suite = load_suite(Path("../suites/s.toml"))
    assert suite.queries.file == folder / "q.txt"
    local, asset, hub, trained = suite.encoders
    assert local.model == str(folder / "models" / "mine")
    # Names that are not paths next to the suite are left for the runner to resolve.
    assert (asset.model, hub.model) == ("minilm-l6", "sentence-transformers/all-MiniLM-L6-v2")
    # A pair is always a path; it need not exist yet at load time.
    assert trained.pair == folder / "pairs" / "not-yet-trained"
    assert trained.pair.is_absolute()
    # A collection given as a folder next to the suite is resolved too; the split stays.
    with_source = _write(folder, text.replace('file = "q.txt"', 'source = "colls/c:test"'), "t.toml")
    queries = load_suite(with_source).queries
    assert (queries.collection, queries.split) == (str(folder / "colls" / "c"), "test")


# --- errors ------------------------------------------------------------------------------------------------

_LATENCY = MINIMAL + "\n[latency]\n"
_QUERIES = MINIMAL.replace(
    'source = "wordnet:test"', 'source = "wordnet:test"\n#'
)  # "#" -> more [queries] keys
_MEASURE = MINIMAL + "\n[measure]\n"
_ENCODER = """
[queries]
source = "wordnet:test"

[[encoders]]
name = "m"
"""

ERRORS = {
    "unknown table": (MINIMAL + "[latancy]\nthreads = [1]\n", "unknown table [latancy]; did you mean [latency]?"),
    "top-level key": ('name = "x"\n' + MINIMAL, "unknown top-level key 'name'; did you mean to put it under [suite]?"),
    "unknown key": (
        _LATENCY + "batchsize = [1]\n",
        "[latency] batchsize: unknown key 'batchsize'; did you mean 'batch_sizes'? "
        "(known: backends, baseline, baseline_backend, batch_sizes, devices, dtypes, threads)",
    ),
    "unknown encoder key": (MINIMAL + 'pooler = "cls"\n', "[[encoders]] #1 'm' pooler: unknown key 'pooler'"),
    "wrong type": (_QUERIES.replace("#", "limit = \"10\""), '[queries] limit: expected a positive integer, got "10"'),
    "zero limit": (_QUERIES.replace("#", "limit = 0"), "[queries] limit: expected a positive integer, got 0"),
    "float for int": (_MEASURE + "min_samples = 2.5\n", "[measure] min_samples: expected a positive integer, got 2.5"),
    "bool as int": (_MEASURE + "min_samples = true\n", "[measure] min_samples: expected a positive integer, got true"),
    "bool as float": (_MEASURE + "min_time_s = false\n", "[measure] min_time_s: expected a non-negative number, got false"),
    "bool in list": (_LATENCY + "batch_sizes = [1, true]\n", "[latency] batch_sizes: expected a non-empty list of positive integers up to 65,536, got [1, true]"),
    "nan": (_MEASURE + "cv_warn = nan\n", "[measure] cv_warn: expected a positive number, got nan"),
    "negative seed": (_MEASURE + "seed = -1\n", "[measure] seed: expected a non-negative integer, got -1"),
    "zero rounds": (_MEASURE + "rounds = 0\n", "[measure] rounds: expected a positive integer, got 0"),
    "empty batch sizes": (_LATENCY + "batch_sizes = []\n", "[latency] batch_sizes: expected a non-empty list of positive integers up to 65,536, got []"),
    "empty backends": (_LATENCY + "backends = []\n", "[latency] backends: expected a non-empty list of backend names, got []"),
    "scalar sweep": (_LATENCY + "threads = 2\n", "[latency] threads: expected a non-empty list of non-negative integers, got 2"),
    "negative threads": (_LATENCY + "threads = [-1]\n", "[latency] threads: expected a non-empty list of non-negative integers"),
    "duplicate in sweep": (_LATENCY + "batch_sizes = [8, 1, 8]\n", "[latency] batch_sizes: 8 is listed twice in [8, 1, 8]"),
    "duplicate backend": (_LATENCY + 'backends = ["torch", "torch"]\n', "[latency] backends: \"torch\" is listed twice"),
    "unknown backend": (
        _LATENCY + 'backends = ["torch", "onnx"]\n',
        "[latency] backends: unknown backend 'onnx'; did you mean 'onnxruntime'? "
        "(known: torch, torch-compile, torch-cudagraphs, onnxruntime, onnxruntime-int8, static, static-cold, model2vec, "
        "sentence-transformers)",
    ),
    "unknown device": (_LATENCY + 'devices = ["gpu"]\n', "[latency] devices: unknown device 'gpu'; did you mean 'cuda'? (known: cpu, cuda)"),
    "unknown dtype": (_LATENCY + 'dtypes = ["fp8"]\n', "[latency] dtypes: unknown dtype 'fp8'"),
    "unknown padding": (_QUERIES.replace("#", 'padding = "max"'), "[queries] padding: unknown padding 'max'; did you mean 'max_length'?"),
    "baseline names no encoder": (_LATENCY + 'baseline = "n"\n', "[latency] baseline: no encoder named 'n' (encoders: m)"),
    "baseline backend not listed": (_LATENCY + 'baseline_backend = "onnxruntime"\n', "[latency] baseline_backend: 'onnxruntime' is not one of this suite's backends (torch)"),
    "baseline backend refuses": (_LATENCY + 'backends = ["torch", "static"]\nbaseline_backend = "static"\n', "[latency] baseline_backend: cannot run the baseline 'm': static runs static encoders only"),
    "min rounds above rounds": (_MEASURE + "rounds = 4\nmin_rounds = 5\n", "[measure] min_rounds/rounds: min_rounds (5) must be 0 (fixed rounds) or from 3"),
    "min rounds too few": (_MEASURE + "min_rounds = 2\n", "[measure] min_rounds/rounds: min_rounds (2) must be 0 (fixed rounds) or from 3"),
    "zero target width": (_MEASURE + "target_width = 0\n", "[measure] target_width: expected a positive number, got 0"),
    "duplicate encoder name": (MINIMAL + '[[encoders]]\nname = "m"\nmodel = "x"\n', "[[encoders]] #2 'm' name: duplicate encoder name 'm' (also #1)"),
    "encoder without name": (MINIMAL + '[[encoders]]\nmodel = "x"\n', "[[encoders]] #2 name: required key is missing"),
    "bad encoder name": (MINIMAL + '[[encoders]]\nname = "a/b"\nmodel = "x"\n', "[[encoders]] #2 name: expected letters, digits, '.', '_' or '-' only, got \"a/b\""),
    "encoders as a table": ('[queries]\nsource = "w:test"\n[encoders]\nname = "m"\n', "[[encoders]]: expected an array of tables"),
    "no encoders": ('[queries]\nsource = "w:test"\n', "[[encoders]]: at least one encoder is required"),
    "no source or file": (MINIMAL.replace('source = "wordnet:test"', ""), "[queries] source/file: expected exactly one of source (\"collection:split\") or file, got neither"),
    "source and file": (MINIMAL.replace("wordnet:test", 'wordnet:test"\nfile = "q.txt'), "[queries] source/file: expected exactly one of source (\"collection:split\") or file, got both"),
    "source without split": (MINIMAL.replace("wordnet:test", "wordnet"), '[queries] source: expected "collection:split" (e.g. "wordnet:test"), got "wordnet"'),
    "missing queries file": (MINIMAL.replace('source = "wordnet:test"', 'file = "nope.txt"'), "[queries] file: file not found: "),
    "model and pair": (_ENCODER + 'model = "a"\npair = "p"\n', "[[encoders]] #1 'm' model/arch/pair: expected exactly one of model, arch or pair, got model and pair"),
    "no model": (_ENCODER, "[[encoders]] #1 'm' model/arch/pair: expected exactly one of model, arch or pair, got none"),
    "static with cls": (_ENCODER + 'type = "static"\nmodel = "a"\npooling = "cls"\n', "[[encoders]] #1 'm' pooling: a static encoder always mean-pools"),
    "pair with pooling": (_ENCODER + 'pair = "p"\npooling = "cls"\n', "[[encoders]] #1 'm' pooling: only used with model or arch (a saved encoder brings its own)"),
    "unknown encoder type": (_ENCODER + 'type = "rnn"\nmodel = "a"\n', "[[encoders]] #1 'm' type: unknown encoder type 'rnn' (known: transformer, static)"),
    "table not a table": (MINIMAL + "[[latency]]\nthreads = [1]\n", "[latency]: expected a table, got [{ threads = [1] }]"),
    "max below min samples": (_MEASURE + "max_samples = 5\n", "[measure] min_samples/max_samples: max_samples (5) is below min_samples (10)"),
    "max below min time": (_MEASURE + "max_time_s = 0.1\n", "[measure] min_time_s/max_time_s: max_time_s (0.1) is below min_time_s (0.5)"),
    "bad suite name": ('[suite]\nname = "my suite"\n' + MINIMAL, "[suite] name: expected letters, digits"),
    "description type": ("[suite]\ndescription = 3\n" + MINIMAL, "[suite] description: expected a string, got 3"),
    "syntax error": (
        _LATENCY + "threads = [1, 2\nbatch_sizes = [1]\n",
        "[latency] threads: invalid TOML at line 11, column 1: Unclosed array",
    ),
    "syntax error at end": (_LATENCY + "threads = [1, 2", "[latency] invalid TOML at end of file: Unclosed array"),
    "duplicate table": (MINIMAL + "[latency]\n[latency]\n", "[latency] invalid TOML at line 9, column 9: Cannot declare ('latency',) twice"),
}  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), list(ERRORS.values()), ids=list(ERRORS))
def test_errors_name_file_table_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    message = _error(path)
    assert message.startswith(f"{path}: {expected}"), message


def test_exact_message_of_an_empty_sweep(tmp_path: Path) -> None:
    path = _write(tmp_path, _LATENCY + "batch_sizes = []\n")
    assert (
        _error(path)
        == f"{path}: [latency] batch_sizes: expected a non-empty list of positive integers up to 65,536, got []"
    )


def test_missing_suite_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    assert _error(path) == f"{path}: file not found (expected a suite TOML file)"


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_bytes(MINIMAL.encode() + b'[suite]\ndescription = "caf\xe9"\n')
    assert "not UTF-8 (invalid byte at line 9)" in _error(path)


def test_file_stem_that_is_not_a_name_needs_an_explicit_name(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL, "my suite.toml")
    assert "[suite] name: the file name 'my suite' is not a valid suite name" in _error(path)
    assert load_suite(_write(tmp_path, '[suite]\nname = "ok"\n' + MINIMAL, "my suite.toml")).name == "ok"


# --- overrides ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "get", "expected"),
    [
        ("measure.min_time_s=0.1", lambda s: s.measure.min_time_s, 0.1),
        ("measure.seed=7", lambda s: s.measure.seed, 7),
        ("measure.rounds=1", lambda s: s.measure.rounds, 1),
        ("latency.batch_sizes=[1,2]", lambda s: s.latency.batch_sizes, (1, 2)),
        ('latency.backends=["torch", "onnxruntime"]', lambda s: s.latency.backends, ("torch", "onnxruntime")),
        # A single value for a sweep is a one-element sweep.
        ("latency.backends=onnxruntime", lambda s: s.latency.backends, ("onnxruntime",)),
        ("latency.threads=4", lambda s: s.latency.threads, (4,)),
        ('suite.name="x"', lambda s: s.name, "x"),
        # Not TOML: taken as a bare string.
        ("queries.source=wordnet-small:dev", lambda s: s.queries.source, "wordnet-small:dev"),
        ("suite.description=a quick look", lambda s: s.description, "a quick look"),
        # TOML, but not a string where a string is expected: the text as written.
        ("suite.name=2024", lambda s: s.name, "2024"),
        ("encoders.m.model=minilm-l3", lambda s: s.encoders[0].model, "minilm-l3"),
        ("encoders.m.pooling=cls", lambda s: s.encoders[0].pooling, "cls"),
        (" latency.baseline = m ", lambda s: s.latency.baseline, "m"),
    ],
)
def test_override_values(
    tmp_path: Path, override: str, get: Callable[[Suite], object], expected: object
) -> None:
    suite = load_suite(_write(tmp_path, MINIMAL), [override])
    assert get(suite) == expected
    assert suite.overrides == (override,)


def test_overrides_apply_in_order_and_are_recorded(tmp_path: Path) -> None:
    given = ["latency.batch_sizes=[1]", "latency.batch_sizes=[4, 2]", "measure.seed=3"]
    suite = load_suite(_write(tmp_path, MINIMAL), given)
    assert suite.latency.batch_sizes == (4, 2)
    assert suite.measure.seed == 3
    assert suite.overrides == tuple(given)


def test_override_addresses_encoders_by_name_even_with_dots(tmp_path: Path) -> None:
    text = MINIMAL + '[[encoders]]\nname = "a"\nmodel = "x"\n[[encoders]]\nname = "a.b"\nmodel = "y"\n'
    suite = load_suite(_write(tmp_path, text), ["encoders.a.b.model=z", "encoders.a.dim=8"])
    assert [(e.name, e.model, e.dim) for e in suite.encoders] == [
        ("m", "minilm-l6", None),
        ("a", "x", 8),
        ("a.b", "z", None),
    ]


def test_override_can_replace_model_by_arch(tmp_path: Path) -> None:
    override = "encoders.m.arch={ layers = 1, hidden = 8, heads = 2 }"
    # Setting arch alone conflicts with the file's model, and the message blames the override.
    message = _error(_write(tmp_path, MINIMAL), (override,))
    assert message.endswith(
        f"--set {override}: expected exactly one of model, arch or pair, got model and arch"
    )


BAD_OVERRIDES = {
    "latency.batchsize=1": "unknown key 'batchsize'; did you mean 'batch_sizes'?",
    "latency.batch_sizes=[]": "expected a non-empty list of positive integers up to 65,536, got []",
    "latency.batch_sizes=[0]": "expected a non-empty list of positive integers up to 65,536, got [0]",
    "latency.backends=onnx": "unknown backend 'onnx'; did you mean 'onnxruntime'?",
    "latency.baseline=x": "no encoder named 'x' (encoders: m)",
    "measure.min_samples=true": "expected a positive integer, got true",
    "measure.min_samples=100000": "max_samples (10000) is below min_samples (100000)",
    "latancy.threads=[1]": "unknown table 'latancy'; did you mean 'latency'?",
    "threads=[1]": "expected table.key=value",
    "latency.threads": "expected table.key=value",
    "latency.=1": "expected table.key=value",
    "latency.threads..x=1": "expected table.key=value with a non-empty key",
    "encoders.x.model=a": "no [[encoders]] entry named 'x' (known: m)",
    "encoders.m.modle=a": "unknown key 'modle'; did you mean 'model'?",
    "encoders.m.arch.layer=2": "unknown key 'layer'; did you mean 'layers'?",
    # Writing inside arch is what conflicts with the file's model: the override is still to blame.
    "encoders.m.arch.layers=2": "expected exactly one of model, arch or pair, got model and arch",
    "queries.file=q.txt": 'expected exactly one of source ("collection:split") or file, got both',
}


@pytest.mark.parametrize(("override", "expected"), list(BAD_OVERRIDES.items()), ids=list(BAD_OVERRIDES))
def test_bad_override_names_the_override(tmp_path: Path, override: str, expected: str) -> None:
    arch = 'tokenizer = "t"\narch = { layers = 1, hidden = 8, heads = 2 }'
    # The arch override needs an arch in the file, so that only the arch key is wrong.
    text = MINIMAL.replace('model = "minilm-l6"', arch) if ".arch.layer=" in override else MINIMAL
    path = _write(tmp_path, text)
    message = _error(path, (override,))
    assert message.startswith(f"{path}: --set {override}: "), message
    assert expected in message, message


# --- the shipped suites --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cpu_latency", "gpu_latency"])
def test_shipped_suites_load(name: str) -> None:
    suite = load_suite(SUITES / f"{name}.toml")
    assert suite.name == name
    assert [e.name for e in suite.encoders] == ["minilm-l6", "minilm-l3", "bert-l2-h128", "L0"]
    assert suite.encoder("L0").type == "static" and suite.encoder("L0").model == "minilm-l6"
    assert suite.latency.baseline == "minilm-l6"
    assert suite.latency.backends[:2] == ("torch", "onnxruntime")
    extra = ("static", "static-cold", "model2vec", "sentence-transformers")
    assert suite.latency.backends[2:] == (extra if name == "cpu_latency" else ("torch-cudagraphs",))
    assert suite.queries.source == "wordnet:test"


# --- [retrieval] -------------------------------------------------------------------------------------------

RETRIEVAL = """
[[encoders]]
name = "m"
model = "minilm-l6"

[[encoders]]
name = "rand"
arch = { layers = 1, hidden = 32, heads = 2 }
tokenizer = "minilm-l6"

[retrieval]
"""


def test_retrieval_only_suite_has_no_latency_and_every_default(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path, RETRIEVAL))
    assert suite.latency is None and suite.queries is None
    spec = suite.retrieval
    assert spec.collection == "wordnet" and (spec.split, spec.tune_split, spec.cv_folds) == (
        "test",
        "auto",
        5,
    )
    assert spec.encoders == ("m",) and spec.baseline == "m"  # an arch (random weights) cannot retrieve
    assert spec.systems == ("bm25", "dense", "hybrid", "rrf")
    assert spec.measures == ("nDCG@10", "RR@10", "R@100", "R@1000")
    assert spec.primary_measure == "nDCG@10"  # the first of measures, as before the setting existed
    bm25, rrf = spec.setting(Bm25Settings), spec.setting(RrfSettings)
    assert (bm25.bm25_k1, bm25.bm25_b, rrf.rrf_k, spec.depth) == (0.9, 0.4, 60, 1000)
    grid = spec.setting(HybridSettings).alpha_grid
    assert grid[0] == 0.0 and grid[-1] == 1.0 and len(grid) == 11
    assert suite.retrieval is not None and suite.latency is None
    # The report's suite keeps [retrieval] flat, as the file is: the systems' keys beside the others.
    stored = schema.to_json(schema.new_report(suite, "s.toml", []))["suite"]["retrieval"]
    assert stored["rrf_k"] == 60 and "settings" not in stored


def test_the_primary_measure_is_a_named_setting(tmp_path: Path) -> None:
    text = RETRIEVAL + 'measures = ["nDCG@10", "R@100"]\nprimary_measure = "R@100"\n'
    assert load_suite(_write(tmp_path, text)).retrieval.primary_measure == "R@100"
    suite = load_suite(_write(tmp_path, RETRIEVAL), ["retrieval.primary_measure=R@1000"])
    assert suite.retrieval.primary_measure == "R@1000"


def test_a_suite_with_latency_and_retrieval_has_both(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path, MINIMAL + '[latency]\n[retrieval]\nmeasures = ["AP"]\n'))
    assert suite.latency is not None and suite.retrieval.measures == ("AP",)


# Three encoders that retrieve: "m" (the baseline), "l3" and "l6".
COMPARED = RETRIEVAL.replace(
    "[retrieval]\n",
    '[[encoders]]\nname = "l3"\nmodel = "minilm-l3"\n\n[[encoders]]\nname = "l6"\nmodel = "minilm-l6"\n\n[retrieval]\n',
)


def test_comparisons_name_more_encoder_pairs_to_test(tmp_path: Path) -> None:
    assert load_suite(_write(tmp_path, COMPARED)).retrieval.comparisons == ()
    spec = load_suite(_write(tmp_path, COMPARED + 'comparisons = [["l3", "l6"]]\n')).retrieval
    assert spec.baseline == "m" and spec.comparisons == (("l3", "l6"),)
    spec = load_suite(_write(tmp_path, COMPARED), ['retrieval.comparisons=[["l6", "l3"]]']).retrieval
    assert spec.comparisons == (("l6", "l3"),)


RETRIEVAL_ERRORS = {
    "alpha outside": ("alpha_grid = [0.5, 1.5]", "[retrieval] alpha_grid: 1.5 is outside [0, 1]"),
    "alpha not numbers": ('alpha_grid = ["a"]', '[retrieval] alpha_grid: expected a non-empty list of numbers, got ["a"]'),
    "unknown measure": ('measures = ["nDCG@10", "Foo@3"]', "[retrieval] measures: unknown measure 'Foo@3'"),
    "tuned on test": ('tune_split = "test"', "[retrieval] split/tune_split: hybrid would be tuned on the split it is tested on ('test')"),
    "primary not measured": ('primary_measure = "AP"', "[retrieval] primary_measure: 'AP' is not one of measures (nDCG@10, RR@10, R@100, R@1000)"),
    "random encoder": ('encoders = ["rand"]', "[retrieval] encoders: 'rand' cannot retrieve"),
    "unknown system": ('systems = ["bm25", "splade"]', "[retrieval] systems: unknown system 'splade'"),
    "bad b": ("bm25_b = 2", "[retrieval] bm25_b: expected a number between 0 and 1, got 2"),
    "bad baseline": ('baseline = "x"', "[retrieval] baseline: no retrieving encoder named 'x'"),
    "unknown test": ('test = "wilcoxon"', "[retrieval] test: unknown significance test 'wilcoxon'"),
    "bad index": ('index = "ivf"', "[retrieval] index: unknown index 'ivf'"),
    "one fold": ("cv_folds = 1", "[retrieval] cv_folds: expected an integer >= 2"),
    "bad tune split": ('tune_split = "a/b"', '[retrieval] tune_split: expected "auto", "cv" or a split name'),
    "not pairs": ('comparisons = ["l3"]', '[retrieval] comparisons: expected a list of [encoder, reference] name pairs'),
    "unknown": ('comparisons = [["l3", "l7"]]', "[retrieval] comparisons: no retrieving encoder named 'l7'"),
    "not retrieving": ('comparisons = [["l3", "rand"]]', "[retrieval] comparisons: no retrieving encoder named 'rand'"),
    "itself": ('comparisons = [["l3", "l3"]]', "[retrieval] comparisons: 'l3' is compared with itself"),
    "the baseline": ('comparisons = [["l3", "m"]]', "[retrieval] comparisons: ['l3', 'm']: every encoder is compared with the baseline already"),
    "from the baseline": ('comparisons = [["m", "l6"]]', "[retrieval] comparisons: ['m', 'l6']: every encoder is compared with the baseline already"),
    "twice": ('comparisons = [["l3", "l6"], ["l6", "l3"]]', "[retrieval] comparisons: ['l6', 'l3'] is listed twice"),
}  # fmt: skip


@pytest.mark.parametrize(("line", "expected"), list(RETRIEVAL_ERRORS.values()), ids=list(RETRIEVAL_ERRORS))
def test_retrieval_errors_name_the_key(tmp_path: Path, line: str, expected: str) -> None:
    path = _write(tmp_path, COMPARED + line + "\n")
    message = _error(path)
    assert message.startswith(f"{path}: {expected}"), message


def test_queries_without_latency_in_a_retrieval_suite_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, '[queries]\nsource = "wordnet:test"\n' + RETRIEVAL)
    assert (
        _error(path)
        == f"{path}: [queries]: only used with [latency] (retrieval reads its collection's queries)"
    )


def test_recipe_needs_a_pair_and_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "r.toml").write_text("")
    bad = _write(tmp_path, MINIMAL + 'recipe = "r.toml"\n')
    assert "recipe: only used with pair" in _error(bad)
    missing = _write(tmp_path, MINIMAL.replace('model = "minilm-l6"', 'pair = "p"\nrecipe = "nope.toml"'))
    assert "recipe: file not found" in _error(missing)


def test_shipped_quality_suites_load() -> None:
    quality = load_suite(SUITES / "retrieval_quality.toml")
    assert quality.latency is None and quality.retrieval.encoders == ("minilm-l6",)
    sizes = load_suite(SUITES / "encoder_sizes.toml")
    assert sizes.retrieval.collection == "wordnet-small" and sizes.retrieval.baseline == "minilm-l6"
    pairs = [e for e in sizes.encoders if e.pair is not None]
    assert pairs and all(e.recipe is not None and e.recipe.is_file() for e in pairs)


@pytest.mark.parametrize("path", sorted(SUITES.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_suite_loads_under_its_file_name_with_recipes_for_its_pairs(path: Path) -> None:
    suite = load_suite(path)
    assert suite.name == path.stem
    assert all(e.recipe is not None and e.recipe.is_file() for e in suite.encoders if e.pair is not None)


def test_the_full_wordnet_fixed_index_suite_scores_the_index_the_l0_was_trained_against() -> None:
    suite = load_suite(SUITES / "fixed_index_wordnet.toml")
    retrieval = suite.retrieval
    assert retrieval is not None and suite.latency is None
    vectors = retrieval.setting(VectorSettings)
    assert (retrieval.collection, retrieval.baseline) == ("wordnet", "minilm-l6")
    assert (vectors.doc_max_length, vectors.doc_precision) == (64, "fp32")  # as the trainer encoded it
    recipe = load_recipe(suite.encoder("fi-l0-wordnet").recipe)
    assert recipe.data.collection == "wordnet" and recipe.doc_encoder.model == "minilm-l6"


def test_gate_defaults_and_values(tmp_path: Path) -> None:
    assert load_suite(_write(tmp_path, MINIMAL)).gate.cell_thresholds == {}
    text = MINIMAL + '[gate]\nlatency_threshold = 0.2\ncell_thresholds = { "L0/*" = 0.5 }\n'
    gate = load_suite(_write(tmp_path, text)).gate
    assert (
        gate.latency_threshold == 0.2 and gate.cell_thresholds == {"L0/*": 0.5} and gate.noise_floor_us == 5.0
    )
    bad = _write(tmp_path, MINIMAL + '[gate]\ncell_thresholds = { "L0/*" = -1 }\n')
    assert "[gate] cell_thresholds: expected a table of cell-id globs" in _error(bad)


GATE_ERRORS = {
    "negative": ('{ "nDCG@10" = -1 }', 'expected a table of measures to finite non-negative numbers, e.g. { "nDCG@10" = 0.005 }, got { nDCG@10 = -1 }'),
    "not a table": ("0.01", "expected a table of measures to finite non-negative numbers"),
    "not measured": ('{ "AP" = 0.01 }', "'AP' is not one of [retrieval] measures (nDCG@10, RR@10, R@100, R@1000)"),
}  # fmt: skip


def test_the_gate_takes_a_quality_threshold_per_measure(tmp_path: Path) -> None:
    assert load_suite(_write(tmp_path, RETRIEVAL)).gate.quality_thresholds == {}
    text = RETRIEVAL + '[gate]\nquality_thresholds = { "nDCG@10" = 0.005, "R@100" = 0.01 }\n'
    assert load_suite(_write(tmp_path, text)).gate.quality_thresholds == {"nDCG@10": 0.005, "R@100": 0.01}


@pytest.mark.parametrize(("value", "expected"), list(GATE_ERRORS.values()), ids=list(GATE_ERRORS))
def test_per_measure_thresholds_are_checked_in_one_line(tmp_path: Path, value: str, expected: str) -> None:
    path = _write(tmp_path, RETRIEVAL + f"[gate]\nquality_thresholds = {value}\n")
    assert _error(path).startswith(f"{path}: [gate] quality_thresholds: {expected}")


def test_per_measure_thresholds_need_measures(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL + '[gate]\nquality_thresholds = { "nDCG@10" = 0.01 }\n')
    assert (
        _error(path)
        == f"{path}: [gate] quality_thresholds: the suite measures no quality (it has no [retrieval])"
    )


def test_a_suite_includes_another_and_overrides_its_values(tmp_path: Path) -> None:
    base = _write(tmp_path, MINIMAL + "\n[latency]\nthreads = [1]\nbatch_sizes = [1, 8]\n", "base.toml")
    grid = _write(tmp_path, f'include = "{base.name}"\n[suite]\nname = "grid"\n[latency]\nthreads = [1, 2]\n')
    suite = load_suite(grid)
    assert (suite.name, suite.latency.threads, suite.latency.batch_sizes) == ("grid", (1, 2), (1, 8))
    assert suite.encoders == load_suite(base).encoders
    shipped = load_suite(SUITES / "cpu_latency_threads.toml")
    main = load_suite(SUITES / "cpu_latency.toml")
    assert shipped.latency.threads == (1, 2) and main.latency.threads == (1,)
    assert shipped.measure == main.measure and shipped.latency.baseline_backend == "torch"


@pytest.mark.parametrize(
    ("table", "line"),
    [("latency", "batch_sizes = [1, 1000000000]"), ("retrieval", "batch_size = 1000000000")],
)
def test_a_batch_size_past_any_machine_is_refused_before_the_run(
    tmp_path: Path, table: str, line: str
) -> None:
    text = (
        MINIMAL + ("[latency]\nbatch_sizes = [1]\n" if table == "retrieval" else "") + f"[{table}]\n{line}\n"
    )
    assert f"[{table}] batch_size" in _error(_write(tmp_path, text)) and "up to 65,536" in _error(
        _write(tmp_path, text)
    )
