"""What a run produces, as frozen types: the runners return them, the readers use them.

`bench.schema` alone turns them into the JSON report (and `per_query.jsonl`) and back; nothing else
knows a key of the report. A `Report` is one run: the suite as resolved, the machine, and its results.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from bench.specs import GateSpec, Suite
from daft.core.config import jsonable
from daft.core.errors import UserError

__all__ = [
    "PHASES",
    "STATUSES",
    "AlphaCurve",
    "Artifacts",
    "Cell",
    "CellKey",
    "CellResult",
    "CellRound",
    "EncoderInfo",
    "Exclusion",
    "FrontierEntry",
    "FrontierLatency",
    "Harness",
    "MemoryUse",
    "PairInfo",
    "Params",
    "PrecisionCheck",
    "PhaseStats",
    "Report",
    "RetrievalResult",
    "SetupResult",
    "StoredParams",
    "SystemComparison",
    "SystemResult",
    "Warmup",
    "beir_block",
]

PHASES = ("tokenize", "forward", "end_to_end")
STATUSES = ("complete", "partial", "skipped")

CellKey = tuple[str, str, str, str, int, int | None]


@dataclass(frozen=True)
class Cell:
    """One measured combination; `threads` is None on cuda, where intra-op threads do not apply."""

    encoder: str
    backend: str
    device: str
    dtype: str
    batch_size: int
    threads: int | None

    @property
    def key(self) -> CellKey:
        """The identity used to match this cell across reports."""
        return (self.encoder, self.backend, self.device, self.dtype, self.batch_size, self.threads)

    @property
    def pairing(self) -> tuple:
        """What this cell shares with every cell a speed-up may compare it with, across encoders and
        backends (`bench.speedup`): device, dtype, batch size and threads."""
        return (self.device, self.dtype, self.batch_size, self.threads)

    @property
    def id(self) -> str:
        """A readable, stable id: `encoder/backend/device/dtype/b<batch>[/t<threads>]`."""
        parts = [self.encoder, self.backend, self.device, self.dtype, f"b{self.batch_size}"]
        if self.threads is not None:
            parts.append(f"t{self.threads}")
        return "/".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The cell as a JSON-ready dict (field name -> value)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cell:
        """The cell written by `to_dict`; a malformed record (e.g. a hand-edited report) is a UserError."""
        names = [f.name for f in fields(cls)]
        if not isinstance(data, Mapping) or set(data) != set(names):
            raise UserError(f"not a cell record (expected keys {', '.join(names)}): {data!r}")
        minimum = {"batch_size": 1, "threads": 0}  # threads 0: every core
        bad = [k for k in names if k not in minimum and not isinstance(data[k], str)]
        bad += [
            k
            for k, low in minimum.items()
            if not ((_is_int(data[k]) and data[k] >= low) or (data[k] is None and k == "threads"))
        ]
        if bad:
            raise UserError(f"cell record {data!r}: bad {', '.join(bad)}")
        return cls(**{k: data[k] for k in names})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class SystemComparison:
    """System A against system B on one measure; `p_adjusted` and `significant` come from the Holm step."""

    system_a: str
    system_b: str
    measure: str
    mean_a: float
    mean_b: float
    delta: float
    wins: int
    ties: int
    losses: int
    p_t_test: float
    p_permutation: float
    p_adjusted: float = math.nan
    significant: bool = False


@dataclass(frozen=True)
class PhaseStats:
    """One phase of a cell (`bench.stats.Stats.summary`): latencies in ns; None where too few samples."""

    unit: str = "ns"
    n: int = 0
    batch_size: int = 1
    mean: float | None = None
    std: float | None = None
    cv: float | None = None
    min: float | None = None
    max: float | None = None
    median: float = math.nan  # always there when n > 0, unlike the percentiles
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    iqr: float | None = None
    outliers: int | None = None
    median_ci: tuple[float, float] | None = None
    median_ci_exact: tuple[float, float] | None = None
    throughput: float | None = None
    throughput_ci: tuple[float, float] | None = None
    confidence: float | None = None
    resamples: int | None = None
    seed: int | None = None


@dataclass(frozen=True)
class Warmup:
    """How a cell's warm-up went: calls made, distinct input shapes called, whether latency settled."""

    calls: int = 0
    shapes: int = 0
    steady: bool = True


@dataclass(frozen=True)
class CellRound:
    """One round of a cell measured in interleaved rounds: its end-to-end median (ns), its sample count,
    and where the round's shuffled order visited it (0 = first)."""

    median: float
    n: int
    position: int


@dataclass(frozen=True)
class MemoryUse:
    """A cell's memory pass in bytes (`bench.memory`): the process's peak RSS over its entry, and on CUDA the
    caching allocator's counters on `device`; None where not measured (an interrupted run, the host)."""

    rss_delta: int | None = None
    rss_peak: int | None = None
    device: str | None = None
    baseline_allocated: int | None = None
    peak_allocated: int | None = None
    peak_reserved: int | None = None
    delta_allocated: int | None = None


@dataclass(frozen=True)
class CellResult:
    """One measured latency cell: statistics per phase, the raw samples, warm-up, memory, warnings."""

    cell: Cell
    end_to_end: PhaseStats
    tokenize: PhaseStats = PhaseStats()
    forward: PhaseStats = PhaseStats()
    samples: Mapping[str, tuple[float, ...]] = field(default_factory=dict)  # phase -> raw ns samples
    warmup: Warmup = Warmup()
    capped: bool = False
    wall_s: float = 0.0
    memory: MemoryUse = MemoryUse()
    warnings: tuple[str, ...] = ()
    # A static backend's word cache during this cell: hit rates of words and of whole texts (None: no cache).
    word_cache: Mapping[str, Any] | None = None
    # The interleaved rounds in order (none in reports measured in one go, before rounds); the phase
    # statistics pool every round's samples, a speed-up pairs the rounds of two cells.
    rounds: tuple[CellRound, ...] = ()
    # Why its rounds ended (`bench.rounds`: interval, ceiling, sample cap, baseline, interrupted); None
    # where the rounds did not adapt.
    stopped: str | None = None

    @property
    def id(self) -> str:
        """The cell's readable id (`Cell.id`), what reports are matched and grepped by."""
        return self.cell.id


@dataclass(frozen=True)
class EncoderInfo:
    """One encoder as built for the latency cells: size, output dimension, weights hash, build time."""

    name: str
    type: str
    parameters: int
    dim: int
    disk_bytes: int
    weights_sha256: str
    build_s: float
    # An `arch` encoder has random weights: its timings are real, its embeddings mean nothing.
    random_init: bool = False
    spec: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SetupResult:
    """Cold start of one encoder on one backend/device/dtype/threads: load, first query, parity."""

    encoder: str
    backend: str
    device: str
    dtype: str
    threads: int | None
    load_s: float
    prepare_s: float
    first_query_ns: int
    parity_max_abs_diff: float | None
    parity_tolerance: float
    parity_warning: str | None
    disk_bytes: int | None
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Harness:
    """The timing loop's own cost per call (`bench.timing.calibrate_overhead`) and its share of a 50 µs
    operation, the yardstick it must stay within 2% of."""

    overhead_ns: float
    percent_of_50us: float
    method: str


@dataclass(frozen=True)
class Exclusion:
    """A cell that is not measured, and why (plan rules, or what this machine cannot run)."""

    cell: Cell
    reason: str


@dataclass(frozen=True)
class PrecisionCheck:
    """An index built off fp32 checked against fp32: the primary measure of the dense run at both, on the
    suite's split, and the suite's `max_precision_loss` (None: not bounded)."""

    measure: str
    value: float  # at the index's precision
    reference: float  # at fp32
    max_loss: float | None = None

    @property
    def delta(self) -> float:
        """This precision's value minus fp32's (negative: a loss)."""
        return self.value - self.reference

    @property
    def exceeded(self) -> bool:
        """Whether the loss against fp32 is beyond `max_loss`."""
        return self.max_loss is not None and self.reference - self.value > self.max_loss


@dataclass(frozen=True)
class PairInfo:
    """What the systems of one encoder pair share: its size, documents, index, time."""

    query_parameters: int
    documents: str  # how the document vectors were had: computed, or read from the cache
    index: str
    timings: Mapping[str, float] = field(default_factory=dict)  # stage -> seconds
    doc_precision: str = "fp32"  # how the document vectors were computed (bench.documents.precision)
    precision_check: PrecisionCheck | None = None  # off fp32, unless `auto` chose the precision


@dataclass(frozen=True)
class AlphaCurve:
    """How a hybrid system's alpha was tuned: the primary measure at each alpha of the grid and the alpha
    chosen; under cross-validation one curve per fold (over the other folds' queries)."""

    fold: int | None
    chosen: float | None
    points: tuple[tuple[float, float], ...]  # (alpha, value)


class Params:
    """A system's parameters as the report records them: each system types its own (a frozen dataclass
    subclass, declared with the system); a system this build does not register reads back as
    `StoredParams`, its values as they were written."""

    def to_json(self) -> dict[str, Any]:
        """The parameters as the report stores them."""
        return jsonable(self)

    def shown(self) -> dict[str, str]:
        """The parameters a systems table shows, formatted."""
        return {}

    def alpha_curves(self, measure: str) -> tuple[AlphaCurve, ...]:
        """The tuning curves of `measure` (a tuned system's); none by default."""
        return ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Params:
        """The parameters from the report's values (a dataclass subclass: its fields by name)."""
        return cls(**data)


@dataclass(frozen=True)
class StoredParams(Params):
    """The parameters of a system this build does not register, as the report stored them."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return dict(self.values)

    def shown(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.values.items() if not isinstance(v, list | dict)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Params:
        return cls(dict(data))


@dataclass(frozen=True)
class SystemResult:
    """One retrieval system: its parameters, the mean of each measure, and its per-query values."""

    id: str
    system: str
    encoder: str | None
    params: Params
    aggregate: Mapping[str, float]
    pair: PairInfo | None = None
    # measure -> query id -> value; in `per_query.jsonl` beside the report (empty when not read back).
    per_query: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def alpha_curves(self, measure: str) -> tuple[AlphaCurve, ...]:
        """The tuning curves of `measure` in the system's parameters (a hybrid's); none for another."""
        return self.params.alpha_curves(measure)


def beir_block(aggregate: Mapping[str, float]) -> dict[str, float]:
    """The measures under the names BEIR and MTEB report them (`ndcg_at_10`, `recall_at_100`, `mrr_at_10`)."""
    names = {"nDCG": "ndcg", "R": "recall", "RR": "mrr", "P": "precision", "AP": "map"}
    out = {}
    for measure, value in aggregate.items():
        base, _, cutoff = measure.partition("@")
        if base in names:
            out[f"{names[base]}_at_{cutoff}" if cutoff else names[base]] = value
    return out


@dataclass(frozen=True)
class RetrievalResult:
    """The quality half of a run: the collection and splits, every system, and their paired comparisons."""

    collection: str
    collection_fingerprint: str
    split: str
    tune_split: str | None  # where hybrid alpha was tuned (None without hybrid); `split` itself under CV
    queries: int
    measures: tuple[str, ...]
    systems: tuple[SystemResult, ...]
    comparisons: tuple[SystemComparison, ...] = ()
    timings: Mapping[str, float] = field(default_factory=dict)
    tune_folds: int = 0  # k of k-fold cross-validation over `split`'s queries; 0: a separate split
    # What tuning, the precision check and the comparison table use ([retrieval] primary_measure).
    primary_measure: str = ""

    @property
    def primary(self) -> str:
        """The primary measure (the first of `measures` when the report names none)."""
        return self.primary_measure or self.measures[0]

    @property
    def tuning(self) -> str | None:
        """How hybrid alpha was chosen, as the table says it: 'alpha tuned on dev', '5-fold CV on test'."""
        if self.tune_split is None:
            return None
        if self.tune_folds:
            return f"alpha by {self.tune_folds}-fold CV on {self.tune_split}"
        return f"alpha tuned on {self.tune_split}"

    def system(self, system_id: str) -> SystemResult | None:
        """The system with this id, or None."""
        return next((s for s in self.systems if s.id == system_id), None)


@dataclass(frozen=True)
class FrontierLatency:
    """An encoder's fastest measured cell at one batch size: its id, p50 with its CI, and p99."""

    cell: str
    p50_ns: float
    p50_ci: tuple[float, float]
    p99_ns: float | None


@dataclass(frozen=True)
class FrontierEntry:
    """One retrieving encoder on the frontier: size, latency per frontier batch, quality, Pareto flags."""

    encoder: str
    parameters: int | None
    measure: str
    latency_from: str
    # The report's key batch sizes (`Report.key_batches`), smallest first -> fastest cell (None: not measured).
    latency: Mapping[int, FrontierLatency | None]
    quality: Mapping[str, float | None]  # "dense" | "hybrid" -> the primary measure
    # Only systems with quality and a latency at the smallest batch.
    pareto: Mapping[str, bool] = field(default_factory=dict)

    @property
    def batches(self) -> tuple[int, ...]:
        """The batch sizes of `latency`, smallest first."""
        return tuple(sorted(self.latency))

    @property
    def single(self) -> FrontierLatency | None:
        """The fastest cell at the smallest batch size (one query at a time where batch 1 was measured)."""
        return self.latency[self.batches[0]] if self.latency else None

    @property
    def figures(self) -> tuple[tuple[int, bool], ...]:
        """The latency columns of a frontier table, as (batch size, p99 rather than p50): p50 and p99 at the
        smallest batch, p50 at the others."""
        if not self.batches:
            return ()
        small, *others = self.batches
        return ((small, False), (small, True), *((b, False) for b in others))


@dataclass(frozen=True)
class Artifacts:
    """The files beside a report (run files, per-query values, plots), in `dir` next to it."""

    dir: str
    files: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    """One run of a suite: the suite as resolved, the machine, and every result."""

    suite: Suite  # what was asked, overrides included
    suite_file: str
    overrides: tuple[str, ...]
    started_at: str
    # A run with --set overrides that was not asked to count (`--as-latest`): it replaces no
    # `<suite>-latest.json` and is no point of `bench history`.
    quick_look: bool = False
    status: str = "partial"  # until the run says otherwise, so an interrupted run is marked
    skip_reason: str | None = None
    finished_at: str | None = None
    environment: Mapping[str, Any] = field(default_factory=dict)
    noise_warnings: tuple[str, ...] = ()
    reference: Mapping[str, Any] | None = None
    harness: Harness | None = None
    encoders: Mapping[str, EncoderInfo] = field(default_factory=dict)
    setups: tuple[SetupResult, ...] = ()
    cells: tuple[CellResult, ...] = ()
    excluded: tuple[Exclusion, ...] = ()
    retrieval: RetrievalResult | None = None
    frontier: tuple[FrontierEntry, ...] | None = None
    artifacts: Artifacts | None = None

    @property
    def suite_name(self) -> str:
        """The name of the suite the report belongs to."""
        return self.suite.name

    @property
    def gate(self) -> GateSpec:
        """The suite's [gate] (GateSpec's defaults where the suite has none)."""
        return self.suite.gate

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        """The suite's [latency] batch sizes, ascending (none in a suite without latency)."""
        return tuple(sorted(self.suite.latency.batch_sizes)) if self.suite.latency else ()

    @property
    def key_batches(self) -> tuple[int, ...]:
        """The batch sizes that speak for a run, the frontier's and the history's: the smallest (one query
        at a time) and the largest (throughput)."""
        sizes = self.batch_sizes
        return tuple(dict.fromkeys((sizes[0], sizes[-1]))) if sizes else ()

    @property
    def latency_baseline(self) -> str | None:
        """The encoder the latency tables compare the others with ([latency] baseline)."""
        return (self.suite.latency.baseline if self.suite.latency else "") or None

    @property
    def latency_baseline_backend(self) -> str | None:
        """The backend of every baseline cell ([latency] baseline_backend), or None: each cell's own."""
        return (self.suite.latency.baseline_backend if self.suite.latency else "") or None
