"""Finding a collection by reference: the built-in names (built once into the cache) or a folder on disk.

A folder is read by the first registered format that recognises it: each format module declares its
`FORMAT` (how it recognises a folder and how it loads one), and `_FORMATS` lists the modules, one line
each, so adding a format is one module and one line.

A built-in collection is built into `cache_root()/collections/<name>/` in BEIR layout, as a sealed cache
entry whose meta records its fingerprint, builder version and counts. Every load checks the seal and the
fingerprint of what it read back, and rebuilds an entry that is half-built, modified or out of date.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daft.collections import wordnet
from daft.collections.beir import load_beir, write_beir
from daft.collections.collection import Collection, is_split_name
from daft.collections.format import Format
from daft.core.errors import UserError
from daft.core.progress import console
from daft.store import cache

# The registration lines: the modules that declare a `FORMAT`, in the order folders are tried.
_FORMATS = ("daft.collections.beir", "daft.collections.trec")


@functools.cache
def formats() -> tuple[Format, ...]:
    """Every registered folder format, in registration order."""
    return tuple(importlib.import_module(module).FORMAT for module in _FORMATS)


def format_of(folder: Path) -> Format | None:
    """The first registered format that recognises `folder`, or None."""
    return next((f for f in formats() if f.recognises(folder)), None)


def not_a_collection(folder: Path | str) -> str:
    """Why `folder` is read by no format, naming what each looks for."""
    return f"{folder}: not a collection folder ({', '.join(f.sign for f in formats())})"


def folder_kinds() -> str:
    """The registered formats as a reference may name them: "a BEIR or MS MARCO/TREC folder"."""
    return f"a {' or '.join(f.name for f in formats())} folder"


@dataclass(frozen=True)
class Builtin:
    """A collection that daft builds itself: how, and which builder version (bumped on any change)."""

    name: str
    description: str
    version: int
    build: Callable[[], Collection]


def _build_wordnet() -> Collection:
    return wordnet.wordnet_collection(wordnet.parse_wordnet(wordnet.source_dir()))


def _build_wordnet_small() -> Collection:
    # Built from the parsed synsets, not the cached `wordnet`: the subset needs their lemmas.
    return wordnet.wordnet_small_collection(wordnet.parse_wordnet(wordnet.source_dir()))


BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin(
            "wordnet",
            "WordNet 3.0: 117,659 synsets; usage examples as queries (train/dev/test by synset)",
            wordnet.BUILDER_VERSION,
            _build_wordnet,
        ),
        Builtin(
            "wordnet-small",
            "20,000 WordNet synsets: the dev/test targets, the other senses of their lemmas, padding",
            wordnet.BUILDER_VERSION,
            _build_wordnet_small,
        ),
    )
}


def names(registry: Mapping[str, Builtin] = BUILTINS) -> list[str]:
    """The names of the built-in collections."""
    return sorted(registry)


def collection_dir(name: str) -> Path:
    """Where built-in collection `name` is cached (whether or not it is built)."""
    return cache.cache_root() / "collections" / name


def _cached(builtin: Builtin, directory: Path) -> tuple[Collection | None, str]:
    """The cached collection, or None and why the entry cannot be used."""
    if problem := cache.check(directory):
        return None, problem
    meta = (cache.read_seal(directory) or {}).get("meta", {})
    if meta.get("builder_version") != builtin.version:
        return None, f"built by builder version {meta.get('builder_version')}, now {builtin.version}"
    try:
        collection = load_beir(directory, name=builtin.name)
    except UserError as err:
        return None, str(err)
    # The seal vouches for the bytes; the fingerprint vouches that they still read back as what was built.
    if collection.fingerprint != meta.get("fingerprint"):
        return None, "its content does not match the recorded fingerprint"
    return collection, ""


def load_builtin(name: str, registry: Mapping[str, Builtin] = BUILTINS) -> Collection:
    """Built-in collection `name`: from the cache when intact, else built (with progress) and cached."""
    if name not in registry:
        raise UserError(f"unknown built-in collection {name!r}; known: {', '.join(names(registry))}")
    builtin = registry[name]
    directory = collection_dir(name)
    collection, problem = _cached(builtin, directory)
    if collection is not None:
        return collection
    if problem != "missing":
        console.print(f"[yellow]collection {name}: cache entry is unusable ({problem}); rebuilding[/]")
    cache.sweep(directory.parent)
    with console.status(f"building collection {name}"):
        collection = builtin.build()
        stats = collection.stats()
        meta = {
            "collection": name,
            "builder_version": builtin.version,
            "fingerprint": collection.fingerprint,
            "documents": stats["documents"],
            "splits": stats["splits"],
        }
        with cache.building(directory, meta) as staging:
            write_beir(collection, staging)
    return collection


def parse_ref(ref: str) -> tuple[str, str | None]:
    """Split `name:split` or `path:split` into (collection, split); (ref, None) when there is no split.

    Only the text after the last colon can be a split, and only when it is a plain split name (no `/`),
    so `C:\\data` or `/data/a:b/c` stay whole; a reference that is an existing path is never split.
    """
    head, colon, tail = ref.rpartition(":")
    if colon and head and is_split_name(tail) and not Path(ref).expanduser().exists():
        return head, tail
    return ref, None


def load(ref: str, registry: Mapping[str, Builtin] = BUILTINS) -> Collection:
    """A collection by name (`wordnet`, `wordnet-small`) or folder (read by the format that recognises it)."""
    if ref in registry:
        return load_builtin(ref, registry)
    path = Path(ref).expanduser()
    if path.is_dir():
        if (found := format_of(path)) is None:
            raise UserError(not_a_collection(path))
        return found.load(path)
    hint = ""
    if (split := parse_ref(ref)[1]) is not None:
        hint = f" ({ref!r} names split {split!r}, which is not asked for here)"
    raise UserError(
        f"unknown collection {ref!r}{hint}; known collections: {', '.join(names(registry))}, "
        f"or the path of {folder_kinds()}"
    )


def load_ref(ref: str, registry: Mapping[str, Builtin] = BUILTINS) -> tuple[Collection, str | None]:
    """The collection and split of a reference like `wordnet:test` (split None when not given)."""
    name, split = parse_ref(ref)
    collection = load(name, registry)
    if split is not None:
        collection.split(split)  # raises a UserError naming the available splits
    return collection, split


def info(ref: str, registry: Mapping[str, Builtin] = BUILTINS) -> dict[str, Any]:
    """Name, documents, queries, per split judged queries and pairs, and fingerprint of a collection."""
    collection, split = load_ref(ref, registry)
    stats = collection.stats()
    if split is not None:
        stats["splits"] = {split: stats["splits"][split]}
    name, _ = parse_ref(ref)
    cached = name in registry  # a built-in is built into the cache; a folder is only read
    where = collection_dir(name) if cached else Path(name).expanduser().resolve()
    return {
        "name": collection.name,
        **stats,
        "fingerprint": collection.fingerprint,
        "path": str(where),
        "cached": cached,
    }
