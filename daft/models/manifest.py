"""A saved pair's layout without its encoders: the `pair.json` manifest and the `query/` and `doc/` folders.

It sits below both `daft.models.build` (which builds one side of a pair from a spec) and `daft.models.pair`
(which loads both), so the builder never imports the pair module to find a side.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from daft.core.errors import UserError

MANIFEST = "pair.json"
SIDES = ("query", "doc")


def read_manifest(directory: Path) -> dict[str, Any]:
    """The pair manifest, or a UserError naming the directory."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise UserError(f"{directory}: not an encoder pair (no {MANIFEST})")
    return read_json_object(path)


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file that must hold an object (a manifest, an encoder's config); one-line UserErrors."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except ValueError as err:
        raise UserError(f"{path}: invalid JSON ({err})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def side_directory(directory: Path, side: str = "query") -> Path:
    """The encoder directory of one side (`query` or `doc`) of the saved pair at `directory`."""
    if side not in SIDES:
        raise UserError(f"unknown pair side {side!r}; known: {', '.join(SIDES)}")
    read_manifest(directory)
    return Path(directory) / side
