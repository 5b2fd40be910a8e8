"""`python -m daft assets list|fetch|verify`: the pinned models and data, and their cache."""

from __future__ import annotations

import argparse
import json
import time

from rich.table import Table

from daft.cli.runner import subcommands
from daft.core.errors import UserError
from daft.core.progress import console, output_console
from daft.store import assets


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `assets` and its subcommands."""
    parser = commands.add_parser("assets", help="list, fetch and verify the pinned models and data")
    sub = subcommands(parser)
    listing = sub.add_parser("list", help="show every asset, its source artifact and whether it is cached")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(func=list_assets)
    fetch = sub.add_parser(
        "fetch",
        help="fetch, verify and build assets into the cache; re-hash cached ones, rebuild any corrupt",
    )
    fetch.add_argument("names", nargs="*", metavar="NAME", help="asset names (default: all)")
    fetch.set_defaults(func=fetch_assets)
    verify = sub.add_parser("verify", help="re-hash cached assets and report any that are corrupt")
    verify.add_argument("names", nargs="*", metavar="NAME", help="asset names (default: all in the cache)")
    verify.add_argument("--repair", action="store_true", help="rebuild the corrupt ones (fetches again)")
    verify.set_defaults(func=verify_assets)


def _mb(size: object) -> str:
    return f"{int(size) / 1e6:,.1f} MB" if isinstance(size, int) else "-"


def list_assets(args: argparse.Namespace) -> int:
    """Print the registry with cache state."""
    rows = [assets.status(name) for name in assets.ASSETS]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title=f"assets (cache: {assets.asset_dir('x').parent})")
    for column in ("name", "kind", "source artifact", "cached", "size", "description"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for row in rows:
        size = _mb(row["size"]) if row["cached"] else f"{_mb(row['download_size'])} to fetch"
        cached = "[green]yes[/]" if row["cached"] else "no"
        table.add_row(row["name"], row["kind"], row["source"], cached, size, row["description"])
    output_console().print(table)
    return 0


def fetch_assets(args: argparse.Namespace) -> int:
    """Make the named assets ready in the cache: cached ones are re-hashed, corrupt ones rebuilt."""
    names = args.names or list(assets.ASSETS)
    for name in names:
        assets.get(name)  # fail on a typo before any download starts
    for name in names:
        _make_ready(name)
    return 0


def _make_ready(name: str) -> None:
    """Verify by content, then fetch or rebuild when needed; one line saying which happened."""
    start = time.perf_counter()
    problem = assets.verify(name)
    path = assets.ensure(name)
    took = time.perf_counter() - start
    if problem is None:
        state = "cached, verified"
    elif problem == "missing":
        state = f"fetched in {took:.1f} s"
    else:
        state = f"was corrupt ({problem}), rebuilt in {took:.1f} s"
    console.print(f"{name}: {state}, {_mb(assets.status(name)['size'])} in {path}", highlight=False)


def verify_assets(args: argparse.Namespace) -> int:
    """Deep-verify cached assets; a corrupt one is an error (exit 2) naming it, or rebuilt with --repair."""
    names = args.names or [name for name in assets.ASSETS if assets.asset_dir(name).exists()]
    bad = []
    for name in names:
        problem = assets.verify(name)
        console.print(
            f"{name}: {'[green]ok[/]' if problem is None else f'[red]{problem}[/]'}", highlight=False
        )
        if problem is None:
            continue
        if args.repair:
            _make_ready(name)
        else:
            bad.append(name)
    if bad:
        raise UserError(
            f"corrupt cached asset(s): {', '.join(bad)}; rebuild with `python -m daft assets fetch {' '.join(bad)}`"
        )
    return 0
