"""`python -m bench run SUITE`: validate, plan, measure, print tables and write the JSON report."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.backends import unavailable
from bench.frontier import frontier_section
from bench.pairs import ensure_pairs
from bench.plan import plan as make_plan
from bench.plan import plan_table
from bench.report import schema
from bench.runners.latency import environment_section, run_latency
from bench.runners.retrieval import run_retrieval, system_ids
from bench.suite import load_suite
from daft.progress import console, progress


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `run`."""
    parser = commands.add_parser("run", help="run a suite and write its report")
    parser.add_argument("suite", type=Path, help="a suite TOML file, e.g. suites/cpu_latency.toml")
    parser.add_argument(
        "--set", action="append", default=[], metavar="TABLE.KEY=VALUE", help="override a value"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan (every cell) and exit")
    parser.add_argument("--results", type=Path, default=Path("results"), help="report directory (results/)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run one suite end to end."""
    suite = load_suite(args.suite, args.set)
    plan = make_plan(suite)
    if args.dry_run:
        if plan.cells or suite.retrieval is None:
            console.print(plan_table(plan))
        if spec := suite.retrieval:
            tuned = f", hybrid alpha tuned on {spec.tune_split}" if "hybrid" in spec.systems else ""
            console.print(
                f"retrieval on {spec.collection}:{spec.split}{tuned}; measures {' '.join(spec.measures)}; "
                f"systems: {', '.join(system_ids(spec))}",
                highlight=False,
                soft_wrap=True,
            )
        return 0
    report = schema.new_report(suite.to_dict(), str(args.suite), list(suite.overrides))
    report["excluded"] = [{"cell": cell.to_dict(), "reason": reason} for cell, reason in plan.excluded]
    # What this machine cannot run (no GPU, a CPU-only onnxruntime) is excluded with its reason, not faked.
    reasons = {(c.backend, c.device): unavailable(c.backend, c.device) for c in plan.cells}
    report["excluded"] += [
        {"cell": c.to_dict(), "reason": reason}
        for c in plan.cells
        if (reason := reasons[c.backend, c.device])
    ]
    measured = plan.only(lambda cell: reasons[cell.backend, cell.device] is None)
    if plan.cells and not measured.cells and suite.retrieval is None:
        skip_reason = "; ".join(dict.fromkeys(r for r in reasons.values() if r))
        return _finish(report, args.results, status="skipped", skip_reason=skip_reason)
    ensure_pairs(suite)
    artifacts: dict[str, str | bytes] = {}
    steps = len(measured.cells) + (len(suite.retrieval.encoders) + 1 if suite.retrieval else 0)
    with progress() as bar, tempfile.TemporaryDirectory(prefix="daft-bench-") as workdir:
        task = bar.add_task(f"{suite.name}: environment", total=steps)
        try:
            environment_section(report, suite)

            def advance(step: str) -> None:
                bar.update(task, advance=1, description=f"{suite.name}: {step}")

            if measured.cells:
                bar.update(task, description=f"{suite.name}: preparing {measured.cells[0].encoder}")
                run_latency(suite, measured, report, workdir=Path(workdir), advance=advance)
            if suite.retrieval is not None:
                bar.update(task, description=f"{suite.name}: retrieval on {suite.retrieval.collection}")
                artifacts |= run_retrieval(suite, report, advance=advance)
                given = suite.retrieval.latency_report
                artifacts |= frontier_section(report, schema.load(given) if given else None)
        except KeyboardInterrupt:
            bar.stop()
            _finish(report, args.results, status="partial", artifacts=artifacts)
            raise
    return _finish(report, args.results, status="complete", artifacts=artifacts)


def _finish(
    report: dict,
    results: Path,
    *,
    status: str,
    skip_reason: str | None = None,
    artifacts: dict[str, str | bytes] | None = None,
) -> int:
    from bench.cli.report import render

    report["status"] = status
    report["skip_reason"] = skip_reason
    report["finished_at"] = schema.now()
    stamped, latest = schema.write(report, results, artifacts)
    render(report)
    console.print(f"report: {stamped} (also {latest.name})", highlight=False)
    return 0
