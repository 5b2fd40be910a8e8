"""The JSON report: a versioned document written atomically, and read back through its upgrades.

Layout (schema_version 3; every key is written every time, null where a value is absent):
  schema, schema_version, status ("complete" | "partial" | "skipped"), skip_reason, quick_look,
  suite (as resolved: path, overrides and every table, null where the suite has none), suite_file,
  overrides, started_at, finished_at, environment (fingerprint), noise_warnings, reference
  (machine-normalising workload), harness (loop overhead), encoders (per encoder: parameters, dim, disk size,
  weights sha256, random_init, spec), setups (per encoder/backend/device/dtype/threads: load time,
  first-query latency, parity), cells (per cell: identity, statistics per phase, raw samples, memory,
  warmup, warnings, word cache, rounds: per interleaved round its end-to-end median, sample count and
  position in the round's order, and why they stopped), excluded (combinations that cannot run, with
  reasons), retrieval (collection, systems with parameters, their pair and aggregates, significance
  comparisons, BEIR-style blocks), frontier (per encoder: size, latency per key batch size, quality, Pareto
  flags), artifacts (files beside the report).

Versions as asv keeps them: a report of an older version is read through one function per version,
`update_to_N` (the version N-1 document made a version N one), in `UPDATES`; nothing else reads an older
layout. This module alone knows the layout: it turns a `bench.results.Report` into it and back, and owns
`per_query.jsonl` (one line per system, measure and query: {"system", "measure", "qid", "value"}).
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import values
from bench.results import (
    PHASES,
    STATUSES,
    Artifacts,
    Cell,
    CellResult,
    CellRound,
    EncoderInfo,
    Exclusion,
    FrontierEntry,
    FrontierLatency,
    Harness,
    MemoryUse,
    PairInfo,
    Params,
    PhaseStats,
    PrecisionCheck,
    Report,
    RetrievalResult,
    SetupResult,
    StoredParams,
    SystemComparison,
    SystemResult,
    Warmup,
    beir_block,
)
from bench.specs import TABLES, RetrievalSpec, Suite
from daft.collections.lines import write_lines
from daft.core.config import jsonable
from daft.core.errors import UserError
from daft.store.cache import atomic_write_bytes, atomic_write_text

__all__ = [
    "PER_QUERY",
    "NotAReport",
    "SCHEMA",
    "SCHEMA_VERSION",
    "STATUSES",
    "UPDATES",
    "artifacts_dir",
    "dumps",
    "from_json",
    "load",
    "new_report",
    "now",
    "paths",
    "per_query_text",
    "read_per_query",
    "store",
    "to_json",
    "upgrade",
    "write",
]

SCHEMA = "daft-bench/report"
SCHEMA_VERSION = 3
PER_QUERY = "per_query.jsonl"


class NotAReport(UserError):
    """A readable JSON file that is no daft-bench report (another tool's table): a folder of results may hold
    both, and a reader of the folder skips it where a reader of one file stops."""


def now() -> str:
    """The current UTC time in ISO 8601, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def new_report(suite: Suite, suite_file: str, overrides: list[str] | tuple[str, ...]) -> Report:
    """An empty report for a suite, started now and `partial` until a run finishes it."""
    return Report(suite=suite, suite_file=suite_file, overrides=tuple(overrides), started_at=now())


# --- to JSON --------------------------------------------------------------------------------------------------


def _suite_json(suite: Suite) -> dict[str, Any]:
    """The suite as resolved: file path, overrides, then every table under its TOML name (null if absent)."""
    out: dict[str, Any] = {"path": str(suite.path), "overrides": list(suite.overrides)}
    tables = {table: jsonable(getattr(suite, attr)) for table, (attr, _) in TABLES.items()}
    return out | tables | {"retrieval": None if suite.retrieval is None else suite.retrieval.flat()}


def _cell_json(result: CellResult) -> dict[str, Any]:
    return {
        "id": result.id,
        "cell": result.cell.to_dict(),
        **{phase: asdict(getattr(result, phase)) for phase in PHASES},
        "samples": {phase: list(values) for phase, values in result.samples.items()},
        "warmup": asdict(result.warmup),
        "capped": result.capped,
        "wall_s": result.wall_s,
        "memory": asdict(result.memory),
        "warnings": list(result.warnings),
        "word_cache": None if result.word_cache is None else dict(result.word_cache),
        "rounds": [asdict(r) for r in result.rounds],
        "stopped": result.stopped,
    }


def _check_json(check: PrecisionCheck | None, precision: str) -> dict[str, Any] | None:
    if check is None:
        return None
    return {
        "measure": check.measure,
        "precision": precision,
        "value": check.value,
        "fp32": check.reference,
        "delta": check.delta,
        "max_loss": check.max_loss,
        "exceeded": check.exceeded,
    }


def _pair_json(pair: PairInfo | None) -> dict[str, Any] | None:
    if pair is None:
        return None
    return asdict(pair) | {"precision_check": _check_json(pair.precision_check, pair.doc_precision)}


def _system_json(system: SystemResult) -> dict[str, Any]:
    return {
        "id": system.id,
        "system": system.system,
        "encoder": system.encoder,
        "pair": _pair_json(system.pair),
        "params": system.params.to_json(),
        "aggregate": dict(system.aggregate),
    }


def _retrieval_json(r: RetrievalResult) -> dict[str, Any]:
    return {
        "collection": r.collection,
        "collection_fingerprint": r.collection_fingerprint,
        "split": r.split,
        "tune_split": r.tune_split,
        "tune_folds": r.tune_folds,
        "queries": r.queries,
        "measures": list(r.measures),
        "primary_measure": r.primary,
        "systems": [_system_json(s) for s in r.systems],
        "comparisons": [asdict(c) for c in r.comparisons],
        "beir": {s.id: beir_block(s.aggregate) for s in r.systems},
        "timings": dict(r.timings),
    }


def _frontier_json(entry: FrontierEntry) -> dict[str, Any]:
    return {
        "encoder": entry.encoder,
        "parameters": entry.parameters,
        "measure": entry.measure,
        "latency_from": entry.latency_from,
        "latency": [
            {"batch_size": batch, "fastest": None if at is None else asdict(at)}
            for batch, at in entry.latency.items()
        ],
        "quality": dict(entry.quality),
        "pareto": dict(entry.pareto),
    }


def to_json(report: Report) -> dict[str, Any]:
    """The report as the JSON document (before NaN -> null): every key of schema_version 2, in order."""
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "status": report.status,
        "skip_reason": report.skip_reason,
        "quick_look": report.quick_look,
        "suite": _suite_json(report.suite),
        "suite_file": report.suite_file,
        "overrides": list(report.overrides),
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "environment": report.environment,
        "noise_warnings": list(report.noise_warnings),
        "reference": report.reference,
        "harness": None if report.harness is None else asdict(report.harness),
        "encoders": {
            name: {k: v for k, v in asdict(info).items() if k != "name"}
            for name, info in report.encoders.items()
        },
        "setups": [asdict(s) for s in report.setups],
        "cells": [_cell_json(c) for c in report.cells],
        "excluded": [{"cell": e.cell.to_dict(), "reason": e.reason} for e in report.excluded],
        "retrieval": None if report.retrieval is None else _retrieval_json(report.retrieval),
        "frontier": None if report.frontier is None else [_frontier_json(e) for e in report.frontier],
        "artifacts": None
        if report.artifacts is None
        else {"dir": report.artifacts.dir, "files": list(report.artifacts.files)},
    }


def per_query_text(retrieval: RetrievalResult | None) -> str:
    """`per_query.jsonl`: one line per system, measure and query ("" without per-query values)."""
    if retrieval is None:
        return ""
    return "".join(
        json.dumps({"system": s.id, "measure": m, "qid": q, "value": v}) + "\n"
        for s in retrieval.systems
        for m, values in s.per_query.items()
        for q, v in values.items()
    )


# --- older versions -------------------------------------------------------------------------------------------

# What version 1 left out where a value was its default (a key written only when it mattered, or not yet
# there when the report was written), as those defaults were: a version-1 report means them.
_V1_SUITE_DEFAULTS: dict[str, dict[str, Any]] = {
    "latency": {"baseline_backend": ""},
    # Before interleaved rounds, every cell was measured in one go: one round.
    "measure": {"rounds": 1, "min_rounds": 0, "target_width": 0.1},
    "retrieval": {
        "cv_folds": 5,
        "doc_precision": "fp32",
        "max_precision_loss": None,
        "precision_loss": "warn",
    },
    "gate": {
        "latency_threshold": 0.10,
        "noise_floor_us": 5.0,
        "quality_threshold": 0.005,
        "cell_thresholds": {},
        "quality_thresholds": {},
    },
}
_V1_PAIR = ("query_parameters", "documents", "index", "timings")
# A version-1 cell's memory held the RSS keys, and the CUDA ones on a GPU (none after an interrupted run).
_V1_MEMORY = (
    "rss_delta",
    "rss_peak",
    "device",
    "baseline_allocated",
    "peak_allocated",
    "peak_reserved",
    "delta_allocated",
)


def update_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 -> 2: every key written (what version 1 left out is its default then), a system's pair
    under `pair`, a frontier entry's latencies as a list of batch sizes and its flags under `pareto`."""
    data.setdefault("quick_look", False)
    for key in ("retrieval", "frontier", "artifacts"):
        data.setdefault(key, None)
    suite = values.mapping(data["suite"], "suite")
    for table in ("queries", "latency", "retrieval"):
        suite.setdefault(table, None)
    suite.setdefault("gate", {})
    for table, defaults in _V1_SUITE_DEFAULTS.items():
        if suite[table] is not None:
            suite[table] = defaults | suite[table]
    if suite["retrieval"] is not None:  # version 1 tuned and checked on the first measure
        suite["retrieval"].setdefault("primary_measure", suite["retrieval"]["measures"][0])
    suite["encoders"] = [{"recipe": None} | encoder for encoder in suite["encoders"]]
    for cell in data["cells"]:
        for key, default in (("word_cache", None), ("rounds", []), ("stopped", None)):
            cell.setdefault(key, default)
        cell["memory"] = dict.fromkeys(_V1_MEMORY) | cell["memory"]
    for info in data["encoders"].values():
        info.setdefault("random_init", False)
    if (retrieval := data["retrieval"]) is not None:
        retrieval.setdefault("tune_folds", 0)
        retrieval.setdefault("primary_measure", retrieval["measures"][0])
        for system in retrieval["systems"]:
            _nest_pair(system)
            # The tuning is the run's (`tune_split`, `tune_folds`), no longer repeated in a system's params.
            for key in ("tuned_on", "cv_folds"):
                system["params"].pop(key, None)
    for entry in data["frontier"] or ():
        _regroup_frontier(entry)
    return data


def _nest_pair(system: dict[str, Any]) -> None:
    """A version-1 system's pair keys (beside its own, where it had a pair) under `pair`; an fp32 index then
    had no precision keys."""
    if "query_parameters" not in system:
        system["pair"] = None
        return
    pair = {key: system.pop(key) for key in _V1_PAIR}
    pair["doc_precision"] = system.pop("doc_precision", "fp32")
    pair["precision_check"] = _check_to_2(system.pop("precision_check", None), pair["doc_precision"])
    system.pop("doc_precision_setting", None)  # the suite's [retrieval] doc_precision says it
    system["pair"] = pair


def _check_to_2(check: dict[str, Any] | None, precision: str) -> dict[str, Any] | None:
    """A version-1 precision check (its value under the precision's name) as version 2's named keys."""
    if check is None:
        return None
    return {
        "measure": check["measure"],
        "precision": precision,
        "value": check[precision],
        "fp32": check["fp32"],
        "delta": check["delta"],
        "max_loss": check.get("max_loss"),
        "exceeded": check.get("exceeded", False),
    }


def _regroup_frontier(entry: dict[str, Any]) -> None:
    """A version-1 frontier entry's `b<batch>`, system and `pareto_<system>` keys as lists and objects."""
    batches = sorted(int(key[1:]) for key in entry if re.fullmatch(r"b\d+", key))
    entry["latency"] = [{"batch_size": b, "fastest": entry.pop(f"b{b}")} for b in batches]
    entry["quality"] = {system: entry.pop(system) for system in ("dense", "hybrid")}
    flags = [key for key in entry if key.startswith("pareto_")]
    entry["pareto"] = {key.removeprefix("pareto_"): entry.pop(key) for key in flags}


def update_to_3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 -> 3: [retrieval] comparisons, none before (every encoder was compared with the baseline)."""
    retrieval = values.mapping(data["suite"], "suite")["retrieval"]
    if retrieval is not None:
        retrieval.setdefault("comparisons", [])
    return data


# Version N-1 -> N, for N = 2, ...: `UPDATES[N - 2]`.
UPDATES: tuple[Callable[[dict[str, Any]], dict[str, Any]], ...] = (update_to_2, update_to_3)


def upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """A report document of an older version made the current one (`UPDATES`, one version at a time);
    KeyError, TypeError or ValueError if malformed."""
    for update in UPDATES[data["schema_version"] - 1 :]:
        data = update(data)
    data["schema_version"] = SCHEMA_VERSION
    return data


def _check_version(data: Mapping[str, Any], path: Path) -> None:
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= SCHEMA_VERSION:
        raise UserError(
            f"{path}: report schema_version {version!r} is not supported "
            f"(this version reads 1 to {SCHEMA_VERSION})"
        )


# --- from JSON ------------------------------------------------------------------------------------------------


_INTERVALS = ("median_ci", "median_ci_exact", "throughput_ci")


def _phase(data: Any, where: str) -> PhaseStats:
    known = {f.name for f in fields(PhaseStats)}
    stats = {k: v for k, v in values.mapping(data, where).items() if k in known}
    for key, value in stats.items():
        if key != "unit" and key not in _INTERVALS:
            values.number(value, f"{where}.{key}", optional=True)
    for key in _INTERVALS:
        stats[key] = values.pair(stats.get(key), f"{where}.{key}")
    if stats.get("median") is None:  # a median never is null in a written report; keep the type honest
        stats["median"] = math.nan
    return PhaseStats(**stats)


def _cell_result(data: Mapping[str, Any]) -> CellResult:
    where = f"cell {data.get('id')!r}"
    return CellResult(
        cell=Cell.from_dict(data["cell"]),
        **{phase: _phase(data[phase], f"{where} {phase}") for phase in PHASES},
        samples={
            phase: values.samples(raw, f"{where} samples.{phase}")
            for phase, raw in values.mapping(data["samples"], f"{where} samples").items()
        },
        warmup=Warmup(**data["warmup"]),
        capped=data["capped"],
        wall_s=data["wall_s"],
        memory=values.record(MemoryUse, data["memory"], f"{where} memory"),
        warnings=tuple(data["warnings"]),
        word_cache=data["word_cache"],
        rounds=tuple(CellRound(**r) for r in data["rounds"]),
        stopped=data["stopped"],
    )


def _params(system: str, data: Mapping[str, Any]) -> Params:
    """A system's parameters, read as the registered system types them (as stored if it is unknown)."""
    from bench.retrieval.systems import registry

    known = registry().get(system)
    return (known.params if known else StoredParams).from_json(data)


def _pair(data: Any, where: str) -> PairInfo | None:
    if data is None:
        return None
    pair = dict(values.mapping(data, where))
    if (check := pair["precision_check"]) is not None:
        check = values.mapping(check, f"{where} precision_check")
        pair["precision_check"] = PrecisionCheck(
            check["measure"], check["value"], check["fp32"], check["max_loss"]
        )
    return PairInfo(**pair)


def _system(data: Mapping[str, Any]) -> SystemResult:
    where = f"system {data['id']!r}"
    return SystemResult(
        id=data["id"],
        system=data["system"],
        encoder=data["encoder"],
        params=_params(data["system"], data["params"]),
        aggregate=values.scores(data["aggregate"], f"{where} aggregate"),
        pair=_pair(data["pair"], f"{where} pair"),
    )


def _comparison(data: Mapping[str, Any]) -> SystemComparison:
    # JSON has no NaN: an adjusted p-value that was NaN comes back null.
    return SystemComparison(**{k: math.nan if v is None else v for k, v in data.items()})


def _retrieval(data: Mapping[str, Any]) -> RetrievalResult:
    return RetrievalResult(
        collection=data["collection"],
        collection_fingerprint=data["collection_fingerprint"],
        split=data["split"],
        tune_split=data["tune_split"],
        tune_folds=data["tune_folds"],
        queries=data["queries"],
        measures=tuple(data["measures"]),
        primary_measure=data["primary_measure"],
        systems=tuple(_system(s) for s in data["systems"]),
        comparisons=tuple(_comparison(c) for c in data["comparisons"]),
        timings=data["timings"],
    )  # `beir` is derived from the aggregates, so it is not read back


def _fastest(data: Any) -> FrontierLatency | None:
    if data is None:
        return None
    where = f"frontier cell {data.get('cell')!r}"
    return FrontierLatency(
        data["cell"], data["p50_ns"], values.pair(data["p50_ci"], f"{where} p50_ci"), data["p99_ns"]
    )


def _frontier_entry(data: Mapping[str, Any]) -> FrontierEntry:
    return FrontierEntry(
        encoder=data["encoder"],
        parameters=data["parameters"],
        measure=data["measure"],
        latency_from=data["latency_from"],
        latency={at["batch_size"]: _fastest(at["fastest"]) for at in data["latency"]},
        quality=dict(data["quality"]),
        pareto=dict(data["pareto"]),
    )


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where} is {value!r}, not true or false")
    return value


def _status(value: Any) -> str:
    if not isinstance(value, str) or value not in STATUSES:
        raise ValueError(f"status is {value!r}, not one of {', '.join(STATUSES)}")
    return value


def _reference(data: Any) -> Mapping[str, Any] | None:
    if data is None:
        return None
    if values.mapping(data, "reference").get("median_ns") is not None:
        values.finite(data["median_ns"], "reference.median_ns", minimum=0)  # what the gate divides by
    return data


def _suite(data: Any) -> Suite:
    suite = values.mapping(data, "suite")
    tables = {attr: suite[table] for table, (attr, _) in TABLES.items()}
    shared = {"path": suite["path"], "overrides": suite["overrides"], **tables, "retrieval": None}
    return replace(values.record(Suite, shared, "suite"), retrieval=_retrieval_spec(suite["retrieval"]))


def _retrieval_spec(data: Any) -> RetrievalSpec | None:
    """[retrieval] from its flat keys: the shared ones, then each registered system's settings (its defaults
    for keys the report lacks, a system registered since; keys of systems this build lacks are left)."""
    from bench.retrieval.systems import default_settings

    if data is None:
        return None
    flat = values.mapping(data, "suite.retrieval")
    shared = {f.name: flat[f.name] for f in fields(RetrievalSpec) if f.name != "settings"}
    settings = {
        name: values.record(type(default), jsonable(default) | _known(flat, default), "suite.retrieval")
        for name, default in default_settings().items()
    }
    return replace(
        values.record(RetrievalSpec, shared | {"settings": {}}, "suite.retrieval"), settings=settings
    )


def _known(flat: Mapping[str, Any], settings: Any) -> dict[str, Any]:
    """The keys of `flat` that `settings` (a dataclass) has."""
    return {f.name: flat[f.name] for f in fields(settings) if f.name in flat}


def from_json(data: Mapping[str, Any]) -> Report:
    """The report a current-version JSON document holds (`upgrade` made it one); KeyError, TypeError or
    ValueError if malformed."""
    retrieval, frontier, artifacts = data["retrieval"], data["frontier"], data["artifacts"]
    harness = data["harness"]
    return Report(
        suite=_suite(data["suite"]),
        suite_file=data["suite_file"],
        overrides=tuple(data["overrides"]),
        quick_look=_flag(data["quick_look"], "quick_look"),
        started_at=data["started_at"],
        status=_status(data["status"]),
        skip_reason=data["skip_reason"],
        finished_at=data["finished_at"],
        environment=values.mapping(data["environment"], "environment"),
        noise_warnings=tuple(data["noise_warnings"]),
        reference=_reference(data["reference"]),
        harness=None if harness is None else values.record(Harness, harness, "harness"),
        encoders={name: EncoderInfo(name=name, **info) for name, info in data["encoders"].items()},
        setups=tuple(SetupResult(**s) for s in data["setups"]),
        cells=tuple(_cell_result(c) for c in data["cells"]),
        excluded=tuple(Exclusion(Cell.from_dict(e["cell"]), e["reason"]) for e in data["excluded"]),
        retrieval=None if retrieval is None else _retrieval(retrieval),
        frontier=None if frontier is None else tuple(_frontier_entry(e) for e in frontier),
        artifacts=None if artifacts is None else Artifacts(artifacts["dir"], tuple(artifacts["files"])),
    )


def read_per_query(path: Path) -> dict[str, dict[str, dict[str, float]]]:
    """system -> measure -> qid -> value from a `per_query.jsonl`; a bad file is a UserError."""
    values: dict[str, dict[str, dict[str, float]]] = {}
    try:
        for line in Path(path).read_text("utf-8").splitlines():
            row = json.loads(line)
            values.setdefault(row["system"], {}).setdefault(row["measure"], {})[row["qid"]] = float(
                row["value"]
            )
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise UserError(f"{path}: unreadable per-query values ({err})") from None
    return values


def _check_gate(report: Report) -> None:
    """The suite's [gate] as the gate will use it: thresholds that are finite numbers >= 0."""
    gate = report.gate
    for key in ("latency_threshold", "noise_floor_us", "quality_threshold"):
        values.finite(getattr(gate, key), f"suite.gate.{key}", minimum=0)
    for pattern, value in gate.cell_thresholds.items():
        values.finite(value, f"suite.gate.cell_thresholds.{pattern}", minimum=0)
    for measure, value in gate.quality_thresholds.items():
        values.finite(value, f"suite.gate.quality_thresholds.{measure}", minimum=0)


def _with_per_query(report: Report, path: Path) -> Report:
    """`report` with the per-query values of its systems read from beside `path` (if it wrote any)."""
    if report.retrieval is None or report.artifacts is None or PER_QUERY not in report.artifacts.files:
        return report
    values = read_per_query(path.parent / report.artifacts.dir / PER_QUERY)
    systems = tuple(replace(s, per_query=values.get(s.id, {})) for s in report.retrieval.systems)
    return replace(report, retrieval=replace(report.retrieval, systems=systems))


# --- files ----------------------------------------------------------------------------------------------------


def _finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: they become null (statistics that do not exist); paths become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):  # a report must never fail to write at the end of a long run
        return str(value)
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def dumps(value: Any) -> str:
    """Strict JSON text (NaN and infinities as null), one value per file: reports and the gate's verdict."""
    return json.dumps(_finite(value), indent=1, allow_nan=False) + "\n"


def _text(report: Report) -> str:
    return dumps(to_json(report))


def _stamp(text: str) -> str:
    return re.sub(r"[^0-9T]", "", text)[:15]  # 20261125T120102


def artifacts_dir(report: Report, results_dir: Path) -> Path:
    """Where a report's run files, per-query values and plots go: `<name>/` beside it (its name without
    `.json`: `<suite>-<timestamp>`, or with `-2`, `-3`, ... when another run of that second took it)."""
    return Path(results_dir) / (report.artifacts.dir if report.artifacts else _base_name(report))


def _base_name(report: Report) -> str:
    return f"{report.suite_name}-{_stamp(report.started_at)}"


def _suffix(report: Report) -> str:
    """A partial run is kept as `.partial.json` and a quick look as `.quick.json`: names that `bench
    history` does not read and that never become `-latest`."""
    return ".partial.json" if report.status == "partial" else ".quick.json" if report.quick_look else ".json"


def _claim(report: Report, results_dir: Path) -> str:
    """A report name no other run has (two runs of a suite can start in one second): its folder is made
    exclusively (mkdir is atomic) and the name taken only if no report of it exists once the folder is
    ours; the folder stays while the report is written, then goes if nothing was put in it."""
    base = _base_name(report)
    for n in itertools.count(1):
        name = base if n == 1 else f"{base}-{n}"
        try:
            (Path(results_dir) / name).mkdir(parents=True)
        except FileExistsError:
            continue
        if not any((Path(results_dir) / f"{name}{s}").exists() for s in _SUFFIXES):
            return name
        (Path(results_dir) / name).rmdir()
    raise AssertionError("unreachable")


_SUFFIXES = (".json", ".quick.json", ".partial.json")


# A file beside a report: its bytes, its text, or its lines (made as they are written: a run file's
# text need not be held whole).
FileContent = str | bytes | Iterable[str]


def _write_files(folder: Path, files: Mapping[str, FileContent]) -> None:
    for relative, content in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            atomic_write_bytes(target, content)
        elif isinstance(content, str):
            atomic_write_text(target, content)
        else:
            write_lines(target, content)


def paths(report: Report, results_dir: Path) -> tuple[Path, Path | None]:
    """Where `write` put a report: its own name and `<suite>-latest.json`; a quick look or a partial run
    only under its own name (`.quick.json`, `.partial.json`: names `bench history` does not read), so
    `-latest` is always a complete run the user asked for."""
    folder = artifacts_dir(report, results_dir)
    own = folder.with_name(folder.name + _suffix(report))
    if report.quick_look or report.status == "partial":
        return own, None
    return own, Path(results_dir) / f"{report.suite_name}-latest.json"


def write(report: Report, results_dir: Path, files: Mapping[str, FileContent] | None = None) -> Report:
    """Write the report atomically to both `paths` under a name of its own (`_claim`), `files` and the
    per-query values first, beside them; returns the report as written (its artifacts name where)."""
    results_dir = Path(results_dir)
    files = dict(files or {})
    if text := per_query_text(report.retrieval):
        files[PER_QUERY] = text
    name = _claim(report, results_dir)
    report = replace(report, artifacts=Artifacts(name, tuple(sorted(files))))
    folder = artifacts_dir(report, results_dir)
    try:
        _write_files(folder, files)
        text = _text(report)
        for path in paths(report, results_dir):
            if path is not None:
                atomic_write_text(path, text)
    finally:
        with contextlib.suppress(OSError):  # the folder held the name; empty, it goes
            folder.rmdir()
    return report


def store(report: Report, folder: Path) -> Path:
    """Write `report` as `<folder>/<suite>.json`, with only its per-query values beside it, in
    `<folder>/<suite>/` (a committed baseline: run files and plots stay out of the repository)."""
    name = report.suite_name
    target = Path(folder) / f"{name}.json"
    artifacts = None
    if text := per_query_text(report.retrieval):
        _write_files(Path(folder) / name, {PER_QUERY: text})
        artifacts = Artifacts(name, (PER_QUERY,))
    atomic_write_text(target, _text(replace(report, artifacts=artifacts)))
    return target


def load(path: Path, *, per_query: bool = False) -> Report:
    """Read a report of any schema version this code knows (upgraded to the current one), refusing what is
    not one; with `per_query`, also the per-query values written beside it (the quality gate needs them,
    tables and history do not)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        # Archived reports are kept gzipped (results/experiments/): read as they are, no gunzip step.
        data = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    except FileNotFoundError:
        raise UserError(f"{path}: no such report") from None
    except (OSError, EOFError, UnicodeDecodeError, ValueError) as err:
        raise UserError(f"{path}: not a readable JSON report ({err})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        schema = data.get("schema") if isinstance(data, dict) else None
        raise NotAReport(f"{path}: not a daft-bench report (schema is {schema!r})")
    _check_version(data, path)
    try:
        report = from_json(upgrade(data))
        _check_gate(report)
    except (KeyError, TypeError, ValueError, AttributeError, UserError) as err:
        raise UserError(f"{path}: malformed report ({type(err).__name__}: {err})") from None
    return _with_per_query(report, path) if per_query else report
