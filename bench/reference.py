"""The reference workload: a fixed CPU job timed in every run so that latencies can be compared across machines.

Why this workload: the query encoders are CPU-bound transformer forward passes whose time is dominated by
dense fp32 matrix multiplies (GEMM) of a few hundred rows and columns, run by the same torch/MKL/oneDNN
kernels. A chain of 256x256 fp32 matrix multiplies exercises exactly that path, with a fixed size and no
data-dependent control flow, so its time reflects the machine (core speed, SIMD width, cache, thread
runtime) and the torch build rather than the data. Its operands (3 x 256 KiB) fit in L2 on current
server CPUs, so memory bandwidth plays a small part; a machine whose encoder latency is bandwidth-bound
will normalise less well.

How it is used: every report records `measure_reference()` on one thread (`bench.environment`), whatever
thread counts its cells ran on. Dividing a cell's latencies by that median gives a machine-normalised unit
("reference units"); two runs on one machine in a different state (frequency, neighbours, library versions)
are compared in those units (`bench.compare` divides each sample by its own report's reference). Across
machines (another CPU model or instruction set) the gate shows them but does not judge: on an AVX2 and an
AVX-512 EPYC the cells' ratios in these units spread from 0.6 to 1.6, as tokenisers, small kernels and
caches do not scale with one GEMM. The workload must never change silently: any change to shapes, chain
length, dtype or data bumps `VERSION`, and units from different versions are not comparable.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = [
    "CHAIN",
    "NAME",
    "SIZE",
    "VERSION",
    "measure_reference",
]

NAME = "matmul_chain_256_fp32"
VERSION = 1
SIZE = 256
CHAIN = 4
SEED = 0
MIN_SAMPLES = 5
WARMUP_S = 0.05
DESCRIPTION = (
    f"{CHAIN} chained {SIZE}x{SIZE} @ {SIZE}x{SIZE} fp32 torch.mm on CPU into preallocated outputs, "
    f"operands from torch.randn with seed {SEED}, the weight scaled by 1/sqrt({SIZE}); one sample = one chain"
)


def _operands() -> tuple[Any, Any, Any, Any]:
    """Input, weight and two output buffers, identical in every run."""
    import torch

    gen = torch.Generator().manual_seed(SEED)
    x = torch.randn(SIZE, SIZE, generator=gen, dtype=torch.float32)
    # Scaling by 1/sqrt(n) keeps the chain's values near unit size: no overflow to inf and no denormals,
    # either of which would make a multiply far slower than the same multiply on normal numbers.
    w = torch.randn(SIZE, SIZE, generator=gen, dtype=torch.float32) / SIZE**0.5
    return x, w, torch.empty(SIZE, SIZE), torch.empty(SIZE, SIZE)


def _chain(mm: Callable[..., Any], x: Any, w: Any, a: Any, b: Any) -> None:
    """One sample: CHAIN multiplies, ping-ponging between two buffers so that nothing is allocated."""
    src = x
    for i in range(CHAIN):
        dst = a if i % 2 == 0 else b
        mm(src, w, out=dst)
        src = dst


def measure_reference(budget_s: float = 0.3, threads: int | None = 1) -> dict[str, Any]:
    """Time the reference workload with `threads` torch threads (None: as currently set) for about `budget_s`.

    A short warm-up (thread pool start, kernel selection, caches) precedes ``budget_s`` of back-to-back
    samples timed with ``time.perf_counter_ns``; at least `MIN_SAMPLES` are taken however small the budget.
    torch's intra-op thread count is restored afterwards, also on error.
    """
    import torch

    if not budget_s > 0:
        raise ValueError(f"budget_s must be positive, got {budget_s!r}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1 or None, got {threads!r}")
    previous = torch.get_num_threads()
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        used = torch.get_num_threads()
        # torch.mm passed in, not looked up per call, so the timed loop does no imports or lookups.
        operands = (torch.mm, *_operands())
        with torch.inference_mode():
            warmup_end = time.perf_counter() + min(WARMUP_S, budget_s)
            _chain(*operands)
            while time.perf_counter() < warmup_end:
                _chain(*operands)
            samples: list[int] = []
            deadline = time.perf_counter_ns() + int(budget_s * 1e9)
            while len(samples) < MIN_SAMPLES or time.perf_counter_ns() < deadline:
                start = time.perf_counter_ns()
                _chain(*operands)
                samples.append(time.perf_counter_ns() - start)
    finally:
        torch.set_num_threads(previous)
    median = statistics.median(samples)
    return {
        "name": NAME,
        "version": VERSION,
        "description": DESCRIPTION,
        "threads": used,
        "median_ns": float(median),
        "min_ns": float(min(samples)),
        "samples": len(samples),
        "budget_s": budget_s,
        # 2 n^3 floating-point operations per multiply, so flop / median_ns is GFLOP/s.
        "flop": 2 * SIZE**3 * CHAIN,
        "torch": torch.__version__,
    }
