"""Tests for daft.core.config, the TOML engine of suites and recipes, on a tiny made-up schema."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from daft.core.config import (
    MISSING,
    Loader,
    Schema,
    apply_override,
    check_top_level,
    is_int,
    jsonable,
    override_value,
    read_including,
    read_toml,
    show,
    suggest,
    syntax_error,
)
from daft.core.errors import UserError


@dataclass(frozen=True)
class Box:
    """[box]: the made-up table of these tests."""

    size: int = 3
    name: str | None = None
    tags: tuple[str, ...] = ("a",)
    ratio: float = 0.5
    source: str | None = None
    other: str | None = None


@dataclass(frozen=True)
class Lid:
    """[lid]: a second table, for top-level and include tests."""

    colour: str = "red"


SCHEMA = Schema(
    kind="thing",
    tables={"box": Box, "lid": Lid},
    example="box.size=4",
    groups=(frozenset({"source", "other"}),),
)
TAGS = ("a", "b", "cuda")


def _load(path: Path, overrides: Sequence[str] = (), *, include: bool = False) -> tuple[Box, Lid]:
    """The engine as a caller uses it: read, override, check, then typed reads."""
    if include:
        raw, origins, _ = read_including(path, SCHEMA)
    else:
        raw, origins = read_toml(path, SCHEMA.kind), {}
    provenance: dict[tuple[Any, ...], str] = {}
    for text in overrides:
        apply_override(path, raw, text, provenance, SCHEMA)
    loader = Loader(path, provenance, origins)
    check_top_level(loader, raw, SCHEMA)
    t = loader.table("[box]", ("box",), raw.get("box", {}), Box)
    box = Box(
        size=t.integer("size", minimum=1),
        name=t.string("name") if "name" in t else None,
        tags=t.choices("tags", TAGS, "tag"),
        ratio=t.number("ratio", positive=True),
        source=t.string("source") if "source" in t else None,
        other=t.string("other") if "other" in t else None,
    )
    if box.source and box.other:
        t.fail(("source", "other"), "expected one of source or other, got both")
    lid = loader.table("[lid]", ("lid",), raw.get("lid", {}), Lid)
    return box, Lid(lid.string("colour"))


def _write(folder: Path, text: str, name: str = "t.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path, overrides: Sequence[str] = (), *, include: bool = False) -> str:
    with pytest.raises(UserError) as caught:
        _load(path, overrides, include=include)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- reading and validation ----------------------------------------------------------------------------------


def test_defaults_and_typed_reads(tmp_path: Path) -> None:
    assert _load(_write(tmp_path, "")) == (Box(), Lid())
    box, _ = _load(_write(tmp_path, '[box]\nsize = 7\nname = "x"\ntags = ["b", "a"]\nratio = 2\n'))
    assert box == Box(size=7, name="x", tags=("b", "a"), ratio=2.0)
    assert isinstance(box.ratio, float)


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    path = _write(tmp_path, "[box]\nsise = 2\n")
    assert _error(path) == (
        f"{path}: [box] sise: unknown key 'sise'; did you mean 'size'? "
        "(known: name, other, ratio, size, source, tags)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('size = "2"', '[box] size: expected a positive integer, got "2"'),
        ("size = true", "[box] size: expected a positive integer, got true"),
        ("size = 2.5", "[box] size: expected a positive integer, got 2.5"),
        ("ratio = 0", "[box] ratio: expected a positive number, got 0"),
        ("ratio = nan", "[box] ratio: expected a positive number, got nan"),
        ('name = ""', '[box] name: expected a non-empty string, got ""'),
        ('tags = ["gpu"]', "[box] tags: unknown tag 'gpu'; did you mean 'cuda'? (known: a, b, cuda)"),
        ('tags = ["a", "a"]', '[box] tags: "a" is listed twice in ["a", "a"]'),
        ("tags = []", "[box] tags: expected a non-empty list of tag names, got []"),
        ('source = "s"\nother = "o"', "[box] source/other: expected one of source or other, got both"),
    ],
)
def test_wrong_values_name_table_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, f"[box]\n{text}\n")
    assert _error(path) == f"{path}: {expected}"


def test_top_level_entries_must_be_known_tables(tmp_path: Path) -> None:
    path = _write(tmp_path, "[bx]\nsize = 1\n")
    assert _error(path) == f"{path}: unknown table [bx]; did you mean [box]? (known: [box], [lid])"
    path = _write(tmp_path, "colour = 'blue'\n")
    assert _error(path).startswith(
        f"{path}: unknown top-level key 'colour'; did you mean to put it under [lid]?"
    )
    path = _write(tmp_path, "box = 3\n")
    assert _error(path) == f"{path}: [box]: expected a table, got 3"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"nope\.toml: file not found \(expected a thing TOML file\)$"):
        read_toml(tmp_path / "nope.toml", "thing")
    with pytest.raises(UserError, match=r": is a directory \(expected a thing TOML file\)$"):
        read_toml(tmp_path, "thing")


# --- syntax errors -------------------------------------------------------------------------------------------


def test_syntax_error_names_table_key_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "[lid]\ncolour = 'x'\n\n[box]\ntags = ['a',\nsize = 2\n")
    # The error is reported on the next line, but the key is the one whose value was being read.
    assert _error(path) == f"{path}: [box] tags: invalid TOML at line 6, column 1: Invalid value"
    path = _write(tmp_path, "[box]\nsize = 2 3\n")
    assert _error(path).startswith(f"{path}: [box] size: invalid TOML at line 2, column 10: ")
    path = _write(tmp_path, "[box]\nsize = [1")
    assert _error(path) == f"{path}: [box] invalid TOML at end of file: Unclosed array"


def test_syntax_error_from_a_message() -> None:
    text = "[box]\nsize = 1\n[lid]\ncolour = \n"
    path = Path("f.toml")
    assert syntax_error(path, text, "Invalid value (at line 4, column 10)") == (
        "f.toml: [lid] colour: invalid TOML at line 4, column 10: Invalid value"
    )
    # The key is on the error's line only when the error is past its `=`.
    assert syntax_error(path, text, "Bad key (at line 4, column 1)") == (
        "f.toml: [lid] invalid TOML at line 4, column 1: Bad key"
    )
    assert syntax_error(path, text, "no position") == "f.toml: invalid TOML: no position"


# --- overrides -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("3", int, 3),
        ("2.5", float, 2.5),
        ("1e-3", float, 0.001),
        ("true", bool, True),
        ("2024", str, "2024"),  # TOML, but a string is expected: the text as written
        ("2024", str | None, "2024"),
        ("2024", Path | None, "2024"),
        ("a b", str, "a b"),  # not TOML: a bare string
        ('"quoted"', str, "quoted"),
        ("", str, ""),
        ("[1, 2]", tuple[int, ...], [1, 2]),
        ("4", tuple[int, ...], [4]),  # one value for a list is a one-element list
        ("cuda", tuple[str, ...], ["cuda"]),
        ("1", tuple[str, ...], ["1"]),
        ("{ a = 1 }", Any, {"a": 1}),
        ("x = 1", Any, "x = 1"),
    ],
)
def test_override_value(text: str, hint: Any, expected: Any) -> None:
    assert override_value(text, hint) == expected


def test_overrides_apply_and_are_blamed(tmp_path: Path) -> None:
    path = _write(tmp_path, "[box]\nsize = 2\n")
    box, lid = _load(path, ["box.size=5", "box.tags=b", "lid.colour=dark blue", " box.name = n "])
    assert (box.size, box.tags, box.name, lid.colour) == (5, ("b",), "n", "dark blue")
    assert _error(path, ["box.size=0"]) == f"{path}: --set box.size=0: expected a positive integer, got 0"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("size=1", "expected table.key=value (e.g. box.size=4)"),
        ("box.size", "expected table.key=value (e.g. box.size=4)"),
        ("box..x=1", "expected table.key=value with a non-empty key"),
        ("bx.size=1", "unknown table 'bx'; did you mean 'box'? (known: box, lid)"),
        (
            "box.sise=1",
            "unknown key 'sise'; did you mean 'size'? (known: name, other, ratio, size, source, tags)",
        ),
        ("box.size.x=1", "size is not a table"),
    ],
)
def test_bad_overrides(tmp_path: Path, override: str, expected: str) -> None:
    path = _write(tmp_path, "[box]\nsize = 2\n")
    assert _error(path, [override]) == f"{path}: --set {override}: {expected}"


# --- include -------------------------------------------------------------------------------------------------


def test_include_merges_key_by_key_and_the_including_file_wins(tmp_path: Path) -> None:
    _write(tmp_path, '[box]\nsize = 2\nname = "base"\nsource = "s"\n[lid]\ncolour = "green"\n', "base.toml")
    sub = tmp_path / "sub"
    sub.mkdir()
    path = _write(sub, 'include = "../base.toml"\n[box]\nname = "mine"\nother = "o"\n')
    raw, origins, included = read_including(path, SCHEMA)
    assert included == tmp_path / "base.toml"
    # `other` is in a group with `source`: setting one drops the base's other.
    assert raw == {"box": {"name": "mine", "other": "o", "size": 2}, "lid": {"colour": "green"}}
    assert origins == {("box", "size"): included, ("lid",): included, ("lid", "colour"): included}
    box, lid = _load(path, include=True)
    assert (box.size, box.name, box.source, box.other, lid.colour) == (2, "mine", None, "o", "green")


def test_errors_in_included_values_name_the_included_file(tmp_path: Path) -> None:
    base = _write(tmp_path, "[box]\nsize = 0\nsise = 1\n[lid]\ncolour = 3\n", "base.toml")
    path = _write(tmp_path, 'include = "base.toml"\n[box]\nratio = 1\n')
    assert _error(path, include=True).startswith(f"{base}: [box] sise: unknown key 'sise'")
    path = _write(tmp_path, 'include = "base.toml"\n[box]\nsise = 2\n')
    assert _error(path, include=True).startswith(f"{path}: [box] sise: unknown key")
    _write(tmp_path, "[box]\nsize = 0\n[lid]\ncolour = 3\n", "base.toml")
    path = _write(tmp_path, 'include = "base.toml"\n')
    assert _error(path, include=True) == f"{base}: [box] size: expected a positive integer, got 0"
    # The including file's own values, and a --set, are blamed as usual.
    path = _write(tmp_path, 'include = "base.toml"\n[box]\nsize = -1\n')
    assert _error(path, include=True) == f"{path}: [box] size: expected a positive integer, got -1"
    assert _error(path, ["box.size=0"], include=True) == (
        f"{path}: --set box.size=0: expected a positive integer, got 0"
    )
    path = _write(tmp_path, 'include = "base.toml"\n[box]\nsize = 1\n')
    assert _error(path, include=True) == f"{base}: [lid] colour: expected a non-empty string, got 3"


def test_a_conflict_between_files_names_the_including_file(tmp_path: Path) -> None:
    _write(tmp_path, '[box]\nsource = "s"\n', "base.toml")
    both = _write(tmp_path, '[box]\nsource = "s"\nother = "o"\n', "both.toml")
    # Group replacement keeps this from happening through `include`; an override still can.
    path = _write(tmp_path, 'include = "base.toml"\n')
    assert _load(path, include=True)[0].source == "s"
    loader = Loader(path, {}, {("box", "source"): tmp_path / "base.toml"})
    with pytest.raises(UserError, match=f"^{path}: x: y$"):
        loader.fail("x", [("box", "source"), ("box", "other")], "y")
    assert "got both" in _error(both)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("include = 3", "include: expected a non-empty string (a file path), got 3"),
        ('include = ""', 'include: expected a non-empty string (a file path), got ""'),
        ('include = "nope.toml"', "include: file not found: "),
        ('include = "sub"', "include: is a directory: "),
        ('include = "t.toml"', "include: a file cannot include itself"),
    ],
)
def test_include_errors_name_the_including_file(tmp_path: Path, text: str, expected: str) -> None:
    (tmp_path / "sub").mkdir()
    path = _write(tmp_path, text + "\n")
    assert _error(path, include=True).startswith(f"{path}: {expected}")


def test_include_is_one_level_and_its_syntax_errors_name_it(tmp_path: Path) -> None:
    base = _write(tmp_path, 'include = "other.toml"\n', "base.toml")
    path = _write(tmp_path, 'include = "base.toml"\n')
    assert _error(path, include=True) == (
        f"{base}: include: an included file cannot include another (one level only)"
    )
    _write(tmp_path, "[box]\nsize = [1\n", "base.toml")
    assert _error(path, include=True) == f"{base}: [box] invalid TOML at end of file: Unclosed array"


# --- helpers -------------------------------------------------------------------------------------------------


def test_helpers() -> None:
    assert suggest("onnx", ["torch", "onnxruntime"]) == "; did you mean 'onnxruntime'?"
    assert suggest("gpu", ["cpu", "cuda"]) == "; did you mean 'cuda'?"
    assert suggest("zzz", ["cpu", "cuda"]) == ""
    assert show([1, "a", True, {"b": 2.5}, float("inf")]) == '[1, "a", true, { b = 2.5 }, inf]'
    assert show(MISSING) == "nothing"
    assert show("x" * 100) == '"' + "x" * 76 + "..."
    assert is_int(3) and not is_int(True) and not is_int(3.0)
    data = jsonable({"box": Box(tags=("a", "b")), "p": Path("/x")})
    assert json.loads(json.dumps(data)) == data == {"box": jsonable(Box(tags=("a", "b"))), "p": "/x"}
    assert jsonable(Box())["tags"] == ["a"]
