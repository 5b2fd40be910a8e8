"""`python -m daft info PAIR`: a pair's manifest as a table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from daft.core.progress import output_console
from daft.training.curves import CURVES_FILE


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `info`."""
    parser = commands.add_parser("info", help="show a pair's manifest (pair.json)")
    parser.add_argument("pair", type=Path, help="a trained pair directory")
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    parser.set_defaults(func=run)


def _rows(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [
            row for key, inner in value.items() for row in _rows(f"{prefix}.{key}" if prefix else key, inner)
        ]
    if isinstance(value, float):
        return [(prefix, f"{value:.4g}")]
    return [(prefix, json.dumps(value) if isinstance(value, list) else str(value))]


def run(args: argparse.Namespace) -> int:
    """Print the manifest, flattened to dotted keys."""
    from daft.models.pair import read_manifest

    manifest = read_manifest(args.pair)
    if args.json:
        print(json.dumps(manifest, indent=2))
        return 0
    table = Table(title=f"{args.pair} ({manifest.get('method', '?')})")
    table.add_column("key")
    table.add_column("value", overflow="fold")
    for key, value in _rows("", {k: v for k, v in manifest.items() if k != "recipe"}):
        table.add_row(key, value)
    curves = Path(args.pair) / CURVES_FILE
    table.add_row(
        "curves", str(curves) if curves.is_file() else f"none yet: python -m daft curves {args.pair}"
    )
    output_console().print(table)
    return 0
