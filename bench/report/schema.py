"""The JSON report: a versioned document written atomically, and read back with a version check.

Layout (schema_version 1):
  schema, schema_version, status ("complete" | "partial" | "skipped"), skip_reason,
  suite (as resolved), suite_file, overrides, started_at, finished_at,
  environment (fingerprint), noise_warnings, reference (machine-normalising workload),
  harness (loop overhead), encoders (per encoder: parameters, dim, disk size, weights sha256, random_init),
  setups (per encoder/backend/device/dtype/threads: load time, first-query latency, parity),
  cells (per cell: identity, statistics per phase, raw samples, memory, warmup, warnings, and, optional,
  rounds: per interleaved round its end-to-end median, sample count and position in the round's order),
  excluded (combinations that cannot run, with reasons), quick_look (only when true: --set without --as-latest),
  retrieval (collection, systems with parameters and aggregates, significance comparisons, BEIR-style
  blocks), frontier (per encoder: size, latency, quality, Pareto flag), artifacts (files beside the report).

This module alone knows that layout: it turns a `bench.results.Report` into it and back, and owns
`per_query.jsonl` (one line per system, measure and query: {"system", "measure", "qid", "value"}).
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.plan import Cell
from bench.report import values
from bench.results import (
    PHASES,
    STATUSES,
    Artifacts,
    CellResult,
    CellRound,
    EncoderInfo,
    Exclusion,
    FrontierEntry,
    FrontierLatency,
    PairInfo,
    Params,
    PhaseStats,
    PrecisionCheck,
    Report,
    RetrievalResult,
    SetupResult,
    StoredParams,
    SystemResult,
    Warmup,
    beir_block,
)
from bench.retrieval.significance import SystemComparison
from daft.cache import atomic_write_bytes, atomic_write_text
from daft.collections.lines import write_lines
from daft.embeddings import REFERENCE
from daft.errors import UserError

__all__ = [
    "PER_QUERY",
    "NotAReport",
    "SCHEMA",
    "SCHEMA_VERSION",
    "STATUSES",
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
    "write",
]

SCHEMA = "daft-bench/report"
SCHEMA_VERSION = 1
PER_QUERY = "per_query.jsonl"


class NotAReport(UserError):
    """A readable JSON file that is no daft-bench report (another tool's table): a folder of results may hold
    both, and a reader of the folder skips it where a reader of one file stops."""


def now() -> str:
    """The current UTC time in ISO 8601, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def new_report(suite: Mapping[str, Any], suite_file: str, overrides: list[str] | tuple[str, ...]) -> Report:
    """An empty report for a suite, started now and `partial` until a run finishes it."""
    return Report(suite=suite, suite_file=suite_file, overrides=tuple(overrides), started_at=now())


# --- to JSON --------------------------------------------------------------------------------------------------


def _cell_json(result: CellResult) -> dict[str, Any]:
    return {
        "id": result.id,
        "cell": result.cell.to_dict(),
        **{phase: asdict(getattr(result, phase)) for phase in PHASES},
        "samples": {phase: list(values) for phase, values in result.samples.items()},
        "warmup": asdict(result.warmup),
        "capped": result.capped,
        "wall_s": result.wall_s,
        "memory": dict(result.memory),
        "warnings": list(result.warnings),
        **({} if result.word_cache is None else {"word_cache": dict(result.word_cache)}),
        # Optional: reports written before interleaved rounds have none and still read back.
        **({"rounds": [asdict(r) for r in result.rounds]} if result.rounds else {}),
        **({} if result.stopped is None else {"stopped": result.stopped}),
    }


def _encoder_json(info: EncoderInfo) -> dict[str, Any]:
    # `random_init` is written only where true: an explicit mark on the encoders it concerns, and every
    # report written before it existed still reads back as it was.
    return {k: v for k, v in asdict(info).items() if k != "name" and (k != "random_init" or v)}


def _check_json(check: PrecisionCheck | None, precision: str) -> dict[str, Any] | None:
    # The value at the index's precision is stored under that precision's name, fp32's under "fp32".
    if check is None:
        return None
    out = {"measure": check.measure, precision: check.value, REFERENCE: check.reference, "delta": check.delta}
    return out if check.max_loss is None else out | {"max_loss": check.max_loss, "exceeded": check.exceeded}


def _check(data: Mapping[str, Any] | None, precision: str) -> PrecisionCheck | None:
    if data is None:
        return None
    return PrecisionCheck(data["measure"], data[precision], data[REFERENCE], data.get("max_loss"))


def _params(system: str, data: Mapping[str, Any]) -> Params:
    """A system's parameters, read as the registered system types them (as stored if it is unknown)."""
    from bench.retrieval.systems import registry

    known = registry().get(system)
    return (known.params if known else StoredParams).from_json(data)


def _system_json(system: SystemResult) -> dict[str, Any]:
    pair = asdict(system.pair) if system.pair else {}
    if system.pair:
        pair["precision_check"] = _check_json(system.pair.precision_check, system.pair.doc_precision)
    if pair and pair["doc_precision_setting"] is None:
        # Read from a report written before every run recorded its precision: written back as it was (an
        # fp32 index then had no precision keys). A run now writes all three, fp32 included.
        del pair["doc_precision_setting"]
        if pair["doc_precision"] == "fp32":
            del pair["doc_precision"], pair["precision_check"]
    return {
        "id": system.id,
        "system": system.system,
        "encoder": system.encoder,
        **pair,
        "params": system.params.to_json(),
        "aggregate": dict(system.aggregate),
    }


def _retrieval_json(r: RetrievalResult) -> dict[str, Any]:
    # `tune_folds` only under cross-validation: a report tuned on a split reads as before the key existed.
    return {
        "collection": r.collection,
        "collection_fingerprint": r.collection_fingerprint,
        "split": r.split,
        "tune_split": r.tune_split,
        **({"tune_folds": r.tune_folds} if r.tune_folds else {}),
        "queries": r.queries,
        "measures": list(r.measures),
        "primary_measure": r.primary,
        "systems": [_system_json(s) for s in r.systems],
        "comparisons": [asdict(c) for c in r.comparisons],
        "beir": {s.id: beir_block(s.aggregate) for s in r.systems},
        "timings": dict(r.timings),
    }


def _frontier_json(entry: FrontierEntry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "encoder": entry.encoder,
        "parameters": entry.parameters,
        "measure": entry.measure,
        "latency_from": entry.latency_from,
    }
    out |= {f"b{batch}": asdict(at) if at else None for batch, at in entry.latency.items()}
    out |= dict(entry.quality)
    out |= {f"pareto_{system}": flag for system, flag in entry.pareto.items()}
    return out


def to_json(report: Report) -> dict[str, Any]:
    """The report as the JSON document (before NaN -> null): keys and order of schema_version 1."""
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "status": report.status,
        "skip_reason": report.skip_reason,
        "suite": report.suite,
        "suite_file": report.suite_file,
        "overrides": list(report.overrides),
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "environment": report.environment,
        "noise_warnings": list(report.noise_warnings),
        "reference": report.reference,
        "harness": report.harness,
        "encoders": {name: _encoder_json(info) for name, info in report.encoders.items()},
        "setups": [asdict(s) for s in report.setups],
        "cells": [_cell_json(c) for c in report.cells],
        "excluded": [{"cell": e.cell.to_dict(), "reason": e.reason} for e in report.excluded],
    }
    if report.quick_look:  # only then: a full run's report is as it was before the key existed
        out["quick_look"] = True
    if report.retrieval is not None:
        out["retrieval"] = _retrieval_json(report.retrieval)
    if report.frontier is not None:
        out["frontier"] = [_frontier_json(e) for e in report.frontier]
    if report.artifacts is not None:
        out["artifacts"] = {"dir": report.artifacts.dir, "files": list(report.artifacts.files)}
    return out


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
        memory=data["memory"],
        warnings=tuple(data["warnings"]),
        word_cache=data.get("word_cache"),
        rounds=tuple(CellRound(**r) for r in data.get("rounds") or ()),
        stopped=data.get("stopped"),
    )


def _system(data: Mapping[str, Any]) -> SystemResult:
    pair_keys = [f.name for f in fields(PairInfo)]
    # Reports from before precisions (and fp32 indexes before they were recorded) lack these: their defaults.
    optional = ("doc_precision", "precision_check", "doc_precision_setting")
    pair_keys = [k for k in pair_keys if k in data or k not in optional]
    pair = None
    if "query_parameters" in data:
        pair = PairInfo(**{k: data[k] for k in pair_keys})
        pair = replace(pair, precision_check=_check(data.get("precision_check"), pair.doc_precision))
    return SystemResult(
        id=data["id"],
        system=data["system"],
        encoder=data["encoder"],
        params=_params(data["system"], data["params"]),
        aggregate=values.scores(data["aggregate"], f"system {data['id']!r} aggregate"),
        pair=pair,
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
        tune_folds=data.get("tune_folds", 0),  # reports before cross-validation: a separate split
        queries=data["queries"],
        measures=tuple(data["measures"]),
        primary_measure=data.get("primary_measure", ""),  # reports before it: the first of `measures`
        systems=tuple(_system(s) for s in data["systems"]),
        comparisons=tuple(_comparison(c) for c in data["comparisons"]),
        timings=data["timings"],
    )  # `beir` is derived from the aggregates, so it is not read back


def _frontier_entry(data: Mapping[str, Any]) -> FrontierEntry:
    batches = {int(k[1:]): v for k, v in data.items() if re.fullmatch(r"b\d+", k)}
    return FrontierEntry(
        encoder=data["encoder"],
        parameters=data["parameters"],
        measure=data["measure"],
        latency_from=data["latency_from"],
        latency={
            b: None
            if v is None
            else FrontierLatency(
                v["cell"], v["p50_ns"], values.pair(v["p50_ci"], "frontier p50_ci"), v["p99_ns"]
            )
            for b, v in batches.items()
        },
        quality={system: data[system] for system in ("dense", "hybrid")},
        pareto={k.removeprefix("pareto_"): v for k, v in data.items() if k.startswith("pareto_")},
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


def from_json(data: Mapping[str, Any]) -> Report:
    """The report a JSON document holds (schema and version already checked); KeyError/TypeError if malformed."""
    retrieval, frontier, artifacts = data.get("retrieval"), data.get("frontier"), data.get("artifacts")
    suite = values.mapping(data["suite"], "suite")
    values.mapping(suite.get("suite"), "suite.suite", optional=True)
    return Report(
        suite=suite,
        suite_file=data["suite_file"],
        overrides=tuple(data["overrides"]),
        quick_look=_flag(data.get("quick_look", False), "quick_look"),  # absent before it was written
        started_at=data["started_at"],
        status=_status(data["status"]),
        skip_reason=data["skip_reason"],
        finished_at=data["finished_at"],
        environment=values.mapping(data["environment"], "environment"),
        noise_warnings=tuple(data["noise_warnings"]),
        reference=_reference(data["reference"]),
        harness=data["harness"],
        encoders={name: EncoderInfo(name=name, **info) for name, info in data["encoders"].items()},
        setups=tuple(SetupResult(**s) for s in data["setups"]),
        cells=tuple(_cell_result(c) for c in data["cells"]),
        excluded=tuple(Exclusion(Cell.from_dict(e["cell"]), e["reason"]) for e in data["excluded"]),
        retrieval=_retrieval(retrieval) if retrieval else None,
        frontier=None if frontier is None else tuple(_frontier_entry(e) for e in frontier),
        artifacts=Artifacts(artifacts["dir"], tuple(artifacts["files"])) if artifacts else None,
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
    """The suite's [gate] as the gate will use it: known keys, and thresholds that are numbers >= 0."""
    gate = report.gate  # unknown keys: TypeError
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
    """Read a report, refusing what is not one or has another schema version; with `per_query`, also the
    per-query values written beside it (the quality gate needs them, tables and history do not)."""
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
    if data.get("schema_version") != SCHEMA_VERSION:
        raise UserError(
            f"{path}: report schema_version {data.get('schema_version')!r} is not supported "
            f"(this version reads {SCHEMA_VERSION})"
        )
    try:
        report = from_json(data)
        _check_gate(report)
    except (KeyError, TypeError, ValueError, AttributeError, UserError) as err:
        raise UserError(f"{path}: malformed report ({type(err).__name__}: {err})") from None
    return _with_per_query(report, path) if per_query else report
