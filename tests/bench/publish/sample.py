"""Synthetic results folders for the publish tests and the 500-report check: reports written by the real
`schema.write`/`store`, with samples (so the gate can judge neighbours), retrieval with a tuned hybrid,
comparisons and a frontier made by `bench.frontier`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench import schema
from bench.frontier import frontier
from bench.results import (
    Cell,
    CellResult,
    EncoderInfo,
    PhaseStats,
    Report,
    RetrievalResult,
    SystemComparison,
    SystemResult,
)
from bench.retrieval.systems import registry
from bench.stats import Stats
from tests.bench.support import make_suite

SUITE = "demo"
ENCODERS = {"big": 2_000_000.0, "l0": 20_000.0}  # p50 at batch 1 (ns)
BACKENDS = ("torch", "onnxruntime")
BATCHES = (1, 8)
MEASURES = ("nDCG@10", "R@100")
SAMPLES = 40
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def machine(name: str, cores: int = 2) -> dict[str, Any]:
    """A fingerprint with what the site reads (the digest fields among them)."""
    return {
        "cpu": {"model": name, "logical_cores": cores, "physical_cores": cores, "usable_cores": cores},
        "memory": {"total_bytes": 16e9},
        "packages": {"torch": "2.13.0+cpu", "onnxruntime": "1.32.0"},
        "cuda": {"devices": []},
        "git": {"commit": "abcdef0123456789", "dirty": False},
    }


def cells_count() -> int:
    """Cells per report."""
    return len(ENCODERS) * len(BACKENDS) * len(BATCHES)


def _phase(samples: np.ndarray, batch: int) -> PhaseStats:
    summary = Stats(samples, batch_size=batch, resamples=200).summary()
    for key in ("median_ci", "median_ci_exact", "throughput_ci"):
        if summary[key] is not None:
            summary[key] = tuple(summary[key])
    return PhaseStats(**summary)


def _cells(rng: np.random.Generator, factor: float) -> list[CellResult]:
    out = []
    for encoder, base in ENCODERS.items():
        for backend in BACKENDS:
            for batch in BATCHES:
                cell = Cell(encoder, backend, "cpu", "fp32", batch, 1)
                samples = base * batch**0.7 * factor * rng.lognormal(0.0, 0.02, SAMPLES)
                stats = _phase(samples, batch)
                out.append(CellResult(cell, stats, samples={"end_to_end": tuple(samples.tolist())}))
    return out


def _system(system_id: str, value: float, params: dict[str, Any] | None = None) -> SystemResult:
    encoder, _, kind = system_id.rpartition("/")
    aggregate = {m: round(value * (1 + 0.5 * i), 4) for i, m in enumerate(MEASURES)}
    typed = registry()[kind or system_id].params.from_json(params or {})
    return SystemResult(system_id, kind or system_id, encoder or None, typed, aggregate)


def _hybrid(top: float) -> dict[str, Any]:
    curve = [{"alpha": a / 4, MEASURES[0]: round(top - (a / 4 - 0.5) ** 2 / 5, 4)} for a in range(5)]
    return {"alpha": 0.5, "normalization": "min-max", "missing": "min", "curve": curve}


def _retrieval(quality: float) -> RetrievalResult:
    systems = [_system("bm25", 0.40, {"k1": 0.9, "b": 0.4})]
    for encoder, offset in (("big", 0.2), ("l0", 0.0)):
        top = quality + offset + 0.1
        systems += [
            _system(f"{encoder}/dense", quality + offset),
            _system(f"{encoder}/hybrid", top, _hybrid(top)),
        ]
    tests = [
        SystemComparison(s.id, "bm25", MEASURES[0], s.aggregate[MEASURES[0]], 0.4,
                         s.aggregate[MEASURES[0]] - 0.4, 5, 2, 3, 0.01, 0.01, 0.02, True)
        for s in systems[1:]
    ]  # fmt: skip
    return RetrievalResult("wordnet", "f" * 16, "test", "dev", 50, MEASURES, tuple(systems), tuple(tests))


def report(index: int, *, env: dict[str, Any], factor: float = 1.0, quality: float = 0.3) -> Report:
    """Run `index` of the demo suite: cells slowed by `factor`, dense quality `quality`."""
    rng = np.random.default_rng(index)
    suite = make_suite(
        {"suite": {"name": SUITE}, "latency": {"batch_sizes": list(BATCHES), "baseline": "big"}}
    )
    started = (START + timedelta(hours=index)).isoformat()
    encoders = {name: EncoderInfo(name, "static", int(1e6 / n), 8, 0, "0" * 64, 0.1) for name, n in
                (("big", 1), ("l0", 100))}  # fmt: skip
    run = replace(
        schema.new_report(suite, "suites/demo.toml", []),
        started_at=started, finished_at=started, status="complete", environment=env,
        cells=tuple(_cells(rng, factor)), retrieval=_retrieval(quality), encoders=encoders,
        reference={"name": "matmul", "median_ns": 1e6},
    )  # fmt: skip
    return replace(run, frontier=frontier(run))


def write_results(
    root: Path, factors: Sequence[float] = (1.0, 1.0, 1.4, 1.4), *, machines: Sequence[str] = ("cpu-a",)
) -> list[Path]:
    """A results folder: one run per factor (machines taken in turn), the first stored as the baseline, a
    `-latest` copy, a quick look, another tool's JSON and a malformed report; the stamped reports' paths."""
    paths = []
    for i, factor in enumerate(factors):
        run = report(i, env=machine(machines[i % len(machines)]), factor=factor)
        if i == 0:
            schema.store(run, root / "baselines")
        schema.write(run, root)
        paths.append(schema.paths(run, root)[0])
    quick = replace(report(99, env=machine(machines[0])), quick_look=True, overrides=("a.b=1",))
    schema.write(quick, root)
    (root / "summary-table.json").write_text(json.dumps([{"pair": "x", "nDCG@10": 0.3}]))
    (root / f"{SUITE}-20990101T000000.json").write_text(
        '{"schema": "daft-bench/report", "schema_version": 1}'
    )
    return paths
