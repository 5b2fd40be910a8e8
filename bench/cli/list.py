"""`python -m bench list`: the shipped suites, the model assets, the backends and the retrieval systems."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

from rich.table import Table

from bench.backends import registry
from bench.retrieval.systems import registry as retrieval_systems
from daft.core.progress import output_console
from daft.store import assets

stdout = output_console()


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `list`."""
    parser = commands.add_parser("list", help="show suites, model assets, backends and retrieval systems")
    parser.add_argument("--suites", type=Path, default=Path("suites"), help="where to look for suites")
    parser.set_defaults(func=run_from_args)


def run_from_args(args: argparse.Namespace) -> int:
    """Print the four tables."""
    suites = Table(title=f"suites in {args.suites}/")
    suites.add_column("file")
    suites.add_column("description")
    for path in sorted(Path(args.suites).glob("*.toml")):
        try:
            description = tomllib.loads(path.read_text("utf-8")).get("suite", {}).get("description", "")
        except (OSError, tomllib.TOMLDecodeError) as err:
            description = f"[red]unreadable: {err}[/]"
        suites.add_row(str(path), description)
    models = Table(title="model assets")
    for column in ("name", "cached", "description"):
        models.add_column(column)
    for name, asset in assets.ASSETS.items():
        if asset.kind == "model":
            models.add_row(name, "yes" if assets.is_cached(name) else "no", asset.description)
    backends = Table(title="backends")
    backends.add_column("name")
    backends.add_column("what it measures")
    for name, spec in registry().items():
        backends.add_row(name, spec.description)
    systems = Table(title="retrieval systems")
    systems.add_column("name")
    systems.add_column("what it runs")
    for name, system in retrieval_systems().items():
        systems.add_row(name, system.description)
    for table in (suites, models, backends, systems):
        stdout.print(table)
    return 0
