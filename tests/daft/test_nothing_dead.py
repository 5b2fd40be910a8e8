"""Nothing daft defines for others lies unused: every public function, class and method is named again
somewhere in daft's or bench's code. Tests do not count: code kept alive only by its own tests is dead.

A name is looked for as a word, so a common one (`run`, `load`) always passes: this catches the distinct
names that outlive their last caller. A method that overrides a library's hook (torch's `extra_repr`) is
called by that library.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _public(tree: ast.Module) -> list[tuple[str | None, str]]:
    """(class or None, name) of every public top-level function and class, and of the classes' methods."""
    found: list[tuple[str | None, str]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
            found.append((None, node.name))
        if isinstance(node, ast.ClassDef):
            methods = (m for m in node.body if isinstance(m, ast.FunctionDef) and not m.name.startswith("_"))
            found += [(node.name, m.name) for m in methods]
    return found


def _overrides(module: str, owner: str, name: str) -> bool:
    """Whether `owner.name` in `module` overrides a base class's method (the base calls it)."""
    cls = getattr(importlib.import_module(module), owner)
    return any(name in vars(base) for base in cls.__mro__[1:])


def test_every_public_name_of_daft_is_used() -> None:
    sources = {
        path: path.read_text("utf-8")
        for folder in ("daft", "bench")
        for path in (ROOT / folder).rglob("*.py")
    }
    words = Counter(word for text in sources.values() for word in re.findall(r"\w+", text))
    unused = [
        f"{path.relative_to(ROOT)}: {f'{owner}.' if owner else ''}{name}"
        for path, text in sources.items()
        if path.is_relative_to(ROOT / "daft")
        for owner, name in _public(ast.parse(text))
        if words[name] < 2
        and not (owner and _overrides(".".join(path.relative_to(ROOT).with_suffix("").parts), owner, name))
    ]
    assert unused == []
