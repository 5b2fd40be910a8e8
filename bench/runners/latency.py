"""Run the latency cells of a plan: build each encoder once, prepare each backend once, time every cell
in interleaved rounds (`bench.rounds`).

Results are yielded as each finishes (an encoder, a backend setup, then the cells after their last round),
so the caller holds every finished one when a run is interrupted (the pipeline then writes them marked
`partial`).

All backends stay prepared together, so that one round visits every cell and a speed-up's two cells
share each round. That costs memory: cpu_latency's 28 setups peak at about 2 GB of RSS together, against
0.85 GB one at a time; the suites' encoders are small (MiniLM-L6, the largest, is 90 MB in fp32). A suite
of large models would need its rounds per encoder group, and lose the pairing across encoders.
"""

from __future__ import annotations

import dataclasses
import functools
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from itertools import groupby
from pathlib import Path
from typing import Any

import torch

from bench import memory
from bench.backends import backend, prepare
from bench.backends.base import Target, WarmTexts, parity
from bench.plan import Plan
from bench.queries import load_queries, origin
from bench.results import (
    PHASES,
    Cell,
    CellResult,
    EncoderInfo,
    Exclusion,
    MemoryUse,
    PhaseStats,
    SetupResult,
    Warmup,
)
from bench.rounds import INTERRUPTED, Stopping, TimedCell, interleave
from bench.sources import describe
from bench.specs import EncoderSpec, LatencySpec, MeasureSpec, QueriesSpec, Suite
from bench.speedup import compares
from bench.stats import Stats, is_noisy
from bench.timeslice import detect
from bench.timing import Prepared, batches, rotation_length, timed_call
from daft.core.config import jsonable
from daft.core.errors import UserError
from daft.core.finite import require_finite
from daft.models.build import build
from daft.models.encoders import Encoder
from daft.models.tokenization import NoTokens
from daft.store.cache import weights_fingerprint

PARITY_QUERIES = 64
MEMORY_CALLS = 3
MEMORY_BUDGET_S = 0.1
NOT_MEASURED = MemoryUse()  # an interrupted run's cells have no memory pass
MIN_ROUNDS_SPREAD = 3  # round medians are compared for a "rounds disagree" warning from this many rounds


def _encoder_spec(spec: EncoderSpec) -> dict[str, Any]:
    fields = dataclasses.asdict(spec)
    return {k: v for k, v in fields.items() if v is not None and k not in ("name", "recipe")}


def _state_bytes(encoder: torch.nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in encoder.state_dict().values())


def _cell_result(
    cell: Cell,
    timed: TimedCell,
    measure: MeasureSpec,
    memory_use: MemoryUse = NOT_MEASURED,
    one_thread: float | None = None,
) -> CellResult:
    """A cell's result from its rounds: statistics over the pooled samples, and its warnings
    (`one_thread`: the median of the same cell on one thread, against which time slices are told)."""
    samples = timed.samples
    phases = {
        name: Stats(getattr(samples, name), batch_size=cell.batch_size, seed=measure.seed) for name in PHASES
    }
    n = len(samples.end_to_end)
    # A slice may stop at its share of the time cap; the cell is short of samples only if all are.
    capped = samples.capped and n < measure.min_samples
    warnings = []
    if is_noisy(phases["end_to_end"], measure.cv_warn):
        warnings.append(f"high variation (CV {phases['end_to_end'].cv:.0%} > {measure.cv_warn:.0%})")
    medians = [r.median for r in timed.visits]
    if len(medians) >= MIN_ROUNDS_SPREAD and (spread := _spread(medians)) > measure.cv_warn:
        warnings.append(f"rounds disagree (CV of round medians {spread:.0%} > {measure.cv_warn:.0%})")
    if capped:
        warnings.append(f"time cap reached after {n} samples")
    if not samples.warmup_steady:
        warnings.append(f"latency not steady after {samples.warmup_calls} warm-up calls")
    if timed.stopped == INTERRUPTED or (timed.stopped is None and len(timed.visits) < measure.rounds):
        warnings.append(f"interrupted after {len(timed.visits)} of {measure.rounds} rounds")
    if one_thread is not None and (slices := detect(samples.end_to_end, one_thread)):
        warnings.append(slices)
    return CellResult(
        cell=cell,
        **{name: _phase_stats(stats) for name, stats in phases.items()},
        samples={name: tuple(getattr(samples, name)) for name in PHASES},
        warmup=Warmup(samples.warmup_calls, samples.warmup_shapes, samples.warmup_steady),
        capped=capped,
        wall_s=samples.wall_s,
        memory=memory_use,
        warnings=tuple(warnings),
        word_cache=timed.word_cache,
        rounds=tuple(timed.visits),
        stopped=timed.stopped,
    )


def _spread(values: list[float]) -> float:
    """Coefficient of variation of the round medians: a load that came and went during the run."""
    mean = statistics.fmean(values)
    return statistics.stdev(values) / mean if mean > 0 else 0.0


def _phase_stats(stats: Stats) -> PhaseStats:
    summary = stats.summary()
    for key in ("median_ci", "median_ci_exact", "throughput_ci"):
        if summary[key] is not None:
            summary[key] = tuple(summary[key])
    return PhaseStats(**summary)


def _memory_pass(prepared: Prepared, texts: list[str], batch_size: int, device: str) -> MemoryUse:
    """Peak memory over a few calls, in a pass of its own: the sampler thread would perturb the timings."""
    batch = batches(texts, batch_size)
    with memory.PeakRSS() as rss, memory.cuda_peak(device if device != "cpu" else None) as cuda:
        start = time.perf_counter()
        for i in range(MEMORY_CALLS):  # one call is enough for a slow cell: its peak is per call
            timed_call(prepared, batch(i))
            if time.perf_counter() - start > MEMORY_BUDGET_S:
                break
    return memory.use(rss, cuda if device != "cpu" else None)


def _batch_shapes(
    encoder: Encoder, texts: list[str], batch_size: int, query: QueriesSpec
) -> list[tuple[int, ...]]:
    """The padded input shape of each batch in the timing rotation, as every backend will see it."""
    batch = batches(texts, batch_size)
    return [
        tuple(
            encoder.tokenize(batch(i), max_length=query.max_length, padding=query.padding)["input_ids"].shape
        )
        for i in range(rotation_length(len(texts), batch_size))
    ]


def _warm_texts(query: QueriesSpec) -> WarmTexts | None:
    """The training split of the measured collection (what a tokenizer cache may learn), if distinct."""
    if query.source is None or query.split == "train":
        return None
    source = f"{query.collection}:train"
    return WarmTexts(source, functools.partial(load_queries, source, None, limit=10**9))


def _setup_key(cell: Cell) -> tuple:
    return (cell.backend, cell.device, cell.dtype, cell.threads)


def run_latency(
    suite: Suite, plan: Plan, *, workdir: Path, on_visit: Callable[[str], None] | None = None
) -> Iterator[EncoderInfo | SetupResult | CellResult | Exclusion]:
    """Measure every latency cell of `plan` in interleaved rounds (`bench.rounds`), yielding each encoder
    as built, each backend setup as prepared, the cells a backend refuses for an encoder known only when
    built (a pair's side), and then every cell once its rounds are done. `on_visit` hears each visit's
    "round r/R: cell id" (progress).

    Every backend is prepared up front and kept until the last round, so that one round can visit all
    cells. On Ctrl-C the cells that finished a round are yielded (marked interrupted) before it propagates.
    """
    query = suite.queries
    texts = load_queries(query.source, query.file, query.limit)
    try:
        yield from _measure(suite, plan, texts, workdir, on_visit)
    except NoTokens as err:
        raise UserError(
            f"{suite.path}: [queries] {origin(query.source, query.file, err.text)}: {err}"
        ) from None


def _measure(
    suite: Suite, plan: Plan, texts: list[str], workdir: Path, on_visit: Callable[[str], None] | None
) -> Iterator[EncoderInfo | SetupResult | CellResult | Exclusion]:
    """`run_latency` on its query texts."""
    with ExitStack() as opened:
        timed: list[tuple[Cell, TimedCell]] = []
        for item in _prepare_all(suite, plan, texts, opened, workdir):
            if isinstance(item, tuple):
                timed.append(item)
            else:
                yield item
        rounds = suite.measure.rounds

        def visiting(round_index: int, index: int) -> None:
            if on_visit is not None:
                on_visit(f"round {round_index + 1}/{rounds}: {timed[index][0].id}")

        _link_baselines(timed, suite.latency)
        measure = suite.measure
        rule = Stopping(measure.min_rounds, measure.target_width, measure.seed)
        try:
            interleave([t for _, t in timed], rounds, measure.seed, visiting, rule)
        except KeyboardInterrupt:
            yield from (_cell_result(cell, t, measure) for cell, t in timed if t.visits)
            raise
        one_thread = _one_thread_medians(timed)
        for cell, t in timed:
            t.step.activate()
            used = _memory_pass(t.step, texts, cell.batch_size, cell.device)
            alone = one_thread.get(_sibling(cell)) if (cell.threads or 0) > 1 else None
            yield _cell_result(cell, t, measure, used, alone)


def _link_baselines(timed: list[tuple[Cell, TimedCell]], latency: LatencySpec) -> None:
    """Point each timed cell at the cell its speed-up divides (`bench.speedup.compares`), if measured."""
    for cell, t in timed:
        t.baseline = next(
            (o for other, o in timed if compares(cell, other, latency.baseline, latency.baseline_backend)),
            None,
        )


def _sibling(cell: Cell) -> tuple:
    """A cell's identity but for its threads."""
    return (cell.encoder, cell.backend, cell.device, cell.dtype, cell.batch_size)


def _one_thread_medians(timed: list[tuple[Cell, TimedCell]]) -> dict[tuple, float]:
    """The end-to-end median of every measured one-thread cell, by `_sibling`."""
    return {
        _sibling(cell): statistics.median(t.samples.end_to_end)
        for cell, t in timed
        if cell.threads == 1 and t.samples.end_to_end
    }


def _prepare_all(
    suite: Suite, plan: Plan, texts: list[str], opened: ExitStack, workdir: Path
) -> Iterator[EncoderInfo | SetupResult | Exclusion | tuple[Cell, TimedCell]]:
    """Build each encoder and prepare each backend (closed by `opened`, last first, which unwinds the
    thread counts they set); yields the results, and a `TimedCell` per cell to measure."""
    query = suite.queries
    parity_texts = texts[:PARITY_QUERIES]
    specs = {spec.name: spec for spec in suite.encoders}
    for name, cells in groupby(plan.cells, key=lambda c: c.encoder):
        cells = list(cells)
        start = time.perf_counter()
        encoder = build({**_encoder_spec(specs[name]), "max_length": query.max_length})
        build_s = time.perf_counter() - start
        features = encoder.tokenize(parity_texts, max_length=query.max_length, padding=query.padding)
        with torch.inference_mode():
            # Checked here, where the encoder's source is known: a pair's NaN weights name the pair.
            expected = require_finite(
                encoder.embed(**features).numpy(), f"encoder {name!r} ({describe(specs[name])})"
            )
        yield EncoderInfo(
            name=name,
            type=encoder.kind,
            parameters=encoder.parameter_count(),
            dim=encoder.dim,
            disk_bytes=_state_bytes(encoder),
            weights_sha256=weights_fingerprint(encoder),
            build_s=build_s,
            # An `arch` encoder has random weights: its timings are real, its embeddings mean nothing.
            random_init=specs[name].arch is not None,
            spec=jsonable(_encoder_spec(specs[name])),
        )
        shapes: dict[int, list[tuple[int, ...]]] = {}
        for (backend_name, device, dtype, threads), group in groupby(cells, key=_setup_key):
            if reason := backend(backend_name).refuses(encoder.kind):  # a pair's side, known only now
                yield from (Exclusion(c, reason) for c in group)
                continue
            target = Target(
                backend_name, device, dtype, threads, query.max_length, query.padding, _warm_texts(query)
            )
            start = time.perf_counter()
            prepared = prepare(encoder, target, workdir=workdir)
            opened.callback(prepared.close)
            prepare_s = time.perf_counter() - start
            first_query_ns = timed_call(prepared, texts[:1])[2]
            diff = parity(prepared, expected, parity_texts)
            tolerance = max(backend(backend_name).parity_tolerance, suite.measure.parity_tol)
            yield SetupResult(
                encoder=name,
                backend=backend_name,
                device=device,
                dtype=dtype,
                threads=threads,
                load_s=build_s + prepare_s,
                prepare_s=prepare_s,
                first_query_ns=first_query_ns,
                parity_max_abs_diff=diff,
                parity_tolerance=tolerance,
                parity_warning=None
                if diff <= tolerance
                else f"{name} on {backend_name}/{device}/{dtype}: embeddings differ from torch fp32 by {diff:.1e}",
                disk_bytes=prepared.info.get("graph_bytes", _state_bytes(encoder)),
                info=prepared.info,
            )
            for cell in group:
                if cell.batch_size not in shapes:
                    shapes[cell.batch_size] = _batch_shapes(encoder, texts, cell.batch_size, query)
                batch = batches(texts, cell.batch_size)
                rounds = suite.measure.rounds
                shape = shapes[cell.batch_size]
                yield (
                    cell,
                    TimedCell(
                        prepared,
                        batch,
                        suite.measure,
                        rounds,
                        shape,
                        group=cell.pairing,
                        threads=cell.threads,
                    ),
                )
