"""daft/'s import graph, drawn from the code: no module circle, no circle between its folders, no bench.

Every import counts, those inside functions too: a deferred import still closes a circle when it runs, and
hides the layering from whoever reads the module's head.
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "daft"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(tree: ast.AST, modules: set[str]) -> Iterator[str]:
    """Every module `tree` imports: `from M import n` is M.n where that is a module (a package's own
    submodule does not import the package back), else M."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"a relative import of {node.module}: daft imports absolutely"
            for alias in node.names:
                inner = f"{node.module}.{alias.name}"
                yield inner if inner in modules else node.module


def _imports() -> dict[str, set[str]]:
    """daft module -> every module it imports (daft's or not)."""
    paths = {_module(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    return {
        module: set(_imported(ast.parse(path.read_text("utf-8"), str(path)), set(paths)))
        for module, path in paths.items()
    }


def _graph() -> dict[str, set[str]]:
    """daft module -> the daft modules it imports."""
    imports = _imports()
    return {module: names & imports.keys() for module, names in imports.items()}


def _folder(module: str) -> str:
    """The folder a module lies in (`daft` for the package's own top-level files)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (PACKAGE / parts[-1]).is_dir() else "daft"


def _circle(graph: dict[str, set[str]]) -> list[str]:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as err:
        return err.args[1]
    return []


def test_the_graph_is_drawn_from_the_code() -> None:
    graph = _graph()
    assert {"daft.core.errors", "daft.models.st_models"} <= graph["daft.models.build"]
    assert "daft.models.encoders" in graph["daft.models.st_models"]


def test_no_daft_module_imports_itself_back() -> None:
    assert _circle(_graph()) == []


def test_daft_folders_form_layers() -> None:
    folders: dict[str, set[str]] = {}
    for module, imported in _graph().items():
        folders.setdefault(_folder(module), set()).update(_folder(m) for m in imported)
    assert _circle({folder: inner - {folder} for folder, inner in folders.items()}) == []


@pytest.mark.parametrize(
    ("graph", "circle"),
    [
        ({"a": {"b"}, "b": {"a"}}, {"a", "b"}),
        ({"a": {"b"}, "b": {"c"}, "c": set()}, set()),
    ],
)
def test_a_circle_is_found(graph: dict[str, set[str]], circle: set[str]) -> None:
    assert set(_circle(graph)) == circle


def test_daft_never_imports_bench() -> None:
    bench = {
        module: sorted(n for n in names if n.split(".")[0] == "bench") for module, names in _imports().items()
    }
    assert {module: names for module, names in bench.items() if names} == {}
