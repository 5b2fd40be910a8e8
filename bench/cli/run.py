"""`python -m bench run SUITE`: validate, plan, measure, print tables and write the JSON report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from bench import sources
from bench.documents.precision import AUTO, REFERENCE, describe, resolve_precision
from bench.plan import plan, plan_table
from bench.report.render import WIDE_HELP
from bench.retrieval.systems import needed, registry, system_ids
from bench.retrieval.systems.vectors import VectorSettings
from bench.retrieval.tuning import describe_request
from bench.specs import Suite
from bench.suite import load_suite
from daft.core.progress import console
from daft.store.destination import writable_dir

if TYPE_CHECKING:
    from bench.results import Report

# The runners (torch and the rest) and the report writer are imported once a run starts: a suite's error and
# --dry-run answer without them.


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `run`."""
    parser = commands.add_parser("run", help="run a suite and write its report")
    parser.add_argument("suite", type=Path, help="a suite TOML file, e.g. suites/cpu_latency.toml")
    parser.add_argument(
        "--set", action="append", default=[], metavar="TABLE.KEY=VALUE", help="override a value"
    )
    parser.add_argument(
        "--as-latest",
        action="store_true",
        help="with --set: still write <suite>-latest.json and count the run in `bench history`",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan (every cell) and exit")
    parser.add_argument("--results", type=Path, default=Path("results"), help="report directory (results/)")
    parser.add_argument("--wide", action="store_true", help=WIDE_HELP)
    parser.set_defaults(func=run_from_args)


def run_from_args(args: argparse.Namespace) -> int:
    """Run one suite end to end (or print its plan), then show the report and where it went."""
    suite = load_suite(args.suite, args.set)
    if args.dry_run:
        _dry_run(suite)
        return 0
    from bench.pipeline import Interrupted, run_suite
    from bench.report.tables import overrides_line

    writable_dir(args.results, "--results")  # before the run: its report must not be lost at the end
    if suite.overrides:
        console.print(escape(overrides_line(suite.overrides, quick_look=not args.as_latest)), highlight=False)
    try:
        report = run_suite(suite, args.results, suite_file=str(args.suite), as_latest=args.as_latest)
    except Interrupted as stop:
        _show(stop.report, args.results, wide=args.wide)
        raise
    _show(report, args.results, wide=args.wide)
    vectors = suite.retrieval.setting(VectorSettings) if suite.retrieval else None
    if vectors and vectors.precision_loss == "fail" and report.retrieval:
        from bench.report.quality import precision_losses

        for line in (losses := precision_losses(report.retrieval)):
            console.print(f"error: {suite.path}: [retrieval] {line}", highlight=False)
        return 1 if losses else 0
    return 0


def _documents(setting: str) -> str:
    """How the documents will be encoded, where that is not plain fp32."""
    if setting == AUTO:
        return f", documents encoded in {describe(resolve_precision(AUTO), AUTO)} on cpu"
    if setting != REFERENCE:
        return f", documents encoded in {setting} (checked against fp32)"
    return ""


def _dry_run(suite: Suite) -> None:
    """Print the encoders (where each comes from), every latency cell and the retrieval systems, without
    measuring, fetching or training anything."""
    # Lines, not a table: paths are long, and a narrow terminal would cut or wrap them.
    for spec in suite.encoders:
        console.print(f"encoder {spec.name}: {sources.describe(spec)}", highlight=False, markup=False)
    if train := sources.pairs_to_train(suite):
        console.print(
            f"trained first: {', '.join(f'{s.name} (with {s.recipe})' for s in train)}",
            highlight=False,
            soft_wrap=True,
        )
    suite_plan = plan(suite)
    if suite_plan.cells or suite.retrieval is None:
        console.print(plan_table(suite_plan))
    if spec := suite.retrieval:
        tuned = ""
        if tuning := [name for name in needed(spec.systems) if registry()[name].tunes]:
            how = describe_request(spec.tune_split, spec.split, spec.cv_folds)
            tuned = f", {' and '.join(tuning)} tuned on {how}"
        vectors = spec.setting(VectorSettings)
        if any(registry()[name].vectors for name in needed(spec.systems)):
            tuned += _documents(vectors.doc_precision)
        console.print(
            f"retrieval on {spec.collection}:{spec.split}{tuned}; measures {' '.join(spec.measures)}; "
            f"systems: {', '.join(system_ids(spec))}",
            highlight=False,
            soft_wrap=True,
        )


def _show(report: Report, results: Path, *, wide: bool = False) -> None:
    """The report's tables, then where it was written."""
    from bench import schema
    from bench.report.render import render

    render(report, wide=wide)
    stamped, latest = schema.paths(report, results)
    also = (
        f"also {latest.name}" if latest else f"a quick look: {report.suite_name}-latest.json left as it was"
    )
    console.print(f"report: {stamped} ({also})", highlight=False)
