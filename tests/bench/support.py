"""Small typed results for the readers' tests (compare, history, frontier, schema)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench import schema
from bench.results import Cell, CellResult, PhaseStats, Report, RetrievalResult, SystemResult
from bench.retrieval.systems import default_settings
from bench.retrieval.systems.bm25 import Bm25Params
from bench.retrieval.systems.dense import DenseParams
from bench.retrieval.systems.rrf import RrfParams
from bench.specs import GateSpec, LatencySpec, MeasureSpec, QueriesSpec, RetrievalSpec, Suite, SuiteInfo


def cell_result(
    encoder: str,
    batch: int = 1,
    *,
    samples: Sequence[float] | None = None,
    median: float | None = None,
    ci: tuple[float, float] | None = None,
    p50: float | None = None,
    backend: str = "torch",
) -> CellResult:
    """A cpu fp32 one-thread cell: from raw `samples` (median, p50, p90), or a given `median` (and CI)."""
    cell = Cell(encoder, backend, "cpu", "fp32", batch, 1)
    if samples is not None:
        values = np.asarray(samples, dtype=float)
        stats = PhaseStats(
            n=len(values), median=float(np.median(values)), p50=float(np.median(values)),
            p90=float(np.percentile(values, 90)),
        )  # fmt: skip
        return CellResult(cell, stats, samples={"end_to_end": tuple(float(x) for x in values)})
    assert median is not None
    return CellResult(cell, PhaseStats(n=1, median=median, p50=p50, median_ci=ci))


def system(system_id: str, aggregate: Mapping[str, float], **values: Any) -> SystemResult:
    """A retrieval system; `per_query` as a keyword gives its per-query values."""
    encoder = system_id.split("/")[0] if "/" in system_id else None
    kind = system_id.split("/")[-1]
    params = {"bm25": Bm25Params(0.9, 0.4), "rrf": RrfParams(60)}.get(kind, DenseParams())
    return SystemResult(system_id, kind, encoder, params, dict(aggregate), **values)


def retrieval(systems: Sequence[SystemResult], measures: Sequence[str] | None = None) -> RetrievalResult:
    """A retrieval result of `systems` on wordnet:test; `measures` default to the first system's."""
    shown = tuple(measures or (list(systems[0].aggregate) if systems else ["nDCG@10"]))
    return RetrievalResult("wordnet", "f" * 16, "test", None, 10, shown, tuple(systems))


def _table(cls: type, defaults: Mapping[str, Any], given: Mapping[str, Any] | None) -> Any:
    """`cls` from its defaults and the given keys, lists as the tuples a loaded suite holds."""
    merged = dict(defaults) | dict(given)
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in merged.items()})


def make_suite(tables: Mapping[str, Mapping[str, Any]] | None = None) -> Suite:
    """A latency suite "s" with the defaults, each table of `tables` overriding them key by key
    ({"latency": {"baseline": "base"}}; a "retrieval" table adds retrieval, "latency": None takes latency
    and queries away)."""
    given = {"latency": {}, "queries": {}, "retrieval": None} | dict(tables or {})
    if given["latency"] is None:
        given["queries"] = None
    return Suite(
        path=Path("suites/s.toml"),
        info=_table(SuiteInfo, {"name": "s"}, given.get("suite", {})),
        queries=_optional(QueriesSpec, {"source": "wordnet:test"}, given["queries"]),
        encoders=(),
        latency=_optional(LatencySpec, {}, given["latency"]),
        measure=_table(MeasureSpec, {}, given.get("measure", {})),
        retrieval=_optional(RetrievalSpec, {"settings": default_settings()}, given["retrieval"]),
        gate=_table(GateSpec, {}, given.get("gate", {})),
    )


def _optional(cls: type, defaults: Mapping[str, Any], given: Mapping[str, Any] | None) -> Any:
    return None if given is None else _table(cls, defaults, given)


def report(
    cells: Sequence[CellResult] = (),
    *,
    suite: Mapping[str, Any] | None = None,
    retrieval: RetrievalResult | None = None,
    **fields: Any,
) -> Report:
    """A report of suite "s" (or of the `suite` tables, as `suite` takes them) with these results; other
    `Report` fields as keywords."""
    base = schema.new_report(make_suite(suite), "suites/s.toml", [])
    return replace(base, cells=tuple(cells), retrieval=retrieval, **fields)
