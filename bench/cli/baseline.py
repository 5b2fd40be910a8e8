"""`python -m bench baseline update SUITE`: run a suite and make its report the committed baseline."""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from bench.cli import run as run_cmd
from bench.report import schema
from daft.cache import atomic_write_text
from daft.errors import UserError
from daft.progress import console

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
    update.set_defaults(func=update_baseline)


def store(report_path: Path, baselines: Path) -> Path:
    """Copy a report, and the per-query values the quality gate needs, into `baselines`; returns the copy."""
    report = schema.load(report_path)
    name = schema.suite_name(report)
    target, folder = baselines / f"{name}.json", baselines / name
    artifacts = report.get("artifacts") or {}
    if "per_query.jsonl" in artifacts.get("files", []):
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(report_path.parent / artifacts["dir"] / "per_query.jsonl", folder / "per_query.jsonl")
        # Run files and plots stay out of the repository: the gate needs only the per-query values.
        report["artifacts"] = {"dir": name, "files": ["per_query.jsonl"]}
    else:
        report.pop("artifacts", None)
    atomic_write_text(target, json.dumps(report, indent=1) + "\n")
    return target


def update_baseline(args: argparse.Namespace) -> int:
    """Run the suite into a scratch folder, then store its report as the baseline."""
    with tempfile.TemporaryDirectory(prefix="daft-baseline-") as scratch:
        run_args = argparse.Namespace(suite=args.suite, set=args.set, dry_run=False, results=Path(scratch))
        if code := run_cmd.run(run_args):
            return code
        reports = [p for p in Path(scratch).glob("*.json") if not p.name.endswith("-latest.json")]
        if len(reports) != 1:
            raise UserError(f"{args.suite}: expected one report from the run, found {len(reports)}")
        target = store(reports[0], args.baselines)
    report = schema.load(target)
    console.print(
        f"baseline {target} updated (environment {report['environment'].get('cpu', {}).get('model', '?')}, "
        f"commit {report['environment'].get('git', {}).get('commit', '?')})",
        highlight=False,
    )
    return 0
