"""`python -m bench indexes COLLECTION --model REF`: flat vs HNSW vs IVF-PQ on one corpus, as a table."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from bench.cli.args import positive_int
from bench.retrieval.systems.vectors import VectorSettings
from bench.specs import EncoderSpec, RetrievalSpec
from daft.core.progress import output_console

DEFAULTS = RetrievalSpec()
VECTORS = VectorSettings()
stdout = output_console()


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `indexes`."""
    parser = commands.add_parser(
        "indexes", help="compare FAISS indexes (flat, hnsw, ivfpq): time, size, recall"
    )
    parser.add_argument("collection", help="a collection name or a BEIR/TREC folder")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a model used on both sides (or a Router model's routes)")
    source.add_argument("--pair", type=Path, help="an encoder pair")
    parser.add_argument("--pooling", default="mean", help="pooling of a plain transformers --model (mean)")
    parser.add_argument("--split", default=DEFAULTS.split, help=f"whose queries search ({DEFAULTS.split})")
    parser.add_argument("--depth", type=positive_int, default=100, help="k of recall@k against flat (100)")
    parser.set_defaults(func=run_from_args)


def run_from_args(args: argparse.Namespace) -> int:
    """Embed (cached) corpus and queries, measure every index, print the table."""
    from bench.documents import embeddings
    from bench.pairs import load_retrieval_pair  # torch and faiss: not for `--help`
    from bench.retrieval.dense import INDEXES
    from bench.retrieval.index_choice import measure
    from daft import collections

    collection = collections.load(args.collection)
    pair = load_retrieval_pair(
        EncoderSpec(name="indexes", model=args.model, pair=args.pair, pooling=args.pooling)
    )
    _, docs, _ = embeddings.doc_embeddings(
        pair.doc, collection, max_length=VECTORS.doc_max_length, batch_size=VECTORS.batch_size
    )
    queries, _ = collection.split(args.split)
    vectors = pair.query.encode(list(queries.values()), max_length=VECTORS.query_max_length)
    table = Table(
        title=f"{collection.name}: {len(docs):,} documents, {len(vectors):,} {args.split} queries, "
        f"{docs.shape[1]}-d; recall@{args.depth} against flat"
    )
    for column in ("index", "build s", "search s", "ms/query", "size MB", f"recall@{args.depth}"):
        table.add_column(column, justify="left" if column == "index" else "right")
    for row in measure(docs, vectors, k=args.depth, kinds=INDEXES):
        table.add_row(
            row.kind,
            f"{row.build_s:.1f}",
            f"{row.search_s:.2f}",
            f"{1000 * row.search_s / max(1, len(vectors)):.3f}",
            f"{row.bytes / 1e6:.1f}",
            f"{row.recall:.4f}",
        )
    stdout.print(table)
    return 0
