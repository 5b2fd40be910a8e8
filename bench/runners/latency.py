"""Run the latency cells of a plan: build each encoder once, prepare each backend once, time every cell.

Results are appended to the report as each cell finishes, so an interrupted run still holds every
finished cell (the CLI then writes it marked `partial`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from itertools import groupby
from pathlib import Path
from typing import Any

import torch

from bench import environment, memory, reference
from bench.backends import backend, prepare
from bench.backends.base import Target, parity
from bench.plan import Cell, Plan
from bench.queries import load_queries
from bench.stats import Stats, is_noisy
from bench.timing import Budget, Samples, batches, calibrate_overhead, measure, rotation_length, timed_call
from daft import assets, encoders
from daft.config import jsonable
from daft.onnx_export import weights_fingerprint

PARITY_QUERIES = 64
MEMORY_CALLS = 3
MEMORY_BUDGET_S = 0.1
OVERHEAD_REFERENCE_NS = 50_000  # the yardstick: overhead must stay <= 2% of a 50 µs operation


def _encoder_spec(spec: Any) -> dict[str, Any]:
    fields = dataclasses.asdict(spec) if dataclasses.is_dataclass(spec) else dict(spec)
    return {k: v for k, v in fields.items() if v is not None and k not in ("name", "recipe")}


def _asset_pins(specs: Iterable[Any]) -> dict[str, list[str]]:
    pins = {}
    for spec in specs:
        for key in ("model", "tokenizer"):
            name = getattr(spec, key, None)
            if isinstance(name, str) and name in assets.ASSETS:
                pins[name] = [a.sha256 for a in assets.ASSETS[name].artifacts]
    return pins


def _budget(measure_spec: Any) -> Budget:
    names = {f.name for f in dataclasses.fields(Budget)}
    return Budget(**{k: v for k, v in dataclasses.asdict(measure_spec).items() if k in names})


def _state_bytes(encoder: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in encoder.state_dict().values())


def environment_section(report: dict[str, Any], suite: Any) -> None:
    """Fingerprint, noise warnings, the reference workload and the harness overhead."""
    report["environment"] = environment.fingerprint(_asset_pins(suite.encoders))
    report["noise_warnings"] = environment.noise_warnings(report["environment"])
    report["reference"] = reference.measure_reference()
    overhead = Stats(calibrate_overhead().end_to_end).median
    report["harness"] = {
        "overhead_ns": overhead,
        "percent_of_50us": 100 * overhead / OVERHEAD_REFERENCE_NS,
        "method": "median of the timed loop around no-op tokenize/forward/fetch",
    }


def _cell_entry(
    cell: Cell, samples: Samples, rss: Any, cuda: Any, seed: int, cv_warn: float
) -> dict[str, Any]:
    phases = {
        name: Stats(getattr(samples, name), batch_size=cell.batch_size, seed=seed)
        for name in ("tokenize", "forward", "end_to_end")
    }
    warnings = []
    if is_noisy(phases["end_to_end"], cv_warn):
        warnings.append(f"high variation (CV {phases['end_to_end'].cv:.0%} > {cv_warn:.0%})")
    if samples.capped:
        warnings.append(f"time cap reached after {len(samples.end_to_end)} samples")
    if not samples.warmup_steady:
        warnings.append(f"latency not steady after {samples.warmup_calls} warm-up calls")
    return {
        "id": cell.id,
        "cell": cell.to_dict(),
        **{name: stats.summary() for name, stats in phases.items()},
        "samples": {name: getattr(samples, name) for name in ("tokenize", "forward", "end_to_end")},
        "warmup": {
            "calls": samples.warmup_calls,
            "shapes": samples.warmup_shapes,
            "steady": samples.warmup_steady,
        },
        "capped": samples.capped,
        "wall_s": samples.wall_s,
        "memory": {"rss_delta": rss.delta, "rss_peak": rss.peak, **(cuda.to_dict() if cuda else {})},
        "warnings": warnings,
    }


def _memory_pass(prepared: Any, texts: list[str], batch_size: int, device: str) -> tuple[Any, Any]:
    """Peak memory over a few calls, in a pass of its own: the sampler thread would perturb the timings."""
    batch = batches(texts, batch_size)
    with memory.PeakRSS() as rss, memory.cuda_peak(device if device != "cpu" else None) as cuda:
        start = time.perf_counter()
        for i in range(MEMORY_CALLS):  # one call is enough for a slow cell: its peak is per call
            timed_call(prepared, batch(i))
            if time.perf_counter() - start > MEMORY_BUDGET_S:
                break
    return rss, cuda


def _batch_shapes(encoder: Any, texts: list[str], batch_size: int, query: Any) -> list[tuple[int, ...]]:
    """The padded input shape of each batch in the timing rotation, as every backend will see it."""
    batch = batches(texts, batch_size)
    return [
        tuple(
            encoder.tokenize(batch(i), max_length=query.max_length, padding=query.padding)["input_ids"].shape
        )
        for i in range(rotation_length(len(texts), batch_size))
    ]


def _warm_source(query: Any) -> str | None:
    """The training split of the measured collection (what a tokenizer cache may learn), if distinct."""
    if query.source is None or query.split == "train":
        return None
    return f"{query.collection}:train"


def _setup_key(cell: Cell) -> tuple:
    return (cell.backend, cell.device, cell.dtype, cell.threads)


def run_latency(
    suite: Any, plan: Plan, report: dict[str, Any], *, workdir: Path, advance: Callable[[str], None]
) -> None:
    """Measure every latency cell of `plan`, filling `report` in place; `advance(cell_id)` after each cell."""
    query = suite.queries
    texts = load_queries(query.source, query.file, query.limit)
    budget = _budget(suite.measure)
    parity_texts = texts[:PARITY_QUERIES]
    specs = {spec.name: spec for spec in suite.encoders}
    for name, cells in groupby(plan.cells, key=lambda c: c.encoder):
        cells = list(cells)
        start = time.perf_counter()
        encoder = encoders.build({**_encoder_spec(specs[name]), "max_length": query.max_length})
        build_s = time.perf_counter() - start
        features = encoder.tokenize(parity_texts, max_length=query.max_length, padding=query.padding)
        with torch.inference_mode():
            expected = encoder.embed(**features).numpy()
        report["encoders"][name] = {
            "type": encoder.kind,
            "parameters": encoder.parameter_count(),
            "dim": encoder.dim,
            "disk_bytes": _state_bytes(encoder),
            "weights_sha256": weights_fingerprint(encoder),
            "build_s": build_s,
            # An `arch` encoder has random weights: its timings are real, its embeddings mean nothing.
            "random_init": getattr(specs[name], "arch", None) is not None,
            "spec": jsonable(_encoder_spec(specs[name])),
        }
        shapes: dict[int, list[tuple[int, ...]]] = {}
        for (backend_name, device, dtype, threads), group in groupby(cells, key=_setup_key):
            if reason := backend(backend_name).refuses(encoder.kind):  # a pair's side, known only now
                report["excluded"] += [{"cell": c.to_dict(), "reason": reason} for c in group]
                continue
            target = Target(
                backend_name, device, dtype, threads, query.max_length, query.padding, _warm_source(query)
            )
            start = time.perf_counter()
            prepared = prepare(encoder, target, workdir=workdir)
            try:
                prepare_s = time.perf_counter() - start
                first_query_ns = timed_call(prepared, texts[:1])[2]
                diff = parity(prepared, expected, parity_texts)
                tolerance = max(backend(backend_name).parity_tolerance, suite.measure.parity_tol)
                setup = {
                    "encoder": name,
                    "backend": backend_name,
                    "device": device,
                    "dtype": dtype,
                    "threads": threads,
                    "load_s": build_s + prepare_s,
                    "prepare_s": prepare_s,
                    "first_query_ns": first_query_ns,
                    "parity_max_abs_diff": diff,
                    "parity_tolerance": tolerance,
                    "parity_warning": None
                    if diff <= tolerance
                    else f"{name} on {backend_name}/{device}/{dtype}: embeddings differ from torch fp32 by {diff:.1e}",
                    "disk_bytes": prepared.info.get("graph_bytes", _state_bytes(encoder)),
                    "info": prepared.info,
                }
                report["setups"].append(setup)
                for cell in group:
                    if cell.batch_size not in shapes:
                        shapes[cell.batch_size] = _batch_shapes(encoder, texts, cell.batch_size, query)
                    cache_stats = getattr(prepared, "cache_stats", lambda: None)
                    cache_stats()  # resets the counters, so the rates are this cell's (the cache is frozen)
                    samples = measure(prepared, texts, cell.batch_size, budget, shapes[cell.batch_size])
                    word_cache = cache_stats()
                    rss, cuda = _memory_pass(prepared, texts, cell.batch_size, device)
                    entry = _cell_entry(
                        cell,
                        samples,
                        rss,
                        cuda if device != "cpu" else None,
                        suite.measure.seed,
                        suite.measure.cv_warn,
                    )
                    if word_cache is not None:
                        entry["word_cache"] = word_cache
                    report["cells"].append(entry)
                    advance(cell.id)
            finally:
                prepared.close()
        del encoder
