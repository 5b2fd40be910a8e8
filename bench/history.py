"""The history of a suite: its key cells across the saved reports in results/, with step changes flagged.

A suite's history is its stamped reports, `<suite>-<YYYYMMDDTHHMMSS>.json` (never the `-latest` copy, which
duplicates one of them), ordered by `started_at`. Its key series are:

* latency: the end-to-end p50 of every cell at batch size 1 and at the suite's largest batch size, by cell id;
* quality: every retrieval system's value on the suite's primary measure, by system id and measure.

A point is a step change when it differs from the median of the previous (up to) `WINDOW` points of its
series by more than a relative `threshold`, AND lies outside the previous point's median confidence interval
(latency). The median baseline lets one noisy run neither raise a flag on its own nor hide the next real
change, and the interval keeps the threshold from flagging what the previous run could not tell apart
anyway. A point with no interval (quality is exact on a fixed collection; old reports) must instead differ
from the previous point by more than the threshold too: otherwise a new level would stay flagged until it
filled most of the window, where an interval stops that after one run. Everything here but `collect` is
pure; `bench.report.trend` prints it and `bench.cli.history` writes the plot.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import schema
from bench.environment import differences, fingerprint_digest
from bench.results import CellResult, Report
from daft.core.errors import UserError
from daft.core.plots import png, pyplot

__all__ = [
    "DEFAULT_THRESHOLD",
    "LATENCY",
    "QUALITY",
    "WINDOW",
    "History",
    "RunInfo",
    "Series",
    "Step",
    "build_history",
    "collect",
    "history_figure",
    "history_plot",
    "key_cells",
    "latency_point",
    "report_paths",
    "start_time",
    "step_changes",
]

DEFAULT_THRESHOLD = 0.10
WINDOW = 5
LATENCY, QUALITY = "latency", "quality"

_STAMP = r"\d{8}T\d{6}"  # what `schema.write` puts in a stamped report's name


@dataclass(frozen=True)
class RunInfo:
    """One saved report in the history: where it is, when it ran, and whether its machine changed."""

    path: Path
    started_at: datetime
    status: str
    environment_digest: str | None
    environment_changes: tuple[str, ...] = ()  # differences from the previous run's fingerprint, if any

    @property
    def environment_changed(self) -> bool:
        """Whether the fingerprint digest differs from the previous run's (timings may not compare)."""
        return bool(self.environment_changes)


@dataclass(frozen=True)
class Step:
    """A step change at one point: the baseline it is compared with and the relative change from it."""

    index: int
    value: float
    baseline: float  # median of the previous (up to) WINDOW points
    relative: float  # (value - baseline) / |baseline|; +-inf when the baseline is 0

    @property
    def up(self) -> bool:
        """Whether the value went up."""
        return self.relative > 0


@dataclass(frozen=True)
class Series:
    """One key cell (latency) or system (quality) across the runs; None where a run lacks it."""

    key: str
    kind: str  # LATENCY | QUALITY
    measure: str  # "p50" | an ir-measures string such as "nDCG@10"
    values: tuple[float | None, ...]
    cis: tuple[tuple[float, float] | None, ...]
    steps: tuple[Step | None, ...]

    @property
    def higher_is_better(self) -> bool:
        """Quality is better higher, latency lower."""
        return self.kind == QUALITY

    def regressed(self, step: Step) -> bool:
        """Whether `step` goes the bad way (slower, or lower quality)."""
        return step.up != self.higher_is_better


@dataclass(frozen=True)
class History:
    """A suite's runs, oldest first, and its key series aligned with them."""

    suite: str
    runs: tuple[RunInfo, ...]
    series: tuple[Series, ...]
    threshold: float = DEFAULT_THRESHOLD


# --- reading ------------------------------------------------------------------------------------------------


def report_paths(results_dir: Path, suite: str) -> list[Path]:
    """The stamped reports of `suite` in `results_dir` (not `<suite>-latest.json`), by name."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return []
    # The exact pattern, not a glob: suite "cpu" must not pick up "cpu-big-20261127T120000.json".
    pattern = re.compile(rf"{re.escape(suite)}-{_STAMP}\.json")
    return sorted(p for p in results_dir.iterdir() if pattern.fullmatch(p.name) and p.is_file())


def start_time(report: Report) -> datetime:
    """When the report's run started, as an aware datetime (the order of a history)."""
    started = datetime.fromisoformat(str(report.started_at))
    # Reports write UTC with an offset; a hand-made one without must still sort against them.
    return started if started.tzinfo else started.replace(tzinfo=UTC)


def collect(results_dir: Path, suite: str) -> tuple[list[tuple[Path, Report]], list[str]]:
    """The readable reports of `suite`, oldest first, and one warning line per file left out."""
    reports, warnings = [], []
    for path in report_paths(results_dir, suite):
        try:
            report = schema.load(path)
            started = start_time(report)
        except UserError as err:  # unreadable, not a report, another schema version
            warnings.append(f"{err}; left out")
            continue
        except (TypeError, ValueError):
            warnings.append(f"{path}: no valid started_at; left out")
            continue
        if report.quick_look:  # a renamed one: its file name would have kept it out
            warnings.append(f"{path}: a quick look (--set overrides without --as-latest); left out")
            continue
        if report.suite_name != suite:
            warnings.append(f"{path}: a report of suite {report.suite_name!r}, not {suite!r}; left out")
            continue
        reports.append((started, path.name, path, report))
    reports.sort(key=lambda item: (item[0], item[1]))
    return [(path, report) for _, _, path, report in reports], warnings


# --- the series ---------------------------------------------------------------------------------------------


def key_cells(report: Report) -> list[str]:
    """Ids of the report's latency cells at its key batch sizes (`Report.key_batches`: the suite's smallest
    and largest), in order."""
    keep = set(report.key_batches)
    return [result.id for result in report.cells if result.cell.batch_size in keep]


def latency_point(result: CellResult) -> tuple[float | None, tuple[float, float] | None]:
    """End-to-end p50 and its median CI; the median when p50 is withheld (too few samples: same value)."""
    stats = result.end_to_end
    value = stats.median if stats.p50 is None else stats.p50
    if value is not None and math.isnan(value):
        value = None
    ci = stats.median_ci
    return value, (float(ci[0]), float(ci[1])) if ci and None not in ci else None


def _quality_points(report: Report) -> dict[tuple[str, str], float]:
    """(system id, measure) -> value on the primary measure of the report's retrieval results."""
    if report.retrieval is None:
        return {}
    primary = report.retrieval.primary if report.retrieval.measures else None
    points = {}
    for system in report.retrieval.systems:
        measure = primary or next(iter(system.aggregate), None)
        if measure and system.aggregate.get(measure) is not None:
            points[system.id, measure] = float(system.aggregate[measure])
    return points


def _relative(value: float, baseline: float) -> float:
    if baseline == 0:
        return 0.0 if value == 0 else math.copysign(math.inf, value)
    return (value - baseline) / abs(baseline)


def step_changes(
    values: Sequence[float | None],
    cis: Sequence[tuple[float, float] | None] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    window: int = WINDOW,
) -> list[Step | None]:
    """Per point, the step change it makes (see the module docstring), or None; missing points are skipped."""
    if threshold < 0:
        raise UserError(f"threshold must be >= 0, got {threshold!r}")
    if window < 1:
        raise UserError(f"window must be >= 1, got {window!r}")
    cis = list(cis) if cis is not None else [None] * len(values)
    steps: list[Step | None] = []
    seen: list[int] = []  # indexes of the points present so far
    for i, value in enumerate(values):
        step = None
        if value is not None and seen:
            baseline = statistics.median(values[j] for j in seen[-window:])  # type: ignore[misc]
            relative = _relative(value, baseline)
            previous, ci = values[seen[-1]], cis[seen[-1]]
            if ci is None:
                outside = abs(_relative(value, previous)) > threshold  # type: ignore[arg-type]
            else:
                outside = not ci[0] <= value <= ci[1]
            if abs(relative) > threshold and outside:
                step = Step(i, float(value), float(baseline), relative)
        steps.append(step)
        if value is not None:
            seen.append(i)
    return steps


def _run_info(path: Path, report: Report, previous: Report | None) -> RunInfo:
    environment = report.environment
    digest = fingerprint_digest(environment) if environment else None
    changes: tuple[str, ...] = ()
    old = previous.environment if previous else {}
    if digest and old and fingerprint_digest(old) != digest:
        # The digest fields sort first in `differences`; they are the ones that make timings incomparable.
        changes = tuple(differences(old, environment)[:3]) or ("environment digest changed",)
    return RunInfo(path, start_time(report), report.status, digest, changes)


def build_history(
    suite: str, reports: Sequence[tuple[Path, Report]], threshold: float = DEFAULT_THRESHOLD
) -> History:
    """The key series of `reports` (oldest first), with their step changes."""
    runs = []
    previous = None
    for path, report in reports:
        runs.append(_run_info(path, report, previous))
        if report.environment:
            previous = report
    # Newest report first: its cells lead the table, and cells that are gone sink to the end.
    latency_keys: dict[str, None] = {}
    quality_keys: dict[tuple[str, str], None] = {}
    for _, report in reversed(reports):
        latency_keys.update(dict.fromkeys(key_cells(report)))
        quality_keys.update(dict.fromkeys(_quality_points(report)))
    series = []
    by_id = [{result.id: result for result in report.cells} for _, report in reports]
    for key in latency_keys:
        points = [latency_point(cells[key]) if key in cells else (None, None) for cells in by_id]
        values, cis = [p[0] for p in points], [p[1] for p in points]
        steps = step_changes(values, cis, threshold)
        series.append(Series(key, LATENCY, "p50", tuple(values), tuple(cis), tuple(steps)))
    quality = [_quality_points(report) for _, report in reports]
    for system, measure in quality_keys:
        values = [points.get((system, measure)) for points in quality]
        steps = step_changes(values, None, threshold)
        series.append(Series(system, QUALITY, measure, tuple(values), (None,) * len(values), tuple(steps)))
    return History(suite, tuple(runs), tuple(series), threshold)


# --- the plot -----------------------------------------------------------------------------------------------


_LINESTYLES = ("-", "--", ":", "-.")
_MARKERS = (".", "x", "+", "s")
_LEGEND_ROWS = 22  # entries per legend column at 6 pt, beside a 4.5-inch-high axis


def _style(i: int) -> dict[str, str]:
    """The i-th series' look: ten colours, then line styles, then markers, so 30+ lines stay apart."""
    colour, rest = i % 10, i // 10
    return {
        "color": f"C{colour}",
        "linestyle": _LINESTYLES[rest % len(_LINESTYLES)],
        "marker": _MARKERS[rest // len(_LINESTYLES) % len(_MARKERS)],
    }


def history_plot(history: History) -> bytes:
    """PNG: one line per key series against the run (dated ticks); latency on a log axis, quality below."""
    return png(history_figure(history))


def history_figure(history: History) -> Any:
    """The figure of `history_plot`: every series its own colour and line style, the legend beside the axes
    (in as many columns as it needs) so that it never covers the lines."""
    from matplotlib.ticker import LogFormatter

    plt = pyplot()

    kinds = [k for k in (LATENCY, QUALITY) if any(s.kind == k for s in history.series)] or [LATENCY]
    most = max((sum(s.kind == k for s in history.series) for k in kinds), default=0)
    columns = max(1, math.ceil(most / _LEGEND_ROWS))
    figsize = (10 + 2.6 * columns, 4.5 * len(kinds))
    figure, axes = plt.subplots(len(kinds), 1, figsize=figsize, squeeze=False, sharex=True)
    x = list(range(len(history.runs)))
    for axis, kind in zip(axes[:, 0], kinds, strict=True):
        scale = 1e6 if kind == LATENCY else 1.0  # ns -> ms
        for i, series in enumerate(s for s in history.series if s.kind == kind):
            # NaN leaves a gap where a run lacks the series, instead of joining across it.
            y = [math.nan if v is None else v / scale for v in series.values]
            label = series.key if kind == LATENCY else f"{series.key} {series.measure}"
            (line,) = axis.plot(x, y, label=label, linewidth=1.2, markersize=4, **_style(i))
            for step in (s for s in series.steps if s is not None):
                axis.plot(
                    step.index,
                    step.value / scale,
                    marker="^" if step.up else "v",
                    markersize=9,
                    color="tab:red" if series.regressed(step) else "tab:green",
                    markeredgecolor=line.get_color(),
                )
        if kind == LATENCY:
            axis.set_yscale("log")
            # Plain numbers, and minor ticks labelled over a narrow range (a few percent between runs), where
            # the default labels read "1.3 x 10^0" or nothing at all.
            axis.yaxis.set_major_formatter(LogFormatter())
            axis.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))
            axis.set_ylabel("p50 end to end (ms, log)")
        else:
            axis.set_ylabel("retrieval quality (primary measure)")
        axis.grid(True, which="both", alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(
                fontsize=6, ncol=columns, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0
            )
    axes[0, 0].set_title(f"{history.suite}: key cells over {len(history.runs)} saved reports")
    bottom = axes[-1, 0]
    every = max(1, math.ceil(len(x) / 20))  # at most ~20 dated ticks
    bottom.set_xticks(x[::every])
    # The run number, as in the table: several runs can share a date.
    labels = [f"#{i + 1} {r.started_at:%Y-%m-%d}" for i, r in enumerate(history.runs)]
    bottom.set_xticklabels(labels[::every], rotation=45, ha="right")
    bottom.set_xlabel("run (date started)")
    figure.tight_layout()
    return figure
