"""`python -m daft train RECIPE.toml`: train an encoder pair as its recipe says (any method of `daft.training.stages`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from daft.core.progress import console


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `train`."""
    parser = commands.add_parser("train", help="train an encoder pair from a recipe TOML")
    parser.add_argument("recipe", type=Path, help="a recipe, e.g. recipes/daft-l0-minilm.toml")
    parser.add_argument(
        "--set", action="append", default=[], metavar="TABLE.KEY=VALUE", help="override a value"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue an interrupted run from its last checkpoint"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace whatever is in the output directory"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate the recipe, train, and say where the pair is."""
    from daft.training.recipe import load_recipe

    recipe = load_recipe(args.recipe, args.set)
    from daft.training.train import train  # torch, faiss, transformers: after the recipe is known to be good

    output = train(recipe, resume=args.resume, overwrite=args.overwrite)
    console.print(f"pair written to {output} (inspect: python -m daft info {output})", highlight=False)
    return 0
