"""`python -m bench baseline update SUITE`: run a suite and make its report the committed baseline."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.suite import load_suite
from daft.core.progress import console

BASELINES = Path("results/baselines")


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `baseline update`."""
    parser = commands.add_parser("baseline", help="refresh a committed baseline report")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    update = verbs.add_parser(
        "update", help="run SUITE and store its report as results/baselines/<suite>.json"
    )
    update.add_argument("suite", type=Path, help="a suite TOML file, e.g. suites/ci_smoke.toml")
    update.add_argument(
        "--set", action="append", default=[], metavar="TABLE.KEY=VALUE", help="override a value"
    )
    update.add_argument("--baselines", type=Path, default=BASELINES, help="where baselines live")
    update.set_defaults(func=run_from_args)


def run_from_args(args: argparse.Namespace) -> int:
    """Run the suite into a scratch folder, then store its report (and per-query values) as the baseline."""
    from bench import schema
    from bench.pipeline import run_suite  # torch and the runners: not for `--help` or a suite's error
    from bench.report.render import render

    suite = load_suite(args.suite, args.set)
    with tempfile.TemporaryDirectory(prefix="daft-baseline-") as scratch:
        # A baseline is deliberate, overrides or not: it is no quick look.
        report = run_suite(suite, Path(scratch), suite_file=str(args.suite), as_latest=True)
    render(report)
    target = schema.store(report, args.baselines)
    console.print(
        f"baseline {target} updated (environment {report.environment.get('cpu', {}).get('model', '?')}, "
        f"commit {report.environment.get('git', {}).get('commit', '?')})",
        highlight=False,
    )
    return 0
