"""`python -m daft export PAIR --onnx`: the query encoder as ONNX, checked numerically against torch."""

from __future__ import annotations

import argparse
from pathlib import Path

from daft.errors import UserError
from daft.progress import console

TOLERANCE = 1e-4


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `export`."""
    parser = commands.add_parser("export", help="export a pair's query encoder (ONNX)")
    parser.add_argument("pair", type=Path, help="a trained pair directory")
    parser.add_argument("--onnx", action="store_true", help="write ONNX (the only format so far)")
    parser.add_argument("--side", choices=("query", "doc"), default="query", help="which encoder (query)")
    parser.add_argument("--output", type=Path, help="file to write (default: PAIR/<side>.onnx)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export, verify against torch, print the max abs difference; fail above the tolerance."""
    from daft.onnx_export import export_checked
    from daft.pair import load_pair_side

    if not args.onnx:
        raise UserError("choose a format: --onnx")
    encoder = load_pair_side(args.pair, args.side)
    output = args.output or Path(args.pair) / f"{args.side}.onnx"
    diff = export_checked(encoder, output, tolerance=TOLERANCE)
    console.print(f"{output}: max abs diff vs torch {diff:.2e} (tolerance {TOLERANCE:.0e})", highlight=False)
    return 0
