"""`python -m daft data build|info`: build the embedded collections and describe any collection."""

from __future__ import annotations

import argparse
import json
import time

from rich.table import Table

from daft import collections
from daft.core.progress import console, output_console


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `data` and its subcommands."""
    from daft.cli.runner import subcommands

    parser = commands.add_parser("data", help="build and describe test collections")
    sub = subcommands(parser)
    build = sub.add_parser("build", help="build a collection into the cache (no-op when cached and intact)")
    build.add_argument("name", help=f"a built-in collection ({', '.join(collections.names())})")
    build.set_defaults(func=build_collection)
    info = sub.add_parser("info", help="documents, queries and judged pairs per split, fingerprint")
    info.add_argument(
        "name", help="a built-in name, a BEIR folder or an MS MARCO/TREC folder (optionally :split)"
    )
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info.set_defaults(func=show_info)


def build_collection(args: argparse.Namespace) -> int:
    """Build (or verify) one collection and print its counts."""
    start = time.perf_counter()
    collections.load(args.name)
    console.print(f"{args.name}: ready in {time.perf_counter() - start:.1f} s", highlight=False)
    return show_info(argparse.Namespace(name=args.name, json=False))


def show_info(args: argparse.Namespace) -> int:
    """Print the counts of a collection."""
    info = collections.info(args.name)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    table = Table(
        title=f"{info['name']}: {info['documents']:,} documents, fingerprint {info['fingerprint'][:16]}"
    )
    for column in ("split", "queries", "judged pairs"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for split, counts in info["splits"].items():
        table.add_row(split, f"{counts['queries']:,}", f"{counts['judged_pairs']:,}")
    stdout = output_console()
    stdout.print(table)
    stdout.print(f"{'cached at' if info['cached'] else 'read from'} {info['path']}", highlight=False)
    return 0
