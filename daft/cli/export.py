"""`python -m daft export PAIR --onnx | --sentence-transformers DIR`: a pair in another format, checked."""

from __future__ import annotations

import argparse
from pathlib import Path

from daft.core.errors import UserError
from daft.core.progress import console
from daft.store.destination import writable_file

TOLERANCE = 1e-4


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `export`."""
    parser = commands.add_parser(
        "export", help="export a pair's query encoder (ONNX) or the pair (sentence-transformers)"
    )
    parser.add_argument("pair", type=Path, help="a trained pair directory")
    parser.add_argument("--onnx", action="store_true", help="write the query (or --side) encoder as ONNX")
    parser.add_argument(
        "--sentence-transformers",
        type=Path,
        metavar="DIR",
        dest="sentence_transformers",
        help="write the pair as a sentence-transformers model (Router: query and document routes) to DIR",
    )
    parser.add_argument("--side", choices=("query", "doc"), default="query", help="which encoder (query)")
    parser.add_argument("--output", type=Path, help="ONNX file to write (default: PAIR/<side>.onnx)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export, verify against torch, print the max abs difference; fail above the tolerance."""
    if args.onnx == bool(args.sentence_transformers):
        raise UserError("choose one format: --onnx or --sentence-transformers DIR")
    if args.sentence_transformers:
        from daft.export.st_export import export_checked as export_st
        from daft.models.pair import load_pair

        output = writable_file(args.sentence_transformers, "--sentence-transformers", new_dir=True)
        diff = export_st(load_pair(args.pair), output, tolerance=TOLERANCE)
        console.print(
            f"{output}: SentenceTransformer({output}) max abs diff vs daft {diff:.2e} "
            f"(tolerance {TOLERANCE:.0e})",
            highlight=False,
        )
        return 0
    from daft.export.onnx_export import export_checked
    from daft.models.pair import load_pair_side

    output = writable_file(args.output or Path(args.pair) / f"{args.side}.onnx", "--output")
    encoder = load_pair_side(args.pair, args.side)
    diff = export_checked(encoder, output, tolerance=TOLERANCE)
    console.print(f"{output}: max abs diff vs torch {diff:.2e} (tolerance {TOLERANCE:.0e})", highlight=False)
    return 0
