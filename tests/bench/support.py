"""Small typed results for the readers' tests (compare, history, frontier, schema)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from bench.plan import Cell
from bench.report import schema
from bench.results import CellResult, PhaseStats, Report, RetrievalResult, SystemResult
from bench.retrieval.systems.bm25 import Bm25Params
from bench.retrieval.systems.dense import DenseParams
from bench.retrieval.systems.rrf import RrfParams


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


def report(
    cells: Sequence[CellResult] = (),
    *,
    suite: Mapping[str, Any] | None = None,
    retrieval: RetrievalResult | None = None,
    **fields: Any,
) -> Report:
    """A report of suite "s" (or `suite`) with these results; other `Report` fields as keywords."""
    base = schema.new_report(suite or {"suite": {"name": "s"}}, "suites/s.toml", [])
    return replace(base, cells=tuple(cells), retrieval=retrieval, **fields)
