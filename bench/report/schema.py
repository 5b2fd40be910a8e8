"""The JSON report: a versioned document written atomically, and read back with a version check.

Layout (schema_version 1):
  schema, schema_version, status ("complete" | "partial" | "skipped"), skip_reason,
  suite (as resolved), suite_file, overrides, started_at, finished_at,
  environment (fingerprint), noise_warnings, reference (machine-normalising workload),
  harness (loop overhead), encoders (per encoder: parameters, dim, disk size, weights sha256),
  setups (per encoder/backend/device/dtype/threads: load time, first-query latency, parity),
  cells (per cell: identity, statistics per phase, raw samples, memory, warmup, warnings),
  excluded (combinations that cannot run, with reasons),
  retrieval (collection, systems with parameters and aggregates, significance comparisons, BEIR-style
  blocks), frontier (per encoder: size, latency, quality, Pareto flag), artifacts (files beside the report).
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from daft.cache import atomic_write_bytes, atomic_write_text
from daft.errors import UserError

SCHEMA = "daft-bench/report"
SCHEMA_VERSION = 1
STATUSES = ("complete", "partial", "skipped")


def now() -> str:
    """The current UTC time in ISO 8601, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def new_report(suite: dict[str, Any], suite_file: str, overrides: list[str]) -> dict[str, Any]:
    """An empty report for a suite; runners fill it in."""
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "status": "partial",  # until the run says otherwise, so an interrupted run is marked
        "skip_reason": None,
        "suite": suite,
        "suite_file": suite_file,
        "overrides": list(overrides),
        "started_at": now(),
        "finished_at": None,
        "environment": {},
        "noise_warnings": [],
        "reference": None,
        "harness": None,
        "encoders": {},
        "setups": [],
        "cells": [],
        "excluded": [],
    }


def suite_name(report: dict[str, Any]) -> str:
    """The name of the suite a report belongs to."""
    return str(report["suite"].get("suite", {}).get("name") or "suite")


def _finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: they become null (statistics that do not exist); paths become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):  # a report must never fail to write at the end of a long run
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _stamp(text: str) -> str:
    return re.sub(r"[^0-9T]", "", text)[:15]  # 20261125T120102


def artifacts_dir(report: dict[str, Any], results_dir: Path) -> Path:
    """Where a report's run files, per-query values and plots go: `<suite>-<timestamp>/` beside it."""
    return Path(results_dir) / f"{suite_name(report)}-{_stamp(report['started_at'])}"


def write(
    report: dict[str, Any], results_dir: Path, artifacts: dict[str, str | bytes] | None = None
) -> tuple[Path, Path]:
    """Write `<suite>-<timestamp>.json` and `<suite>-latest.json` atomically (artifacts first, beside them)."""
    results_dir = Path(results_dir)
    name = suite_name(report)
    if artifacts:
        folder = artifacts_dir(report, results_dir)
        for relative, content in artifacts.items():
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                atomic_write_bytes(target, content)
            else:
                atomic_write_text(target, content)
        report["artifacts"] = {"dir": folder.name, "files": sorted(artifacts)}
    text = json.dumps(_finite(report), indent=1, allow_nan=False) + "\n"
    stamped = results_dir / f"{name}-{_stamp(report['started_at'])}.json"
    latest = results_dir / f"{name}-latest.json"
    atomic_write_text(stamped, text)
    atomic_write_text(latest, text)
    return stamped, latest


def load(path: Path) -> dict[str, Any]:
    """Read a report, refusing what is not one or has another schema version."""
    path = Path(path)
    try:
        report = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such report") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise UserError(f"{path}: not a readable JSON report ({err})") from None
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        raise UserError(f"{path}: not a daft-bench report (schema is {report.get('schema')!r})")
    if report.get("schema_version") != SCHEMA_VERSION:
        raise UserError(
            f"{path}: report schema_version {report.get('schema_version')!r} is not supported "
            f"(this version reads {SCHEMA_VERSION})"
        )
    return report
