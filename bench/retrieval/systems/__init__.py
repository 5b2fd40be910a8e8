"""Retrieval systems: each a `System` (what it needs, its settings, how it makes a run) in a module of its own.

This registry is the one place that lists the modules: adding a system or a fusion means one module that
declares `SYSTEMS` and one line in `_MODULES`. Suite validation reads the names and settings, the runner
what each system needs and how it produces its run, and a report reads a system's parameters back through
it. No module here imports torch or FAISS at import time (suite validation and `--dry-run` stay light).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from bench.retrieval.systems.base import Context, Produced, Split, System, timed
from daft.core.errors import UserError

if TYPE_CHECKING:
    from bench.specs import RetrievalSpec

# The registration lines (module paths), in the order `bench list` and the suite's default list show them.
_MODULES = (
    "bench.retrieval.systems.bm25",
    "bench.retrieval.systems.dense",
    "bench.retrieval.systems.hybrid",
    "bench.retrieval.systems.rrf",
)

__all__ = [
    "Context",
    "Produced",
    "Split",
    "System",
    "default_settings",
    "needed",
    "per_encoder",
    "registry",
    "system",
    "system_ids",
    "timed",
]


@functools.cache
def registry() -> dict[str, System]:
    """Every registered system by name, in registration order; a name or [retrieval] key declared twice,
    or a fused system not registered, is a bug of a system module."""
    declared = [spec for module in _MODULES for spec in importlib.import_module(module).SYSTEMS]
    keys = [key for spec in declared for key in _keys(spec)]
    for kind, listed in (("system", [spec.name for spec in declared]), ("[retrieval] key", keys)):
        if twice := sorted({x for x in listed if listed.count(x) > 1}):
            raise RuntimeError(f"{kind} declared twice: {', '.join(twice)}")
    found = {spec.name: spec for spec in declared}
    if unknown := sorted({name for spec in declared for name in spec.fuses} - found.keys()):
        raise RuntimeError(f"fused but not registered: {', '.join(unknown)}")
    return found


def _keys(spec: System) -> tuple[str, ...]:
    return tuple(f.name for f in fields(spec.settings)) if spec.settings else ()


def system(name: str) -> System:
    """The system called `name`; a UserError naming the known ones otherwise."""
    if name not in registry():
        raise UserError(f"unknown retrieval system {name!r}; known: {', '.join(registry())}")
    return registry()[name]


def per_encoder(name: str) -> bool:
    """Whether system `name` runs once per retrieving encoder (it or a system it fuses needs vectors)."""
    spec = system(name)
    return spec.vectors or any(per_encoder(other) for other in spec.fuses)


def needed(listed: Iterable[str]) -> list[str]:
    """The systems `listed` and every system they fuse, in registration order."""
    found: set[str] = set()

    def visit(name: str) -> None:
        if name not in found:
            found.add(name)
            for other in system(name).fuses:
                visit(other)

    for name in listed:
        visit(name)
    return [name for name in registry() if name in found]


def system_ids(spec: RetrievalSpec) -> list[str]:
    """The systems `spec` evaluates, in report order: those run once, then each encoder's."""
    ids = [name for name in spec.systems if not per_encoder(name)]
    return ids + [f"{enc}/{name}" for enc in spec.encoders for name in spec.systems if per_encoder(name)]


def default_settings() -> dict[str, Any]:
    """Every registered system's settings at their defaults, by system name."""
    return {name: spec.settings() for name, spec in registry().items() if spec.settings is not None}
