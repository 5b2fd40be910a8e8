"""The suite as resolved: its tables as frozen, fully defaulted dataclasses (`bench.suite` reads and checks
the TOML into them; a report stores them, `bench.schema` writes and reads them back).

The bottom of bench's vocabulary: nothing here imports what measures, so every layer may name a suite.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from bench.timing import Budget
from daft.core.config import Arch, jsonable

S = TypeVar("S")

__all__ = [
    "ARRAYS",
    "MAX_BATCH",
    "TABLES",
    "EncoderSpec",
    "GateSpec",
    "LatencySpec",
    "MeasureSpec",
    "QueriesSpec",
    "RetrievalSpec",
    "Suite",
    "SuiteInfo",
]

# A batch is built in memory at once (texts, ids, activations): far past any measured size (1024 on a GPU),
# a typo such as 10**9 would end in a MemoryError after the run began.
MAX_BATCH = 65_536


@dataclass(frozen=True)
class SuiteInfo:
    """[suite]: what the suite is called and what it is for."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class QueriesSpec:
    """[queries]: the texts to encode (a `collection:split` source or a file) and the length policy."""

    source: str | None = None
    file: Path | None = None
    limit: int = 512
    max_length: int = 32
    padding: str = "longest"

    @property
    def collection(self) -> str | None:
        """The collection part of `source` (a built-in name or an absolute path), or None for a file."""
        return None if self.source is None else self.source.rpartition(":")[0]

    @property
    def split(self) -> str | None:
        """The split part of `source`, or None for a file."""
        return None if self.source is None else self.source.rpartition(":")[2]


@dataclass(frozen=True)
class EncoderSpec:
    """One [[encoders]] entry: exactly one of `model`, `arch` (with `tokenizer`) or `pair` is set."""

    name: str
    type: str = "transformer"
    model: str | None = None
    arch: Arch | None = None
    tokenizer: str | None = None
    pair: Path | None = None
    pooling: str = "mean"
    dim: int | None = None
    recipe: Path | None = None  # with `pair`: trains the pair with this recipe when the directory is missing


@dataclass(frozen=True)
class LatencySpec:
    """[latency]: the sweep; `plan` expands it into cells."""

    backends: tuple[str, ...] = ("torch",)
    devices: tuple[str, ...] = ("cpu",)
    dtypes: tuple[str, ...] = ("fp32",)
    batch_sizes: tuple[int, ...] = (1, 32)
    threads: tuple[int, ...] = (0,)
    baseline: str = ""
    # The backend of the baseline encoder's cells that speed-ups divide ("" = each cell's own backend).
    baseline_backend: str = ""


@dataclass(frozen=True)
class RetrievalSpec:
    """[retrieval]: the collection and splits, the systems, the measures and the tests; each system's own
    keys (BM25's k1 and b, the index, fusion settings) are declared by the system (`bench.retrieval.systems`)
    and parsed into `settings`, while the TOML table and the report's suite keep them flat."""

    collection: str = "wordnet"
    split: str = "test"
    # Where systems that tune (hybrid alpha) are tuned, never on `split` itself: "auto" (dev, else train,
    # else cross-validation over `split`'s queries), "cv" (always cross-validate), or a split name.
    tune_split: str = "auto"
    cv_folds: int = 5
    encoders: tuple[
        str, ...
    ] = ()  # default: every encoder that can retrieve (a pair, or a model on both sides)
    baseline: str = ""  # the encoder the others are compared with (default: the first that retrieves)
    # More (encoder, reference encoder) pairs to test, each system of the one against the same system of the
    # other, beside every system against BM25 and every encoder against `baseline` (all Holm-corrected).
    comparisons: tuple[tuple[str, str], ...] = ()
    systems: tuple[str, ...] = ()  # default: every registered system
    measures: tuple[str, ...] = ("nDCG@10", "RR@10", "R@100", "R@1000")
    # What tuning, the precision check and the comparison table use; "" resolves to the first of `measures`.
    primary_measure: str = ""
    depth: int = 1000
    run_depth: int = 100  # hits per query written to the TREC run files (depth 1000 x 4k queries is ~200 MB)
    max_queries: int = 0  # 0: every query of the split
    test: str = "permutation"
    significance_level: float = 0.05
    seed: int = 0
    latency_report: Path | None = None  # latency cells for the frontier when this suite measures none
    settings: Mapping[str, Any] = field(default_factory=dict)  # system name -> its parsed settings

    def setting(self, cls: type[S]) -> S:
        """The systems' settings of type `cls` (`load_suite` parses every registered system's)."""
        found = next((s for s in self.settings.values() if isinstance(s, cls)), None)
        if found is None:
            raise KeyError(f"[retrieval] has no {cls.__name__}: a RetrievalSpec not made by load_suite")
        return found

    def flat(self) -> dict[str, Any]:
        """JSON-ready and flat as the TOML table: the systems' settings beside the shared keys."""
        out = {f.name: jsonable(getattr(self, f.name)) for f in fields(self) if f.name != "settings"}
        for settings in self.settings.values():
            out |= jsonable(settings)
        return out


@dataclass(frozen=True)
class GateSpec:
    """[gate]: what `bench compare` counts as a change for this suite; the one type of the gate's thresholds,
    the command line's overrides applied to it (`bench.compare.override`)."""

    latency_threshold: float = 0.10
    noise_floor_us: float = 5.0
    quality_threshold: float = 0.005
    cell_thresholds: dict[str, float] = field(default_factory=dict)  # glob on cell id -> relative threshold
    quality_thresholds: dict[str, float] = field(default_factory=dict)  # measure -> its quality threshold

    def for_cell(self, cell_id: str) -> float:
        """The relative threshold of one cell: the first matching glob of `cell_thresholds`, else
        `latency_threshold`."""
        matching = (t for glob, t in self.cell_thresholds.items() if fnmatch.fnmatchcase(cell_id, glob))
        return next(matching, self.latency_threshold)

    def for_measure(self, measure: str) -> float:
        """The quality threshold of one measure: its own (`quality_thresholds`), else `quality_threshold`."""
        return self.quality_thresholds.get(measure, self.quality_threshold)

    def exceeded(self, cell_id: str, ratio: float, delta_ns: float) -> tuple[bool, bool]:
        """Whether a change by `ratio` (candidate / baseline p50) and `delta_ns` is beyond the cell's relative
        threshold, and beyond the noise floor: a verdict other than "no change" needs both (the medians tell
        it, so a reader of many runs can skip the bootstrap where neither holds)."""
        return abs(ratio - 1.0) > self.for_cell(cell_id), abs(delta_ns) > 1e3 * self.noise_floor_us


@dataclass(frozen=True)
class MeasureSpec(Budget):
    """[measure]: the time and sample budget of each cell (a `timing.Budget`: its fields, defaults and
    order, so the TOML keys and the report stay flat), warm-up and warning thresholds."""

    cv_warn: float = 0.10
    parity_tol: float = 1e-3
    seed: int = 0  # the bootstrap's and the rounds' shuffle
    # Interleaved rounds (`bench.rounds`): each cell collects 1/rounds of its budget in each round, every
    # round visiting every cell once in a shuffled order; 1 measures each cell in one go.
    rounds: int = 5
    # Adaptive rounds: from `min_rounds` on, a cell stops once its speed-up's interval (or, for a cell
    # without one, its median's) is at most `target_width` of the value; `rounds` is then the ceiling.
    # 0 = every cell takes all `rounds`.
    min_rounds: int = 0
    target_width: float = 0.1


# Top-level table -> (Suite attribute, dataclass of one entry). Known keys, override typing and the report's
# suite (`bench.schema`) derive from this; adding a table (e.g. [retrieval]) = a dataclass, an entry here, a parser in `bench.suite._build`.
TABLES: dict[str, tuple[str, type]] = {
    "suite": ("info", SuiteInfo),
    "queries": ("queries", QueriesSpec),
    "encoders": ("encoders", EncoderSpec),
    "latency": ("latency", LatencySpec),
    "measure": ("measure", MeasureSpec),
    "retrieval": ("retrieval", RetrievalSpec),
    "gate": ("gate", GateSpec),
}
ARRAYS = frozenset({"encoders"})


@dataclass(frozen=True)
class Suite:
    """A validated, fully defaulted suite; paths in it are absolute."""

    path: Path
    info: SuiteInfo
    queries: QueriesSpec | None  # None when the suite measures no latency
    encoders: tuple[EncoderSpec, ...]
    latency: LatencySpec | None  # None: no latency cells (a suite with [retrieval] and no [latency])
    measure: MeasureSpec
    retrieval: RetrievalSpec | None = None
    gate: GateSpec = GateSpec()
    overrides: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The suite's name ([suite] name, by default the file stem)."""
        return self.info.name

    @property
    def description(self) -> str:
        """The suite's description ([suite] description)."""
        return self.info.description

    def encoder(self, name: str) -> EncoderSpec:
        """The encoder called `name` (KeyError if there is none)."""
        for spec in self.encoders:
            if spec.name == name:
                return spec
        raise KeyError(name)
