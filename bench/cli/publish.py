"""`python -m bench publish [RESULTS_DIR...] --out SITE_DIR`: the saved reports as a static site."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from bench.publish import publish
from daft.core.progress import console, output_console

stdout = output_console()


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `publish`."""
    parser = commands.add_parser(
        "publish", help="write the saved reports as a static site (opens from the file system)"
    )
    parser.add_argument(
        "results",
        nargs="*",
        type=Path,
        default=[Path("results")],
        metavar="RESULTS_DIR",
        help="folders searched for reports, recursively (default: results)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="the site's folder (new, empty, or a site written before)"
    )
    parser.set_defaults(func=run_from_args)


def run_from_args(args: argparse.Namespace) -> int:
    """Publish, then say what was written and what was left out."""
    published = publish(args.results, args.out)
    inputs = published.inputs
    for line in inputs.warnings:
        console.print(f"[yellow]warning:[/] {escape(line)}", soft_wrap=True, highlight=False)
    largest = max(published.pages, key=published.pages.__getitem__)
    stdout.print(
        f"{len(published.pages)} pages of {len(inputs.suites)} suites from {len(inputs.copied)} reports "
        f"({inputs.not_reports} other JSON files skipped) in {published.out}; the largest page is "
        f"{largest} ({published.pages[largest] / 1e6:.2f} MB); open {published.out / 'index.html'}",
        highlight=False,
        soft_wrap=True,
    )
    return 0
