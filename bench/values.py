"""Typed reading of JSON values: what a report's value must be, or a ValueError that says where it is not.

A report is read by the gate, whose exit code 1 means "regression": a hand-edited or truncated report must
therefore fail here, as one line naming the value (exit 2), and never later as a crash deep in the
statistics. These helpers know types, not keys; `bench.schema` says which key is which.
"""

from __future__ import annotations

import dataclasses
import math
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

__all__ = ["finite", "mapping", "number", "pair", "record", "samples", "scores"]

_FLOAT_BITS = 1024  # the largest finite float is below 2**1024


def number(value: Any, where: str, *, optional: bool = False) -> float | None:
    """A JSON number (a bool is not one); None only when `optional`."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} is {value!r}, not a number")
    if isinstance(value, int) and value.bit_length() > _FLOAT_BITS:
        # JSON integers have no bound; the statistics convert to float, which would overflow.
        raise ValueError(f"{where} is a {value.bit_length()}-bit integer, too large for a number")
    return value


def finite(value: Any, where: str, *, minimum: float = -math.inf) -> float:
    """A finite JSON number, at least `minimum` (JSON readers accept NaN and Infinity literals)."""
    value = number(value, where)
    assert value is not None
    if not math.isfinite(value) or value < minimum:
        raise ValueError(f"{where} is {value!r}, not a finite number >= {minimum:g}")
    return value


def mapping(value: Any, where: str, *, optional: bool = False) -> Mapping[str, Any]:
    """A JSON object (None becomes {} when `optional`)."""
    if value is None and optional:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} is {type(value).__name__}, not an object")
    return value


def _array(value: Any, where: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"{where} is {type(value).__name__}, not an array")
    return value


def pair(value: Any, where: str) -> tuple[Any, Any] | None:
    """An interval: null, or two numbers (a bound may be null or infinite: the bootstrap can give that)."""
    if value is None:
        return None
    items = _array(value, where)
    if len(items) != 2:
        raise ValueError(f"{where} has {len(items)} values, not 2")
    return (number(items[0], where, optional=True), number(items[1], where, optional=True))


def samples(value: Any, where: str) -> tuple[float, ...]:
    """Raw latencies: an array of finite numbers >= 0 (statistics of anything else would be a crash)."""
    return tuple(finite(v, f"{where}[{i}]", minimum=0) for i, v in enumerate(_array(value, where)))


def scores(value: Any, where: str) -> dict[str, float]:
    """An object of finite numbers (a retrieval system's measures)."""
    return {str(k): finite(v, f"{where}.{k}") for k, v in mapping(value, where).items()}


def record(cls: type, value: Any, where: str) -> Any:
    """The frozen dataclass `cls` from a JSON object holding every one of its fields and nothing else, each
    value read as its annotation says (nested dataclasses, tuples, mappings, paths, optional values)."""
    data = mapping(value, where)
    names = [f.name for f in dataclasses.fields(cls)]
    missing, unknown = [n for n in names if n not in data], [k for k in data if k not in names]
    if missing or unknown:
        wrong = [f"lacks {', '.join(missing)}"] * bool(missing) + [
            f"has unknown {', '.join(unknown)}"
        ] * bool(unknown)
        raise ValueError(f"{where} {' and '.join(wrong)}")
    hints = get_type_hints(cls)
    return cls(**{name: _typed(hints[name], data[name], f"{where}.{name}") for name in names})


def _typed(hint: Any, value: Any, where: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _typed(next(a for a in args if a is not type(None)), value, where)
    if origin is tuple:
        return tuple(_typed(args[0], v, f"{where}[{i}]") for i, v in enumerate(_array(value, where)))
    if origin in (dict, Mapping):
        return {str(k): _typed(args[1], v, f"{where}.{k}") for k, v in mapping(value, where).items()}
    if dataclasses.is_dataclass(hint):
        return record(hint, value, where)
    if hint is Path:
        return Path(_typed(str, value, where))
    if hint is float:
        return float(number(value, where))  # type: ignore[arg-type]
    if hint in (str, int, bool) and not (
        isinstance(value, hint) and (hint is bool or not isinstance(value, bool))
    ):
        raise ValueError(f"{where} is {value!r}, not {'an' if hint is int else 'a'} {hint.__name__}")
    return value
