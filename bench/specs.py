"""The suite as resolved: its tables as frozen, fully defaulted dataclasses (`bench.suite` reads and checks
the TOML into them; a report stores them, `bench.schema` writes and reads them back).

The bottom of bench's vocabulary: nothing here imports what measures, so every layer may name a suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.timing import Budget
from daft.core.config import Arch

__all__ = [
    "ARRAYS",
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
    """[retrieval]: the collection and splits, the systems, the measures, and how fusion and tests are set."""

    collection: str = "wordnet"
    split: str = "test"
    # Hybrid alpha is tuned here, never on `split` itself: "auto" (dev, else train, else cross-validation
    # over `split`'s queries), "cv" (always cross-validate), or a split name.
    tune_split: str = "auto"
    cv_folds: int = 5
    encoders: tuple[
        str, ...
    ] = ()  # default: every encoder that can retrieve (a pair, or a model on both sides)
    baseline: str = ""  # the encoder the others are compared with (default: the first that retrieves)
    systems: tuple[str, ...] = ("bm25", "dense", "hybrid", "rrf")
    measures: tuple[str, ...] = ("nDCG@10", "RR@10", "R@100", "R@1000")
    depth: int = 1000
    run_depth: int = 100  # hits per query written to the TREC run files (depth 1000 x 4k queries is ~200 MB)
    max_queries: int = 0  # 0: every query of the split
    index: str = "flat"
    query_max_length: int = 32
    doc_max_length: int = 128
    # How the document side runs when building the index (`bench.documents.precision.SETTINGS`): fp32, bf16,
    # onnx-fp32, onnx-int8, or auto (bf16 where the machine runs it natively, else fp32).
    doc_precision: str = "fp32"
    batch_size: int = 128
    bm25_k1: float = 0.9
    bm25_b: float = 0.4
    normalization: str = "min-max"
    missing: str = "min"
    alpha_grid: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    rrf_k: int = 60
    test: str = "permutation"
    significance_level: float = 0.05
    seed: int = 0
    latency_report: Path | None = None  # latency cells for the frontier when this suite measures none
    # How much of the dense first measure an index built off fp32 may lose against fp32 (it depends on the
    # collection: onnx-int8 lost 0.0011 nDCG@10 on wordnet, 0.0064 on another BEIR set); past it, a
    # warning, or with precision_loss = "fail" a failed run (exit 1, the report written).
    max_precision_loss: float | None = None
    precision_loss: str = "warn"

    def system_ids(self) -> list[str]:
        """The systems this spec evaluates, in report order."""
        ids = ["bm25"] if "bm25" in self.systems else []
        return ids + [
            f"{name}/{system}" for name in self.encoders for system in self.systems if system != "bm25"
        ]


@dataclass(frozen=True)
class GateSpec:
    """[gate]: what `bench compare` counts as a change for this suite (its command line can override)."""

    latency_threshold: float = 0.10
    noise_floor_us: float = 5.0
    quality_threshold: float = 0.005
    cell_thresholds: dict[str, float] = field(default_factory=dict)  # glob on cell id -> relative threshold


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
