"""`python -m daft gpu-pack DIR` here, `python -m daft gpu-run DIR OUT` on a lent GPU machine (daft/gpu/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from daft.core.progress import console


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `gpu-pack` and `gpu-run`."""
    from daft.gpu.grid import GRIDS

    pack = commands.add_parser(
        "gpu-pack", help="write what the GPU grid needs on a machine without network into one folder"
    )
    pack.add_argument("directory", type=Path, nargs="?", default=Path(".gpu"), help="the pack (default .gpu)")
    pack.add_argument(
        "--grid", choices=sorted(GRIDS), default="full", help="full (the device) or smoke (a CPU)"
    )
    pack.add_argument("--python", default="3.12", help="the Python of the machine that runs it (its wheels)")
    pack.add_argument("--limit-mib", type=float, default=64.0, help="refuse a pack + working tree above this")
    pack.set_defaults(func=run_pack)

    run = commands.add_parser("gpu-run", help="train the grid of a GPU pack and write what comes back")
    run.add_argument("pack", type=Path, help="the folder gpu-pack wrote")
    run.add_argument("out", type=Path, help="where the results go (the device's $OUT)")
    run.add_argument(
        "--budget-s", type=float, default=540.0, help="stop every training after this (default 540)"
    )
    run.add_argument("--workers", type=int, default=4, help="pairs trained at the same time (default 4)")
    run.add_argument(
        "--work", type=Path, help="an empty folder for the cache and pairs (default: a new temp)"
    )
    run.set_defaults(func=run_grid)


def run_pack(args: argparse.Namespace) -> int:
    """Pack and say what to carry."""
    from daft.gpu.pack import pack

    pack(args.directory, args.grid, root=Path.cwd(), python=args.python, limit=int(args.limit_mib * 2**20))
    console.print(
        f"carry {args.directory} and run: python3 -m daft gpu-run {args.directory} $OUT", highlight=False
    )
    return 0


def run_grid(args: argparse.Namespace) -> int:
    """Run the grid; a pair that did not finish is a UserError (exit 2) after the results are written."""
    from daft.core.errors import UserError
    from daft.gpu.run import run_grid as run

    if args.workers < 1 or args.budget_s <= 0:
        raise UserError("gpu-run: --workers must be at least 1 and --budget-s positive")
    run(args.pack, args.out, root=Path.cwd(), budget_s=args.budget_s, workers=args.workers, work=args.work)
    return 0
