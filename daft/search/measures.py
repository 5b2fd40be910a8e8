"""Measure names, as ir-measures reads them ("nDCG@10", "RR@10", "R@100"): the one check of a name, shared
by the evaluation and by a suite's validation (no torch here, so `bench run --dry-run` stays light)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from daft.core.errors import UserError

EXAMPLES = "nDCG@10, RR@10, R@100, AP"
# What ir-measures' parser raises on a name it does not know (it evaluates the name's parts).
_UNKNOWN = (ValueError, NameError, AttributeError, TypeError, SyntaxError)


def parse_measure(name: str) -> Any:
    """The ir-measures object for `name`; an unknown name is a UserError naming the examples."""
    import ir_measures

    try:
        return ir_measures.parse_measure(name)
    except _UNKNOWN:
        raise UserError(f"unknown measure {name!r} (ir-measures names, e.g. {EXAMPLES})") from None


def parse_measures(names: Sequence[str]) -> list[Any]:
    """`parse_measure` of each name, in order."""
    return [parse_measure(name) for name in names]
