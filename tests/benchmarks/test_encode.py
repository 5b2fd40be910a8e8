"""Tokenise + encode one query, per encoder type and backend: the hot path of a latency cell at batch 1.

The benchmarked call is `bench.timing.timed_call`, the very call the suite's timing loop makes (tokenize,
forward, fetch), pinned to one intra-op thread as the suites pin theirs; the medians of its phases are kept
in `extra_info` so that a saved run also says where the time went.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from bench.backends import Prepared, Target, prepare
from bench.timing import timed_call
from daft.models.build import build
from daft.models.encoders import Encoder

pytestmark = pytest.mark.benchmark(group="encode one query")

ASSETS_ENV = "DAFT_BENCH_ASSETS"
BACKENDS = ("torch", "onnxruntime")
# Words the tiny test tokenizer knows, so that the tiny encoders see real tokens rather than [UNK]s.
QUERY = "what is the capital of france"

# name -> spec, given the tiny model directory (tests/conftest.py).
ENCODER_SPECS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "tiny-bert": lambda model_dir: {"model": str(model_dir)},
    "tiny-static": lambda model_dir: {"type": "static", "model": str(model_dir)},
    "minilm-l6": lambda _: {"model": "minilm-l6"},
    "minilm-l6-static": lambda _: {"type": "static", "model": "minilm-l6"},
}
ASSET_ENCODERS = ("minilm-l6", "minilm-l6-static")

# The real assets are large and may need fetching first: opt in.
needs_assets_env = pytest.mark.skipif(
    os.environ.get(ASSETS_ENV) != "1",
    reason=f"real model assets: set {ASSETS_ENV}=1 (fetched into the daft cache on first use)",
)


def _encoder_params() -> list[Any]:
    return [
        pytest.param(name, marks=[pytest.mark.assets, needs_assets_env]) if name in ASSET_ENCODERS else name
        for name in ENCODER_SPECS
    ]


@pytest.fixture(scope="module")
def encoders(tiny_model_dir: Path) -> Callable[[str], Encoder]:
    """Builds each encoder once, on first use (so skipped asset encoders are never fetched)."""
    built: dict[str, Encoder] = {}

    def get(name: str) -> Encoder:
        if name not in built:
            built[name] = build(ENCODER_SPECS[name](tiny_model_dir))
        return built[name]

    return get


@pytest.fixture(scope="module")
def tiny_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private daft cache for the ONNX graphs of the tiny random encoders (never the user's cache)."""
    return tmp_path_factory.mktemp("daft-cache")


@contextmanager
def _cache_at(root: Path | None) -> Iterator[None]:
    """Point DAFT_CACHE at `root` while the backend is prepared (None: leave the user's cache)."""
    if root is None:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAFT_CACHE", str(root))
        yield


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each CPU backend in turn."""
    return request.param


@pytest.fixture(params=_encoder_params())
def prepared(
    request: pytest.FixtureRequest,
    backend: str,
    encoders: Callable[[str], Encoder],
    tiny_cache: Path,
    tmp_path: Path,
) -> Iterator[Prepared]:
    """The encoder made ready on `backend`, CPU fp32, one thread; closed (threads restored) afterwards."""
    name = request.param
    # The real assets' ONNX graphs go to the user's cache, where the suites reuse them; the tiny random
    # encoders' graphs go to a private one.
    with _cache_at(None if name in ASSET_ENCODERS else tiny_cache):
        ready = prepare(encoders(name), Target(backend, threads=1, max_length=32), workdir=tmp_path)
    with ready:
        yield ready


def test_encode_one_query(benchmark: BenchmarkFixture, prepared: Prepared) -> None:
    phases: list[tuple[int, int, int]] = []
    texts = [QUERY]

    def call() -> None:
        phases.append(timed_call(prepared, texts))

    benchmark(call)
    tokenize, forward, end_to_end = (statistics.median(p) for p in zip(*phases, strict=True))
    benchmark.extra_info.update(
        {
            "tokenize_median_ns": tokenize,
            "forward_median_ns": forward,
            "end_to_end_median_ns": end_to_end,
            "threads": 1,
            "cpu_count": os.cpu_count(),
        }
    )
    rows = prepared.fetch(prepared.forward(prepared.tokenize(texts)))
    assert rows.shape == (1, prepared.info["dim"])
