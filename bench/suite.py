"""The benchmark suite file: its TOML schema, defaults, validation, `include` and `--set` overrides.

A suite may start with `include = "other.toml"` (relative to it; one level): the other suite's tables,
merged key by key, with this file's values winning (`daft.core.config.read_including`), as recipes do.

`load_suite` turns a suite file into a frozen, fully defaulted `Suite` or raises one `UserError` whose
message names the file, the table and the key (or the `--set` override that caused the problem). All of
it is checked here, before anything runs, so that a typo costs a second and not a half-finished run.
Model, tokenizer, pair and collection references are checked for form only: the runners resolve them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import field, fields, make_dataclass, replace
from pathlib import Path
from typing import Any, get_type_hints

from bench.backends import backend
from bench.backends import names as backend_names
from bench.backends.base import DTYPES, PADDINGS
from bench.specs import (
    ARRAYS,
    MAX_BATCH,
    TABLES,
    EncoderSpec,
    GateSpec,
    LatencySpec,
    MeasureSpec,
    QueriesSpec,
    RetrievalSpec,
    Suite,
    SuiteInfo,
)
from daft.collections.collection import is_split_name
from daft.core.config import (
    NAME,
    Loader,
    Schema,
    Table,
    apply_override,
    check_top_level,
    read_including,
    show,
    suggest,
)
from daft.core.errors import UserError
from daft.models.encoder_source import parse_source
from daft.search.measures import parse_measure

__all__ = ["DEVICES", "load_suite", "retrieves"]

# Name lists come from the modules that own them (backends: their registry; dtypes and paddings; encoder
# types and poolings from daft's encoder-source parser; retrieval systems, their keys and names from their
# registry, and test names, where [retrieval] is parsed, so that loading a suite imports no FAISS).
DEVICES = ("cpu", "cuda")

# Names end up in cell ids (`name/backend/...`) and result file names: no `/`, no spaces (daft.core.config.NAME).


# The resolved suite's tables are `bench.specs`'s dataclasses; here, what a value may be.

MIN_ADAPTIVE_ROUNDS = 3  # the fewest round pairs whose bootstrap interval is more than the pairs themselves


# --- loading -----------------------------------------------------------------------------------------------


def _retrieval_keys() -> type:
    """The keys of [retrieval] as one dataclass (what the config engine checks and types overrides by):
    `RetrievalSpec`'s own, then every registered system's settings; `systems` defaults to all of them."""
    from bench.retrieval.systems import registry

    own = [f for f in fields(RetrievalSpec) if f.name != "settings"]
    keys = [(f.name, get_type_hints(RetrievalSpec)[f.name], field(default=f.default)) for f in own]
    keys[[f.name for f in own].index("systems")] = (
        "systems",
        tuple[str, ...],
        field(default=tuple(registry())),
    )
    for system in registry().values():
        if system.settings is not None:
            hints = get_type_hints(system.settings)
            keys += [(f.name, hints[f.name], field(default=f.default)) for f in fields(system.settings)]
    return make_dataclass("RetrievalKeys", keys, frozen=True)


def _schema() -> Schema:
    """The suite's tables, [retrieval] with the registered systems' keys."""
    tables = {table: cls for table, (_, cls) in TABLES.items()}
    return Schema(
        kind="suite",
        tables=tables | {"retrieval": _retrieval_keys()},
        arrays=ARRAYS,
        example="latency.batch_sizes=[1,8] or encoders.<name>.model=x",
    )


def load_suite(path: Path, overrides: Sequence[str] = ()) -> Suite:
    """Parse, override and validate the suite file at `path`; every problem is a one-line UserError."""
    path = Path(path)
    if isinstance(overrides, str):  # one override passed bare would otherwise be read character by character
        overrides = (overrides,)
    schema = _schema()
    raw, origins, _ = read_including(path, schema)
    provenance: dict[tuple[Any, ...], str] = {}
    for text in overrides:
        apply_override(path, raw, text, provenance, schema)
    return _build(Loader(path, provenance, origins), raw, tuple(overrides), schema)


# --- the tables --------------------------------------------------------------------------------------------


def _build(loader: Loader, raw: dict[str, Any], overrides: tuple[str, ...], schema: Schema) -> Suite:
    check_top_level(loader, raw, schema)
    info = _parse_info(loader.table("[suite]", ("suite",), raw.get("suite", {}), SuiteInfo))
    encoders = _parse_encoders(loader, raw.get("encoders", []))
    # The tables present say what is measured; a suite with neither measures latency with the defaults.
    queries = latency = retrieval = None
    if "latency" in raw or "retrieval" not in raw:
        queries = _parse_queries(loader.table("[queries]", ("queries",), raw.get("queries", {}), QueriesSpec))
        latency = _parse_latency(
            loader.table("[latency]", ("latency",), raw.get("latency", {}), LatencySpec), encoders
        )
    elif "queries" in raw:
        loader.fail(
            "[queries]", [("queries",)], "only used with [latency] (retrieval reads its collection's queries)"
        )
    if "retrieval" in raw:
        retrieval = _parse_retrieval(
            loader.table("[retrieval]", ("retrieval",), raw["retrieval"], schema.tables["retrieval"]),
            encoders,
        )
    measure = _parse_measure(loader.table("[measure]", ("measure",), raw.get("measure", {}), MeasureSpec))
    gate = _parse_gate(loader.table("[gate]", ("gate",), raw.get("gate", {}), GateSpec), retrieval)
    return Suite(loader.path, info, queries, encoders, latency, measure, retrieval, gate, overrides)


def _parse_info(t: Table) -> SuiteInfo:
    stem = t.loader.path.stem
    if "name" not in t and not NAME.fullmatch(stem):
        t.fail(
            "name",
            f"the file name {stem!r} is not a valid suite name (letters, digits, '.', '_', '-'); set one",
        )
    name = t.string("name", stem, pattern=NAME)
    return SuiteInfo(name, t.text("description"))


def _parse_queries(t: Table) -> QueriesSpec:
    given = [k for k in ("source", "file") if k in t]
    if len(given) != 1:
        got = "both" if given else "neither"
        t.fail(("source", "file"), f'expected exactly one of source ("collection:split") or file, got {got}')
    source = file = None
    if "source" in t:
        reference = t.string("source")
        collection, colon, split = reference.rpartition(":")
        if not colon or not collection or not is_split_name(split):
            t.fail("source", f'expected "collection:split" (e.g. "wordnet:test"), got {show(reference)}')
        source = f"{t.loader.local(collection)}:{split}"
    else:
        file = _existing_file(t, "file")
    return QueriesSpec(
        source=source,
        file=file,
        limit=t.integer("limit", minimum=1),
        max_length=t.integer("max_length", minimum=1),
        padding=t.choice("padding", PADDINGS, "padding"),
    )


def _parse_encoders(loader: Loader, entries: Any) -> tuple[EncoderSpec, ...]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        loader.fail("[[encoders]]", [("encoders",)], f"expected an array of tables, got {show(entries)}")
    if not entries:
        loader.fail("[[encoders]]", [("encoders",)], "at least one encoder is required")
    specs: list[EncoderSpec] = []
    for i, entry in enumerate(entries):
        name = entry.get("name")
        label = f"[[encoders]] #{i + 1}" + (
            f" {name!r}" if isinstance(name, str) and NAME.fullmatch(name) else ""
        )
        t = loader.table(label, ("encoders", i), entry, EncoderSpec)
        spec = _parse_encoder(t)
        for j, other in enumerate(specs):
            if other.name == spec.name:
                t.fail("name", f"duplicate encoder name {spec.name!r} (also #{j + 1})")
        specs.append(spec)
    return tuple(specs)


def _parse_encoder(t: Table) -> EncoderSpec:
    name = t.string("name", pattern=NAME)
    source = parse_source(t, sources=("model", "arch", "pair"), pair_must_exist=False)
    recipe = None
    if "recipe" in t:
        if source.pair is None:
            t.fail(
                "recipe", "only used with pair (the recipe trains that pair when its directory is missing)"
            )
        recipe = _existing_file(t, "recipe")
    return EncoderSpec(
        name,
        source.type,
        source.model,
        source.arch,
        source.tokenizer,
        source.pair,
        source.pooling,
        source.dim,
        recipe,
    )


def _parse_latency(t: Table, encoders: tuple[EncoderSpec, ...]) -> LatencySpec:
    names = [e.name for e in encoders]
    baseline = t.string("baseline", names[0])
    if baseline not in names:
        t.fail(
            "baseline",
            f"no encoder named {baseline!r}{suggest(baseline, names)} (encoders: {', '.join(names)})",
        )
    listed = t.choices("backends", backend_names(), "backend")
    return LatencySpec(
        backends=listed,
        devices=t.choices("devices", DEVICES, "device"),
        dtypes=t.choices("dtypes", DTYPES, "dtype"),
        batch_sizes=t.integers("batch_sizes", minimum=1, maximum=MAX_BATCH),
        threads=t.integers("threads", minimum=0),
        baseline=baseline,
        baseline_backend=_baseline_backend(t, listed, encoders[names.index(baseline)]),
    )


def _baseline_backend(t: Table, listed: tuple[str, ...], baseline: EncoderSpec) -> str:
    """[latency] baseline_backend: one of the suite's backends that runs the baseline encoder, or ""."""
    name = t.text("baseline_backend")
    if not name:
        return ""
    if name not in listed:
        t.fail("baseline_backend", f"{name!r} is not one of this suite's backends ({', '.join(listed)})")
    if baseline.pair is None and (reason := backend(name).refuses(baseline.type)):
        t.fail("baseline_backend", f"cannot run the baseline {baseline.name!r}: {reason}")
    return name


def retrieves(spec: EncoderSpec) -> bool:
    """Whether an encoder can retrieve: a trained pair, or a transformer model used on both sides."""
    return spec.pair is not None or (spec.model is not None and spec.type == "transformer")


def _parse_retrieval(t: Table, encoders: tuple[EncoderSpec, ...]) -> RetrievalSpec:
    from bench.retrieval.significance import TESTS
    from bench.retrieval.systems import needed, per_encoder, registry

    able = [e.name for e in encoders if retrieves(e)]
    chosen = t.choices("encoders", [e.name for e in encoders], "encoder") if "encoders" in t else tuple(able)
    for name in chosen:
        if name not in able:
            t.fail(
                "encoders",
                f"{name!r} cannot retrieve: give it a pair, or a transformer model (used on both sides)",
            )
    systems = t.choices("systems", tuple(registry()), "system")
    if not chosen and any(per_encoder(s) for s in systems):
        t.fail("encoders", "no encoder can retrieve (a pair, or a transformer model); dense systems need one")
    baseline = t.string("baseline", chosen[0]) if chosen else ""
    if chosen:
        _retrieving(t, "baseline", baseline, chosen)
    comparisons = _comparisons(t, chosen, baseline)
    measures = _measures(t)
    primary = t.text("primary_measure") or measures[0]
    if primary not in measures:
        t.fail("primary_measure", f"{primary!r} is not one of measures ({', '.join(measures)})")
    split, tune = _splits(t, [s for s in needed(systems) if registry()[s].tunes])
    level = t.number("significance_level", positive=True)
    if level >= 1:
        t.fail("significance_level", f"expected a number in (0, 1), got {show(level)}")
    spec = RetrievalSpec(
        collection=t.loader.local(t.string("collection")),
        split=split,
        tune_split=tune,
        cv_folds=t.integer("cv_folds", minimum=2),
        encoders=chosen,
        baseline=baseline,
        comparisons=comparisons,
        systems=systems,
        measures=measures,
        primary_measure=primary,
        depth=t.integer("depth", minimum=1),
        run_depth=t.integer("run_depth", minimum=1),
        max_queries=t.integer("max_queries", minimum=0),
        test=t.choice("test", tuple(TESTS), "significance test"),
        significance_level=level,
        seed=t.integer("seed", minimum=0),
        latency_report=_existing_file(t, "latency_report") if "latency_report" in t else None,
    )
    # Every registered system's keys are read, listed or not (a fusion may need an unlisted system).
    settings = {name: s.settings.parse(t, spec) for name, s in registry().items() if s.settings}
    return replace(spec, settings=settings)


def _measures(t: Table) -> tuple[str, ...]:
    """[retrieval] measures: ir-measures names, at least one."""
    measures = t.value("measures")
    if (
        not isinstance(measures, list | tuple)
        or not measures
        or not all(isinstance(m, str) for m in measures)
    ):
        t.fail(
            "measures",
            f'expected a non-empty list of ir-measures names such as "nDCG@10", got {show(measures)}',
        )
    for m in measures:
        try:
            parse_measure(m)
        except UserError as err:
            t.fail("measures", str(err))
    return tuple(measures)


def _splits(t: Table, tuned: Sequence[str]) -> tuple[str, str]:
    """[retrieval] split and tune_split; the `tuned` systems are never tuned on the split they are tested on."""
    split, tune = t.string("split"), t.string("tune_split")
    if not is_split_name(split):
        t.fail("split", f"expected a split name (e.g. test), got {show(split)}")
    if not is_split_name(tune):
        t.fail("tune_split", f'expected "auto", "cv" or a split name (e.g. dev), got {show(tune)}')
    if tuned and split == tune:
        t.fail(
            ("split", "tune_split"),
            f"{' and '.join(tuned)} would be tuned on the split it is tested on ({split!r}); "
            f'tune_split = "cv" cross-validates over its queries instead',
        )
    return split, tune


def _existing_file(t: Table, key: str) -> Path:
    """The file `key` names (relative to the suite), which must exist."""
    path = Path(t.loader.local(t.string(key), always=True))
    if not path.is_file():
        t.fail(key, f"file not found: {path}")
    return path


def _retrieving(t: Table, key: str, name: str, chosen: tuple[str, ...]) -> None:
    """Fail on `key` unless `name` is one of the retrieving encoders."""
    if name not in chosen:
        t.fail(
            key,
            f"no retrieving encoder named {name!r}{suggest(name, chosen)} (retrieving: {', '.join(chosen)})",
        )


def _comparisons(t: Table, chosen: tuple[str, ...], baseline: str) -> tuple[tuple[str, str], ...]:
    """[retrieval] comparisons: pairs of two different retrieving encoders, none listed twice and none that
    the baseline comparisons already make."""
    value = t.value("comparisons")
    shape = isinstance(value, list | tuple) and all(
        isinstance(p, list | tuple) and len(p) == 2 and all(isinstance(n, str) for n in p) for p in value
    )
    if not shape:
        t.fail(
            "comparisons",
            f'expected a list of [encoder, reference] name pairs, e.g. [["a", "b"]], got {show(value)}',
        )
    pairs: list[tuple[str, str]] = []
    for one, other in value:
        for name in (one, other):
            _retrieving(t, "comparisons", name, chosen)
        if one == other:
            t.fail("comparisons", f"{one!r} is compared with itself")
        if baseline in (one, other):
            t.fail(
                "comparisons", f"[{one!r}, {other!r}]: every encoder is compared with the baseline already"
            )
        if (one, other) in pairs or (other, one) in pairs:
            t.fail("comparisons", f"[{one!r}, {other!r}] is listed twice")
        pairs.append((one, other))
    return tuple(pairs)


def _parse_gate(t: Table, retrieval: RetrievalSpec | None) -> GateSpec:
    return GateSpec(
        latency_threshold=t.number("latency_threshold", positive=False),
        noise_floor_us=t.number("noise_floor_us", positive=False),
        quality_threshold=t.number("quality_threshold", positive=False),
        cell_thresholds=_thresholds(t, "cell_thresholds", "cell-id globs", '{ "L0/*" = 0.25 }'),
        quality_thresholds=_quality_thresholds(t, retrieval),
    )


def _thresholds(t: Table, key: str, names: str, example: str) -> dict[str, float]:
    """A table of `names` to finite non-negative numbers."""
    table = t.value(key, {})
    if not isinstance(table, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
        for v in table.values()
    ):
        t.fail(
            key,
            f"expected a table of {names} to finite non-negative numbers, e.g. {example}, got {show(table)}",
        )
    return {str(k): float(v) for k, v in table.items()}


def _quality_thresholds(t: Table, retrieval: RetrievalSpec | None) -> dict[str, float]:
    """[gate] quality_thresholds: per measure of [retrieval] measures, the drop that counts."""
    found = _thresholds(t, "quality_thresholds", "measures", '{ "nDCG@10" = 0.005 }')
    for measure in found:
        if retrieval is None:
            t.fail("quality_thresholds", "the suite measures no quality (it has no [retrieval])")
        if measure not in retrieval.measures:
            t.fail(
                "quality_thresholds",
                f"{measure!r} is not one of [retrieval] measures ({', '.join(retrieval.measures)})",
            )
    return found


def _parse_measure(t: Table) -> MeasureSpec:
    spec = MeasureSpec(
        min_time_s=t.number("min_time_s", positive=False),
        min_samples=t.integer("min_samples", minimum=1),
        max_samples=t.integer("max_samples", minimum=1),
        max_time_s=t.number("max_time_s", positive=True),
        warmup_window=t.integer("warmup_window", minimum=1),
        warmup_rel_tol=t.number("warmup_rel_tol", positive=False),
        warmup_max_s=t.number("warmup_max_s", positive=False),
        cv_warn=t.number("cv_warn", positive=True),
        parity_tol=t.number("parity_tol", positive=True),
        seed=t.integer("seed", minimum=0),
        rounds=t.integer("rounds", minimum=1),
        min_rounds=t.integer("min_rounds", minimum=0),
        target_width=t.number("target_width", positive=True),
    )
    if spec.min_rounds and not MIN_ADAPTIVE_ROUNDS <= spec.min_rounds <= spec.rounds:
        t.fail(
            ("min_rounds", "rounds"),
            f"min_rounds ({spec.min_rounds}) must be 0 (fixed rounds) or from {MIN_ADAPTIVE_ROUNDS} "
            f"(fewer pairs give no interval) to rounds ({spec.rounds})",
        )
    if spec.max_samples < spec.min_samples:
        t.fail(
            ("min_samples", "max_samples"),
            f"max_samples ({spec.max_samples}) is below min_samples ({spec.min_samples})",
        )
    if spec.max_time_s < spec.min_time_s:
        t.fail(
            ("min_time_s", "max_time_s"),
            f"max_time_s ({spec.max_time_s}) is below min_time_s ({spec.min_time_s})",
        )
    return spec
