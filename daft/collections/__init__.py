"""Test collections: one model (corpus, queries, qrels per split), loaders, and the built-in WordNet ones."""

from daft.collections.beir import load_beir, write_beir
from daft.collections.collection import Collection, Document
from daft.collections.registry import info, load, load_ref, names, parse_ref
from daft.collections.trec import load_trec

__all__ = [
    "Collection",
    "Document",
    "info",
    "load",
    "load_beir",
    "load_ref",
    "load_trec",
    "names",
    "parse_ref",
    "write_beir",
]
