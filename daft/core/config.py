"""The TOML config engine behind bench suites and training recipes: read, include, override, validate.

A config file is a set of top-level tables, each described by a frozen dataclass whose fields are the
known keys and whose defaults are the defaults (a `Schema`). This module turns a file into raw data and
checks it; every problem is one `UserError` line naming the file, the table and the key, or the
`--set table.key=value` override that caused it:

    raw, origins = read_including(path, schema)          # or read_toml(path, schema.kind)
    provenance = {}
    for text in overrides:
        apply_override(path, raw, text, provenance, schema)
    loader = Loader(path, provenance, origins)
    check_top_level(loader, raw, schema)
    t = loader.table("[train]", ("train",), raw.get("train", {}), TrainSpec)
    batch_size = t.integer("batch_size", minimum=1)

What the values mean (cross-field rules, references to resolve) is the caller's business.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import MISSING as FIELD_MISSING
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from types import UnionType
from typing import Any, NoReturn, get_args, get_origin, get_type_hints

from daft.core.errors import UserError

__all__ = [
    "ALIASES",
    "Arch",
    "MISSING",
    "NAME",
    "Loader",
    "Schema",
    "Table",
    "parse_arch",
    "apply_override",
    "check_top_level",
    "int_phrase",
    "is_int",
    "jsonable",
    "override_value",
    "read_including",
    "read_toml",
    "show",
    "suggest",
    "syntax_error",
]

# Names end up in ids and file names: no `/`, no spaces (the message of `Table.string(pattern=NAME)`).
NAME = re.compile(r"[A-Za-z0-9._-]+")

# The "no default given" marker of `Table.value` and friends; `show` writes it as "nothing".
MISSING: Any = object()

# Names people type for a known value that spelling similarity would not find (difflib offers `cpu` for `gpu`).
ALIASES = {
    "gpu": "cuda",
    "ort": "onnxruntime",
    "int8": "onnxruntime-int8",
    "float32": "fp32",
    "float16": "fp16",
    "half": "fp16",
    "bfloat16": "bf16",
}


@dataclass(frozen=True)
class Schema:
    """The top-level tables a kind of config file may hold, each described by a dataclass of its keys."""

    kind: str  # what the file is, in messages: "suite" -> "expected a suite TOML file"
    tables: Mapping[str, type]  # table name -> the dataclass of one table (or of one array entry)
    arrays: frozenset[str] = frozenset()  # the tables written as arrays of tables ([[name]])
    example: str = "table.key=value"  # an override example for the "expected table.key=value" message
    groups: tuple[frozenset[str], ...] = field(default=())  # keys an including file replaces together


# --- reading -----------------------------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")
_TOML_HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(?:#.*)?")
_TOML_KEY = re.compile(r"\s*([A-Za-z0-9_.-]+)\s*=")


def read_toml(path: Path, kind: str) -> dict[str, Any]:
    """The TOML data of the `kind` file at `path` (e.g. kind "suite"); a UserError for any problem."""
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "file not found"
        raise UserError(f"{path}: {what} (expected a {kind} TOML file)")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UserError(f"{path}: cannot read: {e.strerror}") from None
    try:
        # utf-8-sig: editors on Windows like to start files with a BOM, which TOML itself rejects.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise UserError(f"{path}: not UTF-8 (invalid byte at line {line})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UserError(syntax_error(path, text, str(e))) from None


def syntax_error(path: Path, text: str, message: str) -> str:
    """`file: [table] key: invalid TOML at line L, column C: problem`, table and key found by scanning."""
    match = _TOML_POSITION.search(message)
    if match is None:
        return f"{path}: invalid TOML: {message}"
    problem = message[: match.start()]
    lines = text.splitlines()
    at_end = match.group(1) is None
    line = len(lines) if at_end else int(match.group(1))
    # The table is the last header at or above the error.
    where = ""
    for previous in reversed(lines[:line]):
        header = _TOML_HEADER.fullmatch(previous)
        if header:
            where = f"{header.group(1)}{header.group(2)}{header.group(1).replace('[', ']')} "
            break
    if at_end:
        return f"{path}: {where}invalid TOML at end of file: {problem}"
    column = int(match.group(2))
    # The key is the one whose value was being read: on the error's line only if the error is past its `=`
    # (`threads = [1, 2` is reported at the start of the next line), else the last key above, in this table.
    for n in range(min(line, len(lines)), 0, -1):
        if _TOML_HEADER.fullmatch(lines[n - 1]):
            break
        key = _TOML_KEY.match(lines[n - 1])
        if key and (n < line or column > key.end()):
            where += f"{key.group(1)}: "
            break
    return f"{path}: {where}invalid TOML at line {line}, column {column}: {problem}"


def read_including(
    path: Path, schema: Schema, key: str = "include"
) -> tuple[dict[str, Any], dict[tuple[Any, ...], Path], Path | None]:
    """Read `path` merged over the file its top-level `key` names: (data, origins, included file or None).

    The included path is relative to the including file; one level only. Tables are merged key by key and
    the including file wins (a key of one of `schema.groups` replaces the whole group); arrays of tables
    and non-table values are replaced whole. `origins` maps the key paths that came from the included
    file to it, for `Loader`, so that errors in those values name the file they were written in.
    """
    raw = read_toml(path, schema.kind)
    if key not in raw:
        return raw, {}, None
    reference = raw.pop(key)
    if not isinstance(reference, str) or not reference:
        raise UserError(f"{path}: {key}: expected a non-empty string (a file path), got {show(reference)}")
    included = Path(os.path.abspath(path.parent / reference))
    if not included.is_file():
        what = "is a directory" if included.is_dir() else "file not found"
        raise UserError(f"{path}: {key}: {what}: {included}")
    if included == Path(os.path.abspath(path)):
        raise UserError(f"{path}: {key}: a file cannot include itself")
    base = read_toml(included, schema.kind)
    if key in base:
        raise UserError(f"{included}: {key}: an included file cannot include another (one level only)")
    origins: dict[tuple[Any, ...], Path] = {}
    for name, value in base.items():
        mine = raw.get(name)
        if name not in raw:
            raw[name] = value
            origins[(name,)] = included
            if isinstance(value, dict):
                origins.update({(name, k): included for k in value})
        elif isinstance(value, dict) and isinstance(mine, dict) and name not in schema.arrays:
            replaced = {k for group in schema.groups if group & mine.keys() for k in group}
            for k, v in value.items():
                if k not in mine and k not in replaced:
                    mine[k] = v
                    origins[(name, k)] = included
    return raw, origins, included


# --- overrides ---------------------------------------------------------------------------------------------


def apply_override(
    path: Path, raw: dict[str, Any], text: str, provenance: dict[tuple[Any, ...], str], schema: Schema
) -> None:
    """Apply one `table.key=value` (or `array.<name>.key=value`) to the raw TOML data, noting who wrote it."""

    def fail(problem: str) -> NoReturn:
        raise UserError(f"{path}: --set {text}: {problem}")

    tables = schema.tables
    lhs, eq, rhs = text.partition("=")
    lhs = lhs.strip()
    table, _, rest = lhs.partition(".")
    if not eq or not rest:
        fail(f"expected table.key=value (e.g. {schema.example})")
    if table not in tables:
        fail(f"unknown table {table!r}{suggest(table, tables)} (known: {', '.join(tables)})")
    cls = tables[table]
    if table in schema.arrays:
        entries = raw.get(table)
        entries = entries if isinstance(entries, list) else []
        names = {e.get("name"): i for i, e in enumerate(entries) if isinstance(e, dict)}
        # Names may contain dots, so match known names rather than split: the longest one wins.
        matches = [n for n in names if isinstance(n, str) and rest.startswith(n + ".")]
        if not matches:
            known = ", ".join(str(n) for n in names) or "none"
            fail(f"no [[{table}]] entry named {rest.split('.')[0]!r} (known: {known})")
        name = max(matches, key=len)
        target: dict[str, Any] = entries[names[name]]
        where: tuple[Any, ...] = (table, names[name])
        keys = rest[len(name) + 1 :].split(".")
    else:
        target = raw.setdefault(table, {})
        if not isinstance(target, dict):
            fail(f"[{table}] in the file is not a table")
        where = (table,)
        keys = rest.split(".")
    if not all(keys):
        fail("expected table.key=value with a non-empty key")
    known = [f.name for f in fields(cls)]
    if keys[0] not in known:
        fail(f"unknown key {keys[0]!r}{suggest(keys[0], known)} (known: {', '.join(sorted(known))})")
    value = override_value(rhs.strip(), get_type_hints(cls)[keys[0]] if len(keys) == 1 else Any)
    for key in keys[:-1]:
        target = target.setdefault(key, {})
        if not isinstance(target, dict):
            fail(f"{key} is not a table")
    target[keys[-1]] = value
    provenance[(*where, *keys)] = text


def override_value(text: str, hint: Any) -> Any:
    """`text` as a TOML value, else as a bare string; shaped to the key's type where that is unambiguous."""
    try:
        parsed = tomllib.loads(f"v = {text}")
        value = parsed["v"] if parsed.keys() == {"v"} else text
    except tomllib.TOMLDecodeError:
        value = text
    options = get_args(hint) if isinstance(hint, UnionType) else (hint,)
    # `suite.name=2024` means the string, and `latency.backends=onnxruntime` means a one-element sweep.
    if (str in options or Path in options) and not isinstance(value, str):
        value = text
    if get_origin(hint) is tuple and not isinstance(value, list):
        value = [text if get_args(hint)[0] is str and not isinstance(value, str) else value]
    return value


# --- validation --------------------------------------------------------------------------------------------


class Loader:
    """Where the data came from: the file for messages and relative paths, the overrides for blame."""

    def __init__(
        self,
        path: Path,
        provenance: Mapping[tuple[Any, ...], str],
        origins: Mapping[tuple[Any, ...], Path] | None = None,
    ):
        self.path = path
        self.base = Path(os.path.abspath(path.parent))
        self.provenance = provenance
        self.origins: Mapping[tuple[Any, ...], Path] = origins or {}

    def origin(self, key_path: tuple[Any, ...]) -> Path:
        """The file that wrote the value at `key_path`: an included file (see `read_including`) or ours."""
        if key_path in self.origins:
            return self.origins[key_path]
        # A value inside an included value (`arch.layers`) comes from there too; a key missing from a table
        # (a prefix of length 1) is the including file's to add.
        for n in range(len(key_path) - 1, 1, -1):
            if key_path[:n] in self.origins:
                return self.origins[key_path[:n]]
        return self.path

    def fail(self, where: str, paths: Sequence[tuple[Any, ...]], problem: str) -> NoReturn:
        """Raise for `where` (table and key); blamed on the `--set` that wrote one of `paths`, if any."""
        for p in paths:
            # Blame runs both ways: `encoders.x.arch={...}` for a bad arch.layers, and `encoders.x.arch.layers=2`
            # for an arch that conflicts with the file's model.
            for written, text in self.provenance.items():
                if written[: len(p)] == p or p[: len(written)] == written:
                    raise UserError(f"{self.path}: --set {text}: {problem}")
        # An included file is named only when every value at fault was written there.
        files = {self.origin(p) for p in paths}
        path = files.pop() if len(files) == 1 else self.path
        raise UserError(f"{path}: {where}: {problem}" if where else f"{path}: {problem}")

    def table(self, label: str, where: tuple[Any, ...], data: Any, cls: type, prefix: str = "") -> Table:
        """A `Table` over `data`, which must be a TOML table holding only the fields of `cls`."""
        if not isinstance(data, dict):
            key = prefix.rstrip(".")
            self.fail(f"{label} {key}".strip(), [where], f"expected a table, got {show(data)}")
        return Table(self, label, where, data, cls, prefix)

    def local(self, reference: str, *, always: bool = False, at: tuple[Any, ...] = ()) -> str:
        """`reference` made absolute against the folder of the file that wrote it (the value at `at`)
        when it is relative and a path there, or always if `always`; else left as it is."""
        if os.path.isabs(reference):
            return reference
        base = self.base if not at else Path(os.path.abspath(self.origin(at).parent))
        candidate = os.path.abspath(base / reference)
        return candidate if always or os.path.exists(candidate) else reference


class Table:
    """One TOML table under validation: typed reads with defaults, errors naming file, table and key."""

    def __init__(
        self,
        loader: Loader,
        label: str,
        where: tuple[Any, ...],
        data: dict[str, Any],
        cls: type,
        prefix: str,
    ):
        self.loader, self.label, self.where, self.data, self.prefix = loader, label, where, data, prefix
        # The dataclass is the one place a default is written down.
        self.defaults = {f.name: f.default for f in fields(cls) if f.default is not FIELD_MISSING}
        known = [f.name for f in fields(cls)]
        for key in data:
            if key not in known:
                self.fail(
                    key, f"unknown key {key!r}{suggest(key, known)} (known: {', '.join(sorted(known))})"
                )

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def fail(self, key: str | Sequence[str], problem: str) -> NoReturn:
        """Raise for one key (or a group of keys, e.g. `model/arch/pair`) of this table."""
        keys = (key,) if isinstance(key, str) else tuple(key)
        where = f"{self.label} {'/'.join(self.prefix + k for k in keys)}"
        self.loader.fail(where, [(*self.where, k) for k in keys], problem)

    def value(self, key: str, default: Any = MISSING) -> Any:
        """The raw value of `key`; when absent `default`, else the dataclass default, else an error."""
        if key in self.data:
            return self.data[key]
        if default is MISSING:
            default = self.defaults.get(key, MISSING)
        if default is MISSING:
            self.fail(key, "required key is missing")
        return default

    def string(self, key: str, default: str = MISSING, *, pattern: re.Pattern[str] | None = None) -> str:
        """A non-empty string (matching `pattern`, if given)."""
        value = self.value(key, default)
        if not isinstance(value, str) or not value:
            self.fail(key, f"expected a non-empty string, got {show(value)}")
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(key, f"expected letters, digits, '.', '_' or '-' only, got {show(value)}")
        return value

    def text(self, key: str, default: str = MISSING) -> str:
        """A string, possibly empty."""
        value = self.value(key, default)
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {show(value)}")
        return value

    def choice(self, key: str, known: Sequence[str], noun: str) -> str:
        """One of `known`."""
        value = self.value(key)
        if not isinstance(value, str):
            self.fail(key, f"expected a {noun} name, got {show(value)}")
        self._known(key, value, known, noun)
        return value

    def choices(self, key: str, known: Sequence[str], noun: str) -> tuple[str, ...]:
        """A non-empty list of distinct members of `known`."""
        value = self.value(key)
        if not isinstance(value, list | tuple) or not value or not all(isinstance(v, str) for v in value):
            self.fail(key, f"expected a non-empty list of {noun} names, got {show(value)}")
        for v in value:
            self._known(key, v, known, noun)
        self._distinct(key, value)
        return tuple(value)

    def integer(self, key: str, default: int = MISSING, *, minimum: int, maximum: int | None = None) -> int:
        """An integer (not a boolean) >= `minimum` (and <= `maximum`, if given)."""
        value = self.value(key, default)
        if not _int_within(value, minimum, maximum):
            self.fail(key, f"expected {int_phrase(minimum)}{_at_most(maximum)}, got {show(value)}")
        return value

    def integers(self, key: str, *, minimum: int, maximum: int | None = None) -> tuple[int, ...]:
        """A non-empty list of distinct integers >= `minimum` (and <= `maximum`, if given)."""
        value = self.value(key)
        if (
            not isinstance(value, list | tuple)
            or not value
            or not all(_int_within(v, minimum, maximum) for v in value)
        ):
            phrase = int_phrase(minimum).removeprefix("a ").removeprefix("an ")
            phrase = phrase.replace("integer", "integers", 1)
            self.fail(key, f"expected a non-empty list of {phrase}{_at_most(maximum)}, got {show(value)}")
        self._distinct(key, value)
        return tuple(value)

    def number(self, key: str, *, positive: bool) -> float:
        """A finite number (integers accepted, booleans not) that is > 0 if `positive`, else >= 0."""
        value = self.value(key)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or value < 0 or (positive and value == 0):
            self.fail(
                key, f"expected a {'positive' if positive else 'non-negative'} number, got {show(value)}"
            )
        return float(value)

    def numbers(self, key: str, *, low: float, high: float) -> tuple[float, ...]:
        """A non-empty list of distinct finite numbers in [`low`, `high`]."""
        value = self.value(key)
        ok = isinstance(value, list | tuple) and value
        ok = ok and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value
        )
        if not ok:
            self.fail(key, f"expected a non-empty list of numbers, got {show(value)}")
        for v in value:
            if not low <= v <= high:
                self.fail(key, f"{show(v)} is outside [{low:g}, {high:g}]")
        self._distinct(key, [float(v) for v in value])
        return tuple(float(v) for v in value)

    def _known(self, key: str, value: str, known: Sequence[str], noun: str) -> None:
        if value not in known:
            self.fail(key, f"unknown {noun} {value!r}{suggest(value, known)} (known: {', '.join(known)})")

    def _distinct(self, key: str, values: Sequence[Any]) -> None:
        for i, v in enumerate(values):
            if v in values[:i]:
                self.fail(key, f"{show(v)} is listed twice in {show(values)}")


def check_top_level(loader: Loader, raw: Mapping[str, Any], schema: Schema) -> None:
    """Fail on a top-level entry that is not one of the schema's tables, suggesting where it belongs."""
    tables, arrays = schema.tables, schema.arrays
    known = ", ".join(f"[[{t}]]" if t in arrays else f"[{t}]" for t in tables)
    for key, value in raw.items():
        if key in tables:
            continue
        if isinstance(value, dict | list):
            close = difflib.get_close_matches(key, list(tables), n=1)
            hint = f"; did you mean [{close[0]}]?" if close else ""
            loader.fail("", [(key,)], f"unknown table [{key}]{hint} (known: {known})")
        # A key above the first header: say which table it belongs in, when that is clear.
        owners = [t for t, cls in tables.items() if t not in arrays and key in {f.name for f in fields(cls)}]
        hint = f"; did you mean to put it under [{owners[0]}]?" if len(owners) == 1 else ""
        loader.fail(
            "", [(key,)], f"unknown top-level key {key!r}{hint} (top-level entries are tables: {known})"
        )


# --- helpers -----------------------------------------------------------------------------------------------


def is_int(value: Any) -> bool:
    """Whether `value` is an integer and not a boolean (`batch_sizes = [true]` is a mistake, not a 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _int_within(value: Any, minimum: int, maximum: int | None) -> bool:
    return is_int(value) and value >= minimum and (maximum is None or value <= maximum)


def _at_most(maximum: int | None) -> str:
    return "" if maximum is None else f" up to {maximum:,}"


def int_phrase(minimum: int) -> str:
    """The phrase for integers >= `minimum`: `a positive integer`, `a non-negative integer`, ..."""
    return {1: "a positive integer", 0: "a non-negative integer"}.get(minimum, f"an integer >= {minimum}")


def suggest(word: str, known: Sequence[str] | Mapping[str, Any]) -> str:
    """`; did you mean 'x'?` for the known name closest to `word`, or "" when none is close."""
    known = list(known)
    # difflib misses abbreviations (`onnx` for `onnxruntime`): the shortest name it starts is the next guess.
    prefixed = sorted((k for k in known if word and k.startswith(word)), key=len)
    close = difflib.get_close_matches(word, known, n=1)
    alias = ALIASES.get(word.lower())
    best = alias if alias in known else close[0] if close else prefixed[0] if prefixed else None
    return f"; did you mean {best!r}?" if best else ""


def show(value: Any, limit: int = 80) -> str:
    """`value` written as TOML would write it, cut to `limit` characters (keeps messages on one line)."""

    def toml(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, float) and not math.isfinite(v):
            return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
        if isinstance(v, list | tuple):
            return "[" + ", ".join(toml(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {toml(x)}" for k, x in v.items()) + " }" if v else "{}"
        if v is MISSING:
            return "nothing"
        return str(v)

    text = toml(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def jsonable(value: Any) -> Any:
    """A resolved config value as JSON-ready data: dataclasses as dicts, tuples as lists, paths as strings."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


# --- tables shared by suites and recipes ------------------------------------------------------------------


@dataclass(frozen=True)
class Arch:
    """A random-init transformer architecture (an encoder's `arch = {...}`)."""

    layers: int
    hidden: int
    heads: int
    intermediate: int


def parse_arch(t: Table) -> Arch:
    """An `arch = { layers, hidden, heads[, intermediate] }` table, checked."""
    layers = t.integer("layers", minimum=1)
    hidden = t.integer("hidden", minimum=1)
    heads = t.integer("heads", minimum=1)
    if hidden % heads:
        t.fail(("hidden", "heads"), f"hidden ({hidden}) must be a multiple of heads ({heads})")
    # 4 x hidden is the BERT convention, which every model asset we ship follows.
    intermediate = t.integer("intermediate", 4 * hidden, minimum=1)
    return Arch(layers, hidden, heads, intermediate)
