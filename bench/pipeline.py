"""A suite run as a function: plan, measure latency, measure quality, join the frontier, write the report.

`run_suite` is what `bench run` and `bench baseline update` call; it returns the `Report` it wrote (where:
`schema.paths`), so a caller needs no command line and never searches a folder for what was just written.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from bench import schema, sources
from bench.backends import unavailable
from bench.environment import environment_section
from bench.frontier import frontier_plots, measured_frontier
from bench.pairs import ensure_pairs
from bench.plan import Plan, plan
from bench.results import CellResult, EncoderInfo, Exclusion, Report, SetupResult
from bench.runners.latency import run_latency
from bench.runners.retrieval import run_retrieval
from bench.specs import Suite
from daft.core.progress import progress
from daft.store import cache

__all__ = ["Interrupted", "run_suite"]

WORKDIR = "daft-bench"  # the run's scratch folder in the temp dir (models saved for a backend, ...)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run, after the finished part was written as a `partial` report (`report`)."""

    def __init__(self, report: Report) -> None:
        super().__init__("interrupted")
        self.report = report


def _exclusions(suite_plan: Plan) -> tuple[tuple[Exclusion, ...], Plan, dict[tuple[str, str], str | None]]:
    """The plan's exclusions plus what this machine cannot run, the plan it can, and the reasons."""
    excluded = [Exclusion(cell, reason) for cell, reason in suite_plan.excluded]
    # What this machine cannot run (no GPU, a CPU-only onnxruntime) is excluded with its reason, not faked.
    reasons = {(c.backend, c.device): unavailable(c.backend, c.device) for c in suite_plan.cells}
    excluded += [Exclusion(c, reason) for c in suite_plan.cells if (reason := reasons[c.backend, c.device])]
    measured = suite_plan.only(lambda cell: reasons[cell.backend, cell.device] is None)
    return tuple(excluded), measured, reasons


def _finish(
    report: Report,
    results_dir: Path,
    status: str,
    files: dict[str, schema.FileContent],
    skip_reason: str | None = None,
) -> Report:
    report = replace(report, status=status, skip_reason=skip_reason, finished_at=schema.now())
    return schema.write(report, results_dir, files)


def run_suite(
    suite: Suite, results_dir: Path, *, suite_file: str | None = None, as_latest: bool = False
) -> Report:
    """Run every part of `suite` and write its report into `results_dir`; returns the report as written.

    A suite with overrides is a quick look (`Report.quick_look`) unless `as_latest`: it is written beside
    the others but neither replaces `<suite>-latest.json` nor counts in `bench history`.

    A suite whose every cell this machine cannot run (and no [retrieval]) writes a `skipped` report. On
    Ctrl-C the finished part is written marked `partial` and `Interrupted` (a KeyboardInterrupt) carries it.
    """
    # The work folder names its process, so one that a killed run (kill -9) left is removed by the next.
    cache.sweep(Path(tempfile.gettempdir()), patterns=(f".{WORKDIR}.pid*",))
    suite_plan = plan(suite)
    excluded, measured, reasons = _exclusions(suite_plan)
    report = replace(
        schema.new_report(suite, suite_file or str(suite.path), suite.overrides),
        excluded=excluded,
        quick_look=bool(suite.overrides) and not as_latest,
    )
    files: dict[str, schema.FileContent] = {}
    if suite_plan.cells and not measured.cells and suite.retrieval is None:
        skip_reason = "; ".join(dict.fromkeys(r for r in reasons.values() if r))
        return _finish(report, results_dir, "skipped", files, skip_reason)
    sources.check(suite)  # a missing model fails now, not after the encoders before it were measured
    ensure_pairs(suite)
    encoders: dict[str, EncoderInfo] = {}
    setups: list[SetupResult] = []
    cells: list[CellResult] = []
    refused: list[Exclusion] = []  # cells a backend refuses for an encoder known only once built

    def with_latency(report: Report) -> Report:
        return replace(
            report,
            encoders=dict(encoders),
            setups=tuple(setups),
            cells=tuple(cells),
            excluded=(*excluded, *refused),
        )

    steps = len(measured.cells) + (len(suite.retrieval.encoders) + 1 if suite.retrieval else 0)
    workspace = tempfile.TemporaryDirectory(prefix=cache.staging_prefix(WORKDIR))
    with progress() as bar, workspace as workdir:
        task = bar.add_task(f"{suite.name}: environment", total=steps)

        def advance(step: str) -> None:
            bar.update(task, advance=1, description=f"{suite.name}: {step}")

        def describe(step: str) -> None:
            bar.update(task, description=f"{suite.name}: {step}")

        try:
            report = replace(report, **environment_section(suite.encoders))
            if measured.cells:
                bar.update(task, description=f"{suite.name}: preparing {measured.cells[0].encoder}")
                for result in run_latency(suite, measured, workdir=Path(workdir), on_visit=describe):
                    if isinstance(result, EncoderInfo):
                        encoders[result.name] = result
                    elif isinstance(result, SetupResult):
                        setups.append(result)
                    elif isinstance(result, Exclusion):
                        refused.append(result)
                        advance(result.cell.id)
                    else:
                        cells.append(result)
                        advance(result.id)
            report = with_latency(report)
            if suite.retrieval is not None:
                bar.update(task, description=f"{suite.name}: retrieval on {suite.retrieval.collection}")
                retrieval, run_files = run_retrieval(suite, advance=advance)
                files |= run_files
                report = replace(report, retrieval=retrieval)
                given = suite.retrieval.latency_report
                entries = measured_frontier(report, schema.load(given) if given else None)
                if entries is not None:
                    files |= frontier_plots(entries, report.cells)
                    report = replace(report, frontier=entries)
        except Exception:
            # Else the bar's last state (often "0% 0/8") would be printed above the error, frozen.
            bar.update(task, visible=False)
            raise
        except KeyboardInterrupt:
            bar.stop()
            report = with_latency(report)
            raise Interrupted(_finish(report, results_dir, "partial", files)) from None
    return _finish(report, results_dir, "complete", files)
