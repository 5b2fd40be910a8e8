"""Comparing two reports: which latency cells and quality measures changed, and which changes count.

A latency cell is matched by its identity (encoder, backend, device, dtype, batch size, threads) and compared
on its end-to-end p50: the ratio of medians candidate / baseline with a two-sample bootstrap interval from
the raw samples (`bench.stats.ratio_ci`) and the Mann-Whitney U test on the same samples. It is a
**regression** only when all three hold: it is significant (the interval excludes 1 and the Mann-Whitney
p-value is below the level), the change exceeds the relative threshold, and the absolute change exceeds the
noise floor; an **improvement** likewise the other
way; anything else is **no change**. p90/p99 ratios are reported where both runs have them.

Latency is judged only between reports from the same machine (`environment.machine_differences`: CPU
vendor, model and instruction set, torch's kernel level, GPU models). From two machines it is shown and not
judged (neither its regressions nor its missing cells fail the gate), and quality is judged as usual: a
reference workload cannot undo kernels, tokenisers and caches that scale differently from it. When the same
machine's environments differ otherwise (fingerprint digests: cores, governor, library versions), each
sample is divided by its own report's reference workload, so the ratio is in machine-normalised units; the
output says so.

A quality measure is matched by (system, measure) and tested with the paired randomisation test on the
per-query values both runs wrote (`SystemResult.per_query`, read from beside each report): a significant drop beyond the
quality threshold is a regression. Without per-query values a drop beyond the threshold counts as one
(marked untested): a gate should not pass what it cannot check. For the same reason a cell or measure
the baseline has and the candidate lacks fails the gate (of its kind), and a candidate that is not a complete
run (partial, skipped) is refused, unless the caller allows judging only what it has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench import environment
from bench.results import CellKey, CellResult, Report
from bench.retrieval.significance import permutation_test
from bench.specs import GateSpec
from bench.stats import mann_whitney, ratio_ci
from daft.core.config import jsonable
from daft.core.errors import UserError

VERDICTS = ("regression", "improvement", "no change")
KINDS = ("latency", "quality")


LEVEL = 0.05  # the significance level of the latency and quality tests
_DEFAULTS = GateSpec()  # the one source of the defaults: a suite without [gate], and `bench compare --help`
_GIVEN = ("latency_threshold", "noise_floor_us", "quality_threshold")  # what the command line may override


def override(
    gate: GateSpec, *, cells: Mapping[str, float] | None = None, **given: float | None
) -> tuple[GateSpec, dict[str, str]]:
    """The baseline suite's [gate] with the explicitly given values (None = not given; keys of `_GIVEN`),
    the given `cells` globs tried before the suite's, and where each value came from ("default", "[gate]",
    "command line"): a verdict says what it used."""
    values = {k: v for k, v in given.items() if v is not None}
    sources = {k: "[gate]" if getattr(gate, k) != getattr(_DEFAULTS, k) else "default" for k in _GIVEN}
    sources |= dict.fromkeys(values, "command line")
    cells = dict(cells or {})
    sources |= {f"cell {glob}": "command line" for glob in cells}
    sources |= {f"cell {glob}": "[gate]" for glob in gate.cell_thresholds if glob not in cells}
    sources |= {f"measure {m}": "[gate]" for m in gate.quality_thresholds}
    merged = cells | {k: v for k, v in gate.cell_thresholds.items() if k not in cells}
    return replace(gate, **values, cell_thresholds=merged), sources


def describe(gate: GateSpec, sources: Mapping[str, str]) -> str:
    """One line: every threshold in force and where it came from."""
    src = sources
    parts = [
        f"latency {gate.latency_threshold:.0%} ({src.get('latency_threshold', 'default')})",
        f"noise floor {gate.noise_floor_us:g} µs ({src.get('noise_floor_us', 'default')})",
        f"quality {gate.quality_threshold:g} ({src.get('quality_threshold', 'default')})",
    ]
    parts += [f"cells {g} {t:.0%} ({src.get(f'cell {g}', 'given')})" for g, t in gate.cell_thresholds.items()]
    parts += [
        f"quality {m} {t:g} ({src.get(f'measure {m}', 'given')})" for m, t in gate.quality_thresholds.items()
    ]
    return "thresholds: " + ", ".join(parts)


@dataclass(frozen=True)
class LatencyChange:
    """One matched latency cell: p50 ratio with its interval, the verdict and why."""

    cell: str
    baseline_ns: float
    candidate_ns: float
    ratio: float
    low: float
    high: float
    p_value: float
    threshold: float
    verdict: str
    reason: str
    tails: dict[str, float]  # p90/p99 ratio where both runs have the percentile


@dataclass(frozen=True)
class QualityChange:
    """One matched (system, measure): the change of its mean, the paired test, the verdict and why."""

    system: str
    measure: str
    baseline: float
    candidate: float
    delta: float
    p_value: float | None
    queries: int
    verdict: str
    reason: str


@dataclass
class Comparison:
    """Everything `bench compare` found, and the exit code it implies."""

    latency: list[LatencyChange]
    quality: list[QualityChange]
    environment_differences: list[str]
    normalised: bool
    only_baseline: list[str]  # latency cells the candidate lacks
    only_candidate: list[str]
    gate: GateSpec  # the thresholds in force
    missing_quality: list[str] = field(default_factory=list)  # "system measure" the candidate lacks
    missing_allowed: bool = False  # --allow-partial: judge what the candidate has, list what it lacks
    machine_differences: list[str] = field(default_factory=list)  # two machines: latency is not judged
    sources: Mapping[str, str] = field(default_factory=dict)  # where each threshold came from (`override`)

    @property
    def latency_judged(self) -> bool:
        """Whether latency can fail the gate: both reports come from the same machine."""
        return not self.machine_differences

    def judged(self, kinds: Sequence[str] = KINDS) -> tuple[str, ...]:
        """The kinds of `kinds` that this comparison can judge."""
        return tuple(k for k in kinds if k != "latency" or self.latency_judged)

    def regressions(self, kinds: Sequence[str] = KINDS) -> list[LatencyChange | QualityChange]:
        """The regressions of the given kinds (latency's only where it is judged)."""
        kinds = self.judged(kinds)
        found: list[LatencyChange | QualityChange] = []
        if "latency" in kinds:
            found += [c for c in self.latency if c.verdict == "regression"]
        if "quality" in kinds:
            found += [c for c in self.quality if c.verdict == "regression"]
        return found

    def missing(self, kinds: Sequence[str] = KINDS) -> list[str]:
        """What the baseline judged and the candidate lacks, of the given kinds: it fails the gate as a
        regression does (unless allowed), since an interrupted run must not pass by measuring less."""
        kinds = self.judged(kinds)
        return (self.only_baseline if "latency" in kinds else []) + (
            self.missing_quality if "quality" in kinds else []
        )

    def failures(self, kinds: Sequence[str] = KINDS) -> int:
        """How many things fail the gate: regressions, and missing cells and measures unless allowed."""
        return len(self.regressions(kinds)) + (0 if self.missing_allowed else len(self.missing(kinds)))

    def exit_code(self, fail_on: Sequence[str] = KINDS) -> int:
        """1 when a regression (or a missing cell) of a kind in `fail_on` was found, else 0."""
        return 1 if self.failures(fail_on) else 0

    def to_dict(self, fail_on: Sequence[str] = KINDS) -> dict[str, Any]:
        """The JSON verdict."""
        return {
            "verdict": "fail" if self.exit_code(fail_on) else "pass",
            "fail_on": list(fail_on),
            "regressions": len(self.regressions(fail_on)),
            "missing_counted": not self.missing_allowed,
            "normalised": self.normalised,
            "latency_judged": self.latency_judged,
            "machine_differences": self.machine_differences,
            "environment_differences": self.environment_differences,
            "thresholds": asdict(self.gate) | {"level": LEVEL, "sources": dict(self.sources)},
            "latency": [asdict(c) for c in self.latency],
            "quality": [asdict(c) for c in self.quality],
            "only_baseline": self.only_baseline,
            "only_candidate": self.only_candidate,
            "missing_quality": self.missing_quality,
        }


def _cells(report: Report) -> dict[CellKey, CellResult]:
    """The report's cells by identity (`Cell.key`), the parameter tuple that matches them across reports."""
    return {c.cell.key: c for c in report.cells}


def _judgeable(cell: CellResult) -> bool:
    return bool(cell.samples.get("end_to_end"))


def _verdict(significant: bool, big: bool, worse: bool) -> str:
    if significant and big:
        return "regression" if worse else "improvement"
    return "no change"


def compare_cell(
    cell_id: str,
    base: CellResult,
    cand: CellResult,
    gate: GateSpec,
    scale: tuple[float, float] = (1.0, 1.0),
) -> LatencyChange:
    """The p50 change of one cell; `scale` divides each run's samples (reference-workload normalisation)."""
    a = np.asarray(base.samples["end_to_end"], dtype=float) / scale[0]
    b = np.asarray(cand.samples["end_to_end"], dtype=float) / scale[1]
    ci = ratio_ci(a, b)
    p = mann_whitney(a, b)
    base_ns, cand_ns = float(np.median(a)) * scale[0], float(np.median(b)) * scale[0]  # baseline's units
    threshold = gate.for_cell(cell_id)
    # Both tests must agree: with the few samples of a slow cell (10 at batch 256) the percentile bootstrap of
    # a median is coarse and can exclude 1 on noise that the rank test rightly calls insignificant.
    significant = (ci.low > 1.0 or ci.high < 1.0) and p < LEVEL
    relative, absolute = gate.exceeded(cell_id, ci.ratio, cand_ns - base_ns)
    verdict = _verdict(significant, relative and absolute, ci.ratio > 1.0)
    if verdict != "no change":
        reason = f"{ci.ratio - 1:+.1%}, 95% CI excludes 1, beyond {threshold:.0%} and the noise floor"
    elif not significant:
        reason = "not significant (95% CI of the ratio includes 1, or Mann-Whitney p >= the level)"
    elif not relative:
        reason = f"significant but within {threshold:.0%}"
    else:
        reason = f"significant but under the {gate.noise_floor_us:g} µs noise floor"
    tails = {}
    for stat in ("p90", "p99"):
        x, y = getattr(base.end_to_end, stat), getattr(cand.end_to_end, stat)
        if x and y:
            tails[stat] = (y / scale[1]) / (x / scale[0])
    return LatencyChange(
        cell_id, base_ns, cand_ns, ci.ratio, ci.low, ci.high, p, threshold, verdict, reason, tails
    )


def missing_quality(base: Report, cand: Report) -> list[str]:
    """The baseline's (system, measure) pairs that the candidate lacks, as "system measure"."""
    if base.retrieval is None:
        return []
    found = []
    for system in base.retrieval.systems:
        other = cand.retrieval.system(system.id) if cand.retrieval else None
        found += [f"{system.id} {m}" for m in system.aggregate if other is None or m not in other.aggregate]
    return found


def compare_quality(base: Report, cand: Report, gate: GateSpec) -> list[QualityChange]:
    """Every (system, measure) in both reports' retrieval results, tested on their per-query values."""
    if not base.retrieval or not cand.retrieval:
        return []
    changes = []
    for system in base.retrieval.systems:
        other = cand.retrieval.system(system.id)
        if other is None:
            continue
        for measure, value in system.aggregate.items():
            if measure not in other.aggregate:
                continue  # listed by `missing_quality`
            new = other.aggregate[measure]
            delta = new - value
            a, b = system.per_query.get(measure), other.per_query.get(measure)
            qids = sorted(set(a) & set(b)) if a and b else []
            p = None
            if len(qids) >= 2:
                x, y = [a[q] for q in qids], [b[q] for q in qids]
                p = 1.0 if x == y else permutation_test(y, x)
            threshold = gate.for_measure(measure)
            big = abs(delta) > threshold
            if p is None:
                verdict = "regression" if big and delta < 0 else "no change"
                reason = "untested (no per-query values in both runs)" + (
                    ", drop beyond the threshold" if big else ""
                )
            else:
                verdict = _verdict(p < LEVEL, big, delta < 0)
                reason = f"paired randomisation p={p:.3g} over {len(qids)} queries, threshold {threshold:g}"
            changes.append(
                QualityChange(system.id, measure, value, new, delta, p, len(qids), verdict, reason)
            )
    return changes


def check_complete(report: Report, role: str, path: Path) -> None:
    """A UserError unless `report` is a complete run: the gate judges what a whole run measured."""
    if report.status == "complete":
        return
    why = {
        "partial": f"an interrupted run; measured cells: {len(report.cells)}",
        "skipped": f"nothing measured: {report.skip_reason or 'no reason given'}",
    }.get(report.status, "not a finished run")
    raise UserError(
        f"{path}: the {role} report is {report.status} ({why}); the gate judges complete runs "
        "(--allow-partial judges what it has)"
    )


# Suite settings that make two runs measure different things, so that matched cells and measures would
# compare unlike with unlike. Not among them: what is matched by name (encoders, systems, measures, the
# sweep's lists, each missing one listed), the budget ([measure]) and what only the report shows.
_WORKLOAD_TABLES = ("queries", "encoders", "retrieval")
_NOT_WORKLOAD = frozenset(
    {"encoders", "systems", "measures", "baseline", "run_depth", "batch_size", "latency_report"}
    | {"significance_level", "test", "comparisons", "max_precision_loss", "precision_loss"}
    # What the request resolved to is compared instead: "auto" that tuned on dev is a run tuned on dev.
    | {"tune_split", "cv_folds"}
)


def _flat(table: Any, prefix: str) -> dict[str, Any]:
    """A suite table as dotted keys; encoders by name."""
    if isinstance(table, list):  # [[encoders]]
        return {f"{prefix}.{e.get('name')}.{k}": v for e in table for k, v in e.items() if k != "name"}
    return {f"{prefix}.{k}": v for k, v in (table or {}).items() if k not in _NOT_WORKLOAD}


def _table(report: Report, table: str) -> Any:
    """A suite table as JSON, [retrieval] flat as its TOML table (each system's settings among its keys)."""
    value = getattr(report.suite, table)
    return value.flat() if table == "retrieval" and value is not None else jsonable(value)


def workload_differences(base: Report, cand: Report) -> list[str]:
    """How the two runs' workloads differ ("queries.max_length: 32 -> 64"): keys both suites have, of the
    queries, the encoders both name and the retrieval settings, the collection's content, and how hybrid
    alpha was tuned (as resolved: a requested "auto" that tuned on dev is the same as "dev")."""
    found = []
    for table in _WORKLOAD_TABLES:
        a, b = (_flat(_table(report, table), table) for report in (base, cand))
        found += [f"{key}: {a[key]!r} -> {b[key]!r}" for key in a if key in b and a[key] != b[key]]
    if base.retrieval and cand.retrieval:
        prints = base.retrieval.collection_fingerprint, cand.retrieval.collection_fingerprint
        if prints[0] != prints[1]:
            found.append(f"collection content: {prints[0][:12]} -> {prints[1][:12]}")
        tunings = base.retrieval.tuning, cand.retrieval.tuning
        if tunings[0] != tunings[1]:
            found.append(f"hybrid tuning: {tunings[0]} -> {tunings[1]}")
    return found


def compare(
    base: Report,
    cand: Report,
    gate: GateSpec,
    *,
    sources: Mapping[str, str] | None = None,
    allow_missing: bool = False,
) -> Comparison:
    """Compare a candidate report with a baseline report (per-query values read with them, for the quality
    tests: `schema.load(path, per_query=True)`) under the thresholds of `gate` (`sources`: where each came
    from, by default a suite's [gate] or the defaults); no overlapping cell at all is a UserError. What the candidate lacks fails the gate unless
    `allow_missing`."""
    mine, theirs = _cells(base), _cells(cand)
    common = [key for key in mine if key in theirs and _judgeable(mine[key]) and _judgeable(theirs[key])]
    # A cell in both that cannot be judged (no samples on a side) is missing, never silently dropped.
    unjudged = [f"{mine[key].id} (no samples)" for key in mine if key in theirs and key not in common]
    digests = [environment.fingerprint_digest(r.environment) for r in (base, cand)]
    normalised = digests[0] != digests[1] and bool(common)
    scale = (1.0, 1.0)
    if normalised:
        refs = [(r.reference or {}).get("median_ns") for r in (base, cand)]
        if not all(refs):
            raise UserError("the environments differ and a report has no reference workload to normalise by")
        scale = (float(refs[0]), float(refs[1]))
    latency = [compare_cell(mine[key].id, mine[key], theirs[key], gate, scale) for key in common]
    quality = compare_quality(base, cand, gate)
    if not latency and not quality:
        raise UserError("the reports have no latency cell or quality measure in common; nothing to compare")
    order = {v: i for i, v in enumerate(VERDICTS)}
    latency.sort(key=lambda c: (order[c.verdict], -abs(c.ratio - 1)))
    quality.sort(key=lambda c: (order[c.verdict], c.delta))
    return Comparison(
        latency,
        quality,
        environment.differences(base.environment, cand.environment),
        normalised,
        sorted(mine[key].id for key in mine.keys() - theirs.keys()) + unjudged,
        sorted(theirs[key].id for key in theirs.keys() - mine.keys()),
        gate,
        missing_quality(base, cand),
        allow_missing,
        environment.machine_differences(base.environment, cand.environment),
        dict(override(gate)[1] if sources is None else sources),
    )
