"""`python -m bench encode COLLECTION --model REF | --pair DIR`: cache the corpus embeddings a suite reads.

Plainly it encodes in one process; under `torchrun --nproc-per-node N -m bench encode ...` every process
encodes a contiguous slice of the corpus (its own GPU when there are GPUs) and rank 0 merges the slices into
the same cache entry. A retrieval suite over that collection and encoder then finds the vectors cached.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.cli.args import positive_int
from bench.documents.precision import PRECISIONS
from bench.retrieval.systems.vectors import VectorSettings
from bench.specs import EncoderSpec
from daft.core.errors import UserError
from daft.core.progress import console

if TYPE_CHECKING:
    from daft.collections.collection import Collection
    from daft.models.encoders import Encoder

DEFAULTS = VectorSettings()


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Register `encode`."""
    parser = commands.add_parser(
        "encode", help="encode a collection's corpus into the embeddings cache (shards under torchrun)"
    )
    parser.add_argument("collection", help="a collection name (wordnet, wordnet-small) or a BEIR/TREC folder")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--model", help="a model (asset, transformers, sentence-transformers or model2vec dir)"
    )
    source.add_argument("--pair", type=Path, help="an encoder pair: its document encoder is used")
    parser.add_argument("--pooling", default="mean", help="pooling of a plain transformers --model (mean)")
    parser.add_argument(
        "--max-length",
        type=int,
        default=DEFAULTS.doc_max_length,
        help=f"document tokens kept (the suite's doc_max_length; {DEFAULTS.doc_max_length})",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default=DEFAULTS.doc_precision,
        help=f"the document side's forward pass (the suite's doc_precision; {DEFAULTS.doc_precision})",
    )
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size, help="documents per batch")
    parser.add_argument("--device", default=None, help="cpu, cuda (each rank its own GPU); default: cpu")
    parser.add_argument(
        "--limit",
        type=positive_int,
        default=None,
        help="a speed check: encode the first N documents (sorted ids) after a warm-up, print docs/s, cache nothing",
    )
    parser.set_defaults(func=run_from_args)


def check_device(device: str | None) -> None:
    """A UserError unless `device` is cpu, or cuda[:N] with a CUDA device torch can see."""
    if device is None or device == "cpu":
        return
    if not re.fullmatch(r"cuda(:\d+)?", device):
        raise UserError(f"--device {device!r}: expected cpu, cuda or cuda:N")
    import torch

    if not torch.cuda.is_available():
        raise UserError(f"--device {device}: torch sees no CUDA device on this machine")


def _print_speed(
    encoder: Encoder, collection: Collection, args: argparse.Namespace, device: str | None
) -> None:
    from bench.documents.speed import encoding_speed

    run = {"precision": args.precision, "max_length": args.max_length, "batch_size": args.batch_size}
    speed = encoding_speed(encoder, collection, limit=args.limit, device=device, **run)
    console.print(
        f"{collection.name}: {speed.documents:,} documents at {args.precision} in {speed.seconds:.1f} s, "
        f"{speed.per_second:,.0f} docs/s (batch {args.batch_size}, max length {args.max_length}; "
        f"{speed.threads} torch threads; not cached)",
        highlight=False,
    )


def run_from_args(args: argparse.Namespace) -> int:
    """Encode (this rank's slice), merge on rank 0, print what was done."""
    import torch  # here, and the modules that run it: `--help` needs none of them

    from bench.documents.sharded import encode_sharded
    from bench.pairs import load_retrieval_pair
    from daft import collections
    from daft.core import distributed
    from daft.search import embeddings as daft_embeddings

    if args.max_length < 1 or args.batch_size < 1:
        raise UserError("--max-length and --batch-size must be positive")
    check_device(args.device)
    world = distributed.init()
    if args.limit is not None and world.size > 1:
        distributed.finish(world)
        raise UserError("--limit is a one-process speed check; run it without torchrun")
    try:
        # Rank 0 builds a built-in collection (or an asset) into the cache first; the others then read it.
        with distributed.main_first(world):
            collection = collections.load(args.collection)
            spec = EncoderSpec(name="encode", model=args.model, pair=args.pair, pooling=args.pooling)
            encoder = load_retrieval_pair(spec).doc
        device = args.device
        if device and device.startswith("cuda"):
            device = str(distributed.device(world, torch.device(device)))
        if args.limit is not None:
            _print_speed(encoder, collection, args, device)
            return 0
        started = time.perf_counter()
        result = encode_sharded(
            encoder,
            collection,
            world,
            max_length=args.max_length,
            batch_size=args.batch_size,
            device=device,
            label=collection.name,
            precision=args.precision,
        )
        seconds = time.perf_counter() - started
        if world.main:
            key = daft_embeddings.fingerprint(encoder, collection, args.max_length, args.precision)
            entry = daft_embeddings.entry_dir(key)
            rate = f", {result.documents / seconds:,.0f} docs/s" if result.status == "built" else ""
            console.print(
                f"{collection.name}: {result.documents:,} document embeddings {result.status} by "
                f"{world.size} process(es) at {args.precision} in {seconds:.1f} s{rate} -> {entry}",
                highlight=False,
            )
    finally:
        distributed.finish(world)
    return 0
