"""bench's import graph, drawn from the code: no circle between modules, no arrow back up.

Every `import` and `from ... import` of a bench module counts, at the top of a file or inside a function
(a lazy import is still a dependency), as read by `ast`. The layers are those of docs/ARCHITECTURE.md, from
the bottom: a module may import its own group and any layer below its own, never a layer above it nor
another group of its own layer (`backends` and `retrieval` know nothing of each other).
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Bottom first; each layer is a tuple of groups, each group a tuple of module prefixes.
LAYERS: tuple[tuple[tuple[str, ...], ...], ...] = (
    (("bench.stats", "bench.values", "bench.timing"),),  # primitives
    (("bench.specs", "bench.results"),),  # the vocabulary: the suite and the results as types
    (  # building blocks
        ("bench.backends",),
        ("bench.retrieval",),
        ("bench.environment", "bench.reference", "bench.memory"),
        ("bench.speedup", "bench.rounds", "bench.timeslice"),
        ("bench.queries",),
        ("bench.pairs",),
    ),
    (("bench.documents",),),  # the document side, encoded on a backend's graphs
    (("bench.retrieval.systems",),),  # the retrieval systems: a registry of what the blocks make runs with
    (("bench.schema",),),  # the JSON report: what the blocks produce, written and read
    (("bench.suite", "bench.plan", "bench.sources"),),  # a suite read and planned
    (  # running and judging
        (
            "bench.runners",
            "bench.pipeline",
            "bench.frontier",
            "bench.compare",
            "bench.history",
            "bench.agreement",
        ),
    ),
    (("bench.report", "bench.publish"),),  # rendering
    (("bench.cli", "bench.__main__", "bench"),),  # the commands
)


def _modules() -> dict[str, Path]:
    modules = {}
    for path in (ROOT / "bench").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The bench module `name` (a module, or a name inside one) belongs to."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {_owner(alias.name, modules) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            if base.split(".")[0] == "bench":
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    found.add(full if full in modules else _owner(base, modules))
    return {name for name in found if name and name.split(".")[0] == "bench" and name != module}


def graph() -> dict[str, set[str]]:
    """Every bench module -> the bench modules it imports."""
    modules = _modules()
    return {module: _imports(module, path, modules) for module, path in modules.items()}


def _place(module: str) -> tuple[int, int]:
    """(layer, group) of a module: the longest prefix that names it."""
    matches = [
        (len(prefix), layer, group)
        for layer, groups in enumerate(LAYERS)
        for group, prefixes in enumerate(groups)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    if not matches:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS and to docs/ARCHITECTURE.md")
    _, layer, group = max(matches)
    return layer, group


def test_every_module_has_a_layer() -> None:
    for module in graph():
        _place(module)


def test_no_circle_between_modules() -> None:
    try:
        graphlib.TopologicalSorter(graph()).prepare()
    except graphlib.CycleError as err:
        pytest.fail(f"import circle: {' -> '.join(err.args[1])}")


def _wrong(imports: dict[str, set[str]]) -> list[str]:
    """The arrows of `imports` that go up a layer or across to another group of the same layer."""
    wrong = []
    for module, imported in sorted(imports.items()):
        layer, group = _place(module)
        for other in sorted(imported):
            other_layer, other_group = _place(other)
            if other_layer > layer or (other_layer == layer and other_group != group):
                wrong.append(f"{module} -> {other}")
    return wrong


def test_no_arrow_back_up() -> None:
    wrong = _wrong(graph())
    assert not wrong, "arrows up or across a layer:\n" + "\n".join(wrong)


def test_the_rule_sees_an_arrow_up_and_across() -> None:
    assert _wrong({"bench.results": {"bench.plan"}}) == ["bench.results -> bench.plan"]
    assert _wrong({"bench.backends.static": {"bench.queries"}}) == ["bench.backends.static -> bench.queries"]
    assert _wrong({"bench.plan": {"bench.results", "bench.suite"}}) == []
