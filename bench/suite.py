"""The benchmark suite file: its TOML schema, defaults, validation and `--set` overrides.

`load_suite` turns a suite file into a frozen, fully defaulted `Suite` or raises one `UserError` whose
message names the file, the table and the key (or the `--set` override that caused the problem). All of
it is checked here, before anything runs, so that a typo costs a second and not a half-finished run.
Model, tokenizer, pair and collection references are checked for form only: the runners resolve them.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields, is_dataclass
from pathlib import Path
from types import UnionType
from typing import Any, NoReturn, get_args, get_origin, get_type_hints

from daft.collections.collection import is_split_name
from daft.errors import UserError

__all__ = [
    "BACKENDS",
    "DEVICES",
    "DTYPES",
    "ENCODER_TYPES",
    "PADDINGS",
    "POOLINGS",
    "Arch",
    "EncoderSpec",
    "LatencySpec",
    "MeasureSpec",
    "QueriesSpec",
    "Suite",
    "SuiteInfo",
    "load_suite",
]

BACKENDS = ("torch", "torch-compile", "onnxruntime", "onnxruntime-int8")
DEVICES = ("cpu", "cuda")
DTYPES = ("fp32", "fp16", "bf16")
ENCODER_TYPES = ("transformer", "static")
POOLINGS = ("mean", "cls")
PADDINGS = ("longest", "max_length")

# Names end up in cell ids (`name/backend/...`) and result file names: no `/`, no spaces.
NAME = re.compile(r"[A-Za-z0-9._-]+")


# --- the resolved suite ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SuiteInfo:
    """[suite]: what the suite is called and what it is for."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class QueriesSpec:
    """[queries]: the texts to encode (a `collection:split` source or a file) and the length policy."""

    source: str | None = None
    file: Path | None = None
    limit: int = 512
    max_length: int = 32
    padding: str = "longest"

    @property
    def collection(self) -> str | None:
        """The collection part of `source` (a built-in name or an absolute path), or None for a file."""
        return None if self.source is None else self.source.rpartition(":")[0]

    @property
    def split(self) -> str | None:
        """The split part of `source`, or None for a file."""
        return None if self.source is None else self.source.rpartition(":")[2]


@dataclass(frozen=True)
class Arch:
    """A random-init transformer architecture (an encoder's `arch = {...}`)."""

    layers: int
    hidden: int
    heads: int
    intermediate: int


@dataclass(frozen=True)
class EncoderSpec:
    """One [[encoders]] entry: exactly one of `model`, `arch` (with `tokenizer`) or `pair` is set."""

    name: str
    type: str = "transformer"
    model: str | None = None
    arch: Arch | None = None
    tokenizer: str | None = None
    pair: Path | None = None
    pooling: str = "mean"
    dim: int | None = None


@dataclass(frozen=True)
class LatencySpec:
    """[latency]: the sweep; `plan` expands it into cells."""

    backends: tuple[str, ...] = ("torch",)
    devices: tuple[str, ...] = ("cpu",)
    dtypes: tuple[str, ...] = ("fp32",)
    batch_sizes: tuple[int, ...] = (1, 32)
    threads: tuple[int, ...] = (0,)
    baseline: str = ""


@dataclass(frozen=True)
class MeasureSpec:
    """[measure]: the time and sample budget of each cell, warm-up and warning thresholds."""

    min_time_s: float = 0.5
    min_samples: int = 10
    max_samples: int = 10000
    max_time_s: float = 5.0
    warmup_window: int = 5
    warmup_rel_tol: float = 0.05
    warmup_max_s: float = 3.0
    cv_warn: float = 0.10
    parity_tol: float = 1e-3
    seed: int = 0


# Top-level table -> (Suite attribute, dataclass of one entry). Known keys, override typing and `to_dict`
# derive from this; adding a table (e.g. [retrieval]) = a dataclass, an entry here, a parser in `_build`.
_TABLES: dict[str, tuple[str, type]] = {
    "suite": ("info", SuiteInfo),
    "queries": ("queries", QueriesSpec),
    "encoders": ("encoders", EncoderSpec),
    "latency": ("latency", LatencySpec),
    "measure": ("measure", MeasureSpec),
}
_ARRAYS = frozenset({"encoders"})


@dataclass(frozen=True)
class Suite:
    """A validated, fully defaulted suite; paths in it are absolute."""

    path: Path
    info: SuiteInfo
    queries: QueriesSpec
    encoders: tuple[EncoderSpec, ...]
    latency: LatencySpec
    measure: MeasureSpec
    overrides: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """The suite's name ([suite] name, by default the file stem)."""
        return self.info.name

    @property
    def description(self) -> str:
        """The suite's description ([suite] description)."""
        return self.info.description

    def encoder(self, name: str) -> EncoderSpec:
        """The encoder called `name` (KeyError if there is none)."""
        for spec in self.encoders:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The suite as resolved, JSON-ready: file path, overrides, then one entry per table."""
        out: dict[str, Any] = {"path": str(self.path), "overrides": list(self.overrides)}
        for table, (attr, _) in _TABLES.items():
            out[table] = _jsonable(getattr(self, attr))
        return out


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


# --- loading -----------------------------------------------------------------------------------------------


def load_suite(path: Path, overrides: Sequence[str] = ()) -> Suite:
    """Parse, override and validate the suite file at `path`; every problem is a one-line UserError."""
    path = Path(path)
    if isinstance(overrides, str):  # one override passed bare would otherwise be read character by character
        overrides = (overrides,)
    raw = _read_toml(path)
    provenance: dict[tuple[Any, ...], str] = {}
    for text in overrides:
        _apply_override(path, raw, text, provenance)
    return _build(_Loader(path, provenance), raw, tuple(overrides))


_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")
_TOML_HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(?:#.*)?")
_TOML_KEY = re.compile(r"\s*([A-Za-z0-9_.-]+)\s*=")


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "file not found"
        raise UserError(f"{path}: {what} (expected a suite TOML file)")
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
        raise UserError(_syntax_error(path, text, str(e))) from None


def _syntax_error(path: Path, text: str, message: str) -> str:
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


# --- overrides ---------------------------------------------------------------------------------------------


def _apply_override(
    path: Path, raw: dict[str, Any], text: str, provenance: dict[tuple[Any, ...], str]
) -> None:
    """Apply one `table.key=value` (or `encoders.<name>.key=value`) to the raw TOML data."""

    def fail(problem: str) -> NoReturn:
        raise UserError(f"{path}: --set {text}: {problem}")

    lhs, eq, rhs = text.partition("=")
    lhs = lhs.strip()
    table, _, rest = lhs.partition(".")
    if not eq or not rest:
        fail("expected table.key=value (e.g. latency.batch_sizes=[1,8] or encoders.<name>.model=x)")
    if table not in _TABLES:
        fail(f"unknown table {table!r}{_suggest(table, _TABLES)} (known: {', '.join(_TABLES)})")
    cls = _TABLES[table][1]
    if table in _ARRAYS:
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
        fail(f"unknown key {keys[0]!r}{_suggest(keys[0], known)} (known: {', '.join(sorted(known))})")
    value = _override_value(rhs.strip(), get_type_hints(cls)[keys[0]] if len(keys) == 1 else Any)
    for key in keys[:-1]:
        target = target.setdefault(key, {})
        if not isinstance(target, dict):
            fail(f"{key} is not a table")
    target[keys[-1]] = value
    provenance[(*where, *keys)] = text


def _override_value(text: str, hint: Any) -> Any:
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

_MISSING: Any = object()


class _Loader:
    """Where the data came from: the file for messages and relative paths, the overrides for blame."""

    def __init__(self, path: Path, provenance: Mapping[tuple[Any, ...], str]):
        self.path = path
        self.base = Path(os.path.abspath(path.parent))
        self.provenance = provenance

    def fail(self, where: str, paths: Sequence[tuple[Any, ...]], problem: str) -> NoReturn:
        """Raise for `where` (table and key); blamed on the `--set` that wrote one of `paths`, if any."""
        for p in paths:
            # Blame runs both ways: `encoders.x.arch={...}` for a bad arch.layers, and `encoders.x.arch.layers=2`
            # for an arch that conflicts with the file's model.
            for written, text in self.provenance.items():
                if written[: len(p)] == p or p[: len(written)] == written:
                    raise UserError(f"{self.path}: --set {text}: {problem}")
        raise UserError(f"{self.path}: {where}: {problem}" if where else f"{self.path}: {problem}")

    def table(self, label: str, where: tuple[Any, ...], data: Any, cls: type, prefix: str = "") -> _Table:
        """A `_Table` over `data`, which must be a TOML table holding only the fields of `cls`."""
        if not isinstance(data, dict):
            key = prefix.rstrip(".")
            self.fail(f"{label} {key}".strip(), [where], f"expected a table, got {_show(data)}")
        return _Table(self, label, where, data, cls, prefix)

    def local(self, reference: str, *, always: bool = False) -> str:
        """`reference` resolved against the suite's folder when it is relative and a path there (or `always`)."""
        if os.path.isabs(reference):
            return reference
        candidate = os.path.abspath(self.base / reference)
        return candidate if always or os.path.exists(candidate) else reference


class _Table:
    """One TOML table under validation: typed reads with defaults, errors naming file, table and key."""

    def __init__(
        self,
        loader: _Loader,
        label: str,
        where: tuple[Any, ...],
        data: dict[str, Any],
        cls: type,
        prefix: str,
    ):
        self.loader, self.label, self.where, self.data, self.prefix = loader, label, where, data, prefix
        # The dataclass is the one place a default is written down.
        self.defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
        known = [f.name for f in fields(cls)]
        for key in data:
            if key not in known:
                self.fail(
                    key, f"unknown key {key!r}{_suggest(key, known)} (known: {', '.join(sorted(known))})"
                )

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def fail(self, key: str | Sequence[str], problem: str) -> NoReturn:
        """Raise for one key (or a group of keys, e.g. `model/arch/pair`) of this table."""
        keys = (key,) if isinstance(key, str) else tuple(key)
        where = f"{self.label} {'/'.join(self.prefix + k for k in keys)}"
        self.loader.fail(where, [(*self.where, k) for k in keys], problem)

    def value(self, key: str, default: Any = _MISSING) -> Any:
        """The raw value of `key`; when absent `default`, else the dataclass default, else an error."""
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            default = self.defaults.get(key, _MISSING)
        if default is _MISSING:
            self.fail(key, "required key is missing")
        return default

    def string(self, key: str, default: str = _MISSING, *, pattern: re.Pattern[str] | None = None) -> str:
        """A non-empty string (matching `pattern`, if given)."""
        value = self.value(key, default)
        if not isinstance(value, str) or not value:
            self.fail(key, f"expected a non-empty string, got {_show(value)}")
        if pattern is not None and not pattern.fullmatch(value):
            self.fail(key, f"expected letters, digits, '.', '_' or '-' only, got {_show(value)}")
        return value

    def choice(self, key: str, known: Sequence[str], noun: str) -> str:
        """One of `known`."""
        value = self.value(key)
        if not isinstance(value, str):
            self.fail(key, f"expected a {noun} name, got {_show(value)}")
        self._known(key, value, known, noun)
        return value

    def choices(self, key: str, known: Sequence[str], noun: str) -> tuple[str, ...]:
        """A non-empty list of distinct members of `known`."""
        value = self.value(key)
        if not isinstance(value, list | tuple) or not value or not all(isinstance(v, str) for v in value):
            self.fail(key, f"expected a non-empty list of {noun} names, got {_show(value)}")
        for v in value:
            self._known(key, v, known, noun)
        self._distinct(key, value)
        return tuple(value)

    def integer(self, key: str, default: int = _MISSING, *, minimum: int) -> int:
        """An integer (not a boolean) >= `minimum`."""
        value = self.value(key, default)
        if not _is_int(value) or value < minimum:
            self.fail(key, f"expected {_int_phrase(minimum)}, got {_show(value)}")
        return value

    def integers(self, key: str, *, minimum: int) -> tuple[int, ...]:
        """A non-empty list of distinct integers >= `minimum`."""
        value = self.value(key)
        if (
            not isinstance(value, list | tuple)
            or not value
            or not all(_is_int(v) and v >= minimum for v in value)
        ):
            phrase = _int_phrase(minimum).removeprefix("a ").removeprefix("an ")
            phrase = phrase.replace("integer", "integers", 1)
            self.fail(key, f"expected a non-empty list of {phrase}, got {_show(value)}")
        self._distinct(key, value)
        return tuple(value)

    def number(self, key: str, *, positive: bool) -> float:
        """A finite number (integers accepted, booleans not) that is > 0 if `positive`, else >= 0."""
        value = self.value(key)
        ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not ok or value < 0 or (positive and value == 0):
            self.fail(
                key, f"expected a {'positive' if positive else 'non-negative'} number, got {_show(value)}"
            )
        return float(value)

    def _known(self, key: str, value: str, known: Sequence[str], noun: str) -> None:
        if value not in known:
            self.fail(key, f"unknown {noun} {value!r}{_suggest(value, known)} (known: {', '.join(known)})")

    def _distinct(self, key: str, values: Sequence[Any]) -> None:
        for i, v in enumerate(values):
            if v in values[:i]:
                self.fail(key, f"{_show(v)} is listed twice in {_show(values)}")


def _is_int(value: Any) -> bool:
    # bool is a subclass of int in Python; `batch_sizes = [true]` is a mistake, not a 1.
    return isinstance(value, int) and not isinstance(value, bool)


def _int_phrase(minimum: int) -> str:
    return {1: "a positive integer", 0: "a non-negative integer"}.get(minimum, f"an integer >= {minimum}")


# Names people type for a known value that spelling similarity would not find (difflib offers `cpu` for `gpu`).
_ALIASES = {
    "gpu": "cuda",
    "ort": "onnxruntime",
    "int8": "onnxruntime-int8",
    "float32": "fp32",
    "float16": "fp16",
    "half": "fp16",
    "bfloat16": "bf16",
}


def _suggest(word: str, known: Sequence[str] | Mapping[str, Any]) -> str:
    """`; did you mean 'x'?` for the known name closest to `word`, or "" when none is close."""
    known = list(known)
    # difflib misses abbreviations (`onnx` for `onnxruntime`): the shortest name it starts is the next guess.
    prefixed = sorted((k for k in known if word and k.startswith(word)), key=len)
    close = difflib.get_close_matches(word, known, n=1)
    alias = _ALIASES.get(word.lower())
    best = alias if alias in known else close[0] if close else prefixed[0] if prefixed else None
    return f"; did you mean {best!r}?" if best else ""


def _show(value: Any, limit: int = 80) -> str:
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
        if v is _MISSING:
            return "nothing"
        return str(v)

    text = toml(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- the tables --------------------------------------------------------------------------------------------


def _build(loader: _Loader, raw: dict[str, Any], overrides: tuple[str, ...]) -> Suite:
    _check_top_level(loader, raw)
    info = _parse_info(loader.table("[suite]", ("suite",), raw.get("suite", {}), SuiteInfo))
    queries = _parse_queries(loader.table("[queries]", ("queries",), raw.get("queries", {}), QueriesSpec))
    encoders = _parse_encoders(loader, raw.get("encoders", []))
    latency = _parse_latency(
        loader.table("[latency]", ("latency",), raw.get("latency", {}), LatencySpec), encoders
    )
    measure = _parse_measure(loader.table("[measure]", ("measure",), raw.get("measure", {}), MeasureSpec))
    return Suite(loader.path, info, queries, encoders, latency, measure, overrides)


def _check_top_level(loader: _Loader, raw: dict[str, Any]) -> None:
    known = ", ".join(f"[[{t}]]" if t in _ARRAYS else f"[{t}]" for t in _TABLES)
    for key, value in raw.items():
        if key in _TABLES:
            continue
        if isinstance(value, dict | list):
            close = difflib.get_close_matches(key, list(_TABLES), n=1)
            hint = f"; did you mean [{close[0]}]?" if close else ""
            loader.fail("", [], f"unknown table [{key}]{hint} (known: {known})")
        # A key above the first header: say which table it belongs in, when that is clear.
        owners = [
            t for t, (_, cls) in _TABLES.items() if t not in _ARRAYS and key in {f.name for f in fields(cls)}
        ]
        hint = f"; did you mean to put it under [{owners[0]}]?" if len(owners) == 1 else ""
        loader.fail("", [], f"unknown top-level key {key!r}{hint} (top-level entries are tables: {known})")


def _parse_info(t: _Table) -> SuiteInfo:
    stem = t.loader.path.stem
    if "name" not in t and not NAME.fullmatch(stem):
        t.fail(
            "name",
            f"the file name {stem!r} is not a valid suite name (letters, digits, '.', '_', '-'); set one",
        )
    name = t.string("name", stem, pattern=NAME)
    description = t.value("description")
    if not isinstance(description, str):
        t.fail("description", f"expected a string, got {_show(description)}")
    return SuiteInfo(name, description)


def _parse_queries(t: _Table) -> QueriesSpec:
    given = [k for k in ("source", "file") if k in t]
    if len(given) != 1:
        got = "both" if given else "neither"
        t.fail(("source", "file"), f'expected exactly one of source ("collection:split") or file, got {got}')
    source = file = None
    if "source" in t:
        reference = t.string("source")
        collection, colon, split = reference.rpartition(":")
        if not colon or not collection or not is_split_name(split):
            t.fail("source", f'expected "collection:split" (e.g. "wordnet:test"), got {_show(reference)}')
        source = f"{t.loader.local(collection)}:{split}"
    else:
        file = Path(t.loader.local(t.string("file"), always=True))
        if not file.is_file():
            t.fail("file", f"file not found: {file}")
    return QueriesSpec(
        source=source,
        file=file,
        limit=t.integer("limit", minimum=1),
        max_length=t.integer("max_length", minimum=1),
        padding=t.choice("padding", PADDINGS, "padding"),
    )


def _parse_encoders(loader: _Loader, entries: Any) -> tuple[EncoderSpec, ...]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        loader.fail("[[encoders]]", [("encoders",)], f"expected an array of tables, got {_show(entries)}")
    if not entries:
        loader.fail("[[encoders]]", [("encoders",)], "at least one encoder is required")
    specs: list[EncoderSpec] = []
    for i, entry in enumerate(entries):
        name = entry.get("name")
        label = f"[[encoders]] #{i + 1}" + (
            f" {name!r}" if isinstance(name, str) and NAME.fullmatch(name) else ""
        )
        t = loader.table(label, ("encoders", i), entry, EncoderSpec)
        spec = _parse_encoder(t, loader)
        for j, other in enumerate(specs):
            if other.name == spec.name:
                t.fail("name", f"duplicate encoder name {spec.name!r} (also #{j + 1})")
        specs.append(spec)
    return tuple(specs)


def _parse_encoder(t: _Table, loader: _Loader) -> EncoderSpec:
    name = t.string("name", pattern=NAME)
    kind = t.choice("type", ENCODER_TYPES, "encoder type")
    given = [k for k in ("model", "arch", "pair") if k in t]
    if len(given) != 1:
        got = " and ".join(given) if given else "none"
        t.fail(("model", "arch", "pair"), f"expected exactly one of model, arch or pair, got {got}")
    model = loader.local(t.string("model")) if "model" in t else None
    pair = Path(loader.local(t.string("pair"), always=True)) if "pair" in t else None
    arch = None
    if "arch" in t:
        arch = _parse_arch(loader.table(t.label, (*t.where, "arch"), t.data["arch"], Arch, "arch."))
    tokenizer = loader.local(t.string("tokenizer")) if "tokenizer" in t else None
    if arch is not None and tokenizer is None:
        t.fail("tokenizer", "required with arch (a random-init model still needs a vocabulary)")
    if arch is None and tokenizer is not None:
        t.fail("tokenizer", "only used with arch (a model or pair brings its own tokenizer)")
    pooling = t.choice("pooling", POOLINGS, "pooling")
    if kind == "static" and arch is not None:
        t.fail(("type", "arch"), "a static encoder averages a model's token embeddings; give model, not arch")
    if kind == "static" and pooling != "mean":
        t.fail("pooling", f"a static encoder always mean-pools, got {_show(pooling)}")
    dim = t.integer("dim", minimum=1) if "dim" in t else None
    return EncoderSpec(name, kind, model, arch, tokenizer, pair, pooling, dim)


def _parse_arch(t: _Table) -> Arch:
    layers = t.integer("layers", minimum=1)
    hidden = t.integer("hidden", minimum=1)
    heads = t.integer("heads", minimum=1)
    if hidden % heads:
        t.fail(("hidden", "heads"), f"hidden ({hidden}) must be a multiple of heads ({heads})")
    # 4 x hidden is the BERT convention, which every model asset we ship follows.
    intermediate = t.integer("intermediate", 4 * hidden, minimum=1)
    return Arch(layers, hidden, heads, intermediate)


def _parse_latency(t: _Table, encoders: tuple[EncoderSpec, ...]) -> LatencySpec:
    names = [e.name for e in encoders]
    baseline = t.string("baseline", names[0])
    if baseline not in names:
        t.fail(
            "baseline",
            f"no encoder named {baseline!r}{_suggest(baseline, names)} (encoders: {', '.join(names)})",
        )
    return LatencySpec(
        backends=t.choices("backends", BACKENDS, "backend"),
        devices=t.choices("devices", DEVICES, "device"),
        dtypes=t.choices("dtypes", DTYPES, "dtype"),
        batch_sizes=t.integers("batch_sizes", minimum=1),
        threads=t.integers("threads", minimum=0),
        baseline=baseline,
    )


def _parse_measure(t: _Table) -> MeasureSpec:
    spec = MeasureSpec(
        min_time_s=t.number("min_time_s", positive=False),
        min_samples=t.integer("min_samples", minimum=1),
        max_samples=t.integer("max_samples", minimum=1),
        max_time_s=t.number("max_time_s", positive=True),
        warmup_window=t.integer("warmup_window", minimum=1),
        warmup_rel_tol=t.number("warmup_rel_tol", positive=False),
        warmup_max_s=t.number("warmup_max_s", positive=False),
        cv_warn=t.number("cv_warn", positive=True),
        parity_tol=t.number("parity_tol", positive=True),
        seed=t.integer("seed", minimum=0),
    )
    if spec.max_samples < spec.min_samples:
        t.fail(
            ("min_samples", "max_samples"),
            f"max_samples ({spec.max_samples}) is below min_samples ({spec.min_samples})",
        )
    if spec.max_time_s < spec.min_time_s:
        t.fail(
            ("min_time_s", "max_time_s"),
            f"max_time_s ({spec.max_time_s}) is below min_time_s ({spec.min_time_s})",
        )
    return spec
