"""One command contract: every `bench` subcommand is a module of `bench/cli/` with `add_parser(commands)`,
whose parser (every verb of it) calls the module's `run_from_args(args) -> int`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import bench.cli
from bench.__main__ import build_parser


def _leaves(parser: argparse.ArgumentParser, name: str) -> dict[str, argparse.ArgumentParser]:
    """Every command line's parser: the subcommand's, or each of its verbs'."""
    verbs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not verbs:
        return {name: parser}
    return {
        leaf: found
        for verb, sub in verbs[0].choices.items()
        for leaf, found in _leaves(sub, f"{name} {verb}".strip()).items()
    }


def test_every_command_is_a_module_with_add_parser_and_run_from_args() -> None:
    modules = [m.name for m in pkgutil.iter_modules(bench.cli.__path__) if m.name != "args"]
    for name in modules:
        module = importlib.import_module(f"bench.cli.{name}")
        assert callable(module.add_parser) and callable(module.run_from_args), name
    leaves = _leaves(build_parser(), "")
    assert len({leaf.split()[0] for leaf in leaves}) == len(modules)
    for leaf, parser in leaves.items():
        handler = parser.get_default("func")
        assert handler.__name__ == "run_from_args" and handler.__module__.startswith("bench.cli."), leaf
