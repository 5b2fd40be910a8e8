"""Tests for bench.reference: the result's shape, the sample floor, and torch's thread count being restored."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import torch

from bench import reference
from bench.reference import measure_reference


@pytest.fixture
def threads_restored() -> Iterator[int]:
    """Run the test at 2 threads and put the session's thread count back afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield 2
    torch.set_num_threads(before)


def test_tiny_budget_gives_positive_median_and_samples() -> None:
    result = measure_reference(budget_s=0.001)
    assert result["median_ns"] > 0
    assert result["min_ns"] > 0 and result["min_ns"] <= result["median_ns"]
    assert result["samples"] >= reference.MIN_SAMPLES
    assert result["threads"] == 1
    assert result["name"] == reference.NAME and result["version"] == reference.VERSION
    assert result["description"] and result["flop"] == 2 * 256**3 * reference.CHAIN
    json.dumps(result, allow_nan=False)


def test_thread_count_is_restored(threads_restored: int) -> None:
    result = measure_reference(budget_s=0.001, threads=1)
    assert result["threads"] == 1
    assert torch.get_num_threads() == threads_restored


def test_none_uses_the_current_thread_count(threads_restored: int) -> None:
    assert measure_reference(budget_s=0.001, threads=None)["threads"] == threads_restored
    assert torch.get_num_threads() == threads_restored


def test_thread_count_is_restored_after_an_error(
    threads_restored: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("kernel failed")

    monkeypatch.setattr(reference, "_chain", broken)
    with pytest.raises(RuntimeError, match="kernel failed"):
        measure_reference(budget_s=0.001, threads=1)
    assert torch.get_num_threads() == threads_restored


def test_operands_are_deterministic_and_free_of_denormals() -> None:
    x1, w1, _, _ = reference._operands()
    x2, w2, a, b = reference._operands()
    assert torch.equal(x1, x2) and torch.equal(w1, w2)
    reference._chain(torch.mm, x1, w1, a, b)
    out = b if reference.CHAIN % 2 == 0 else a
    tiny = torch.finfo(torch.float32).tiny
    assert torch.isfinite(out).all()
    assert not ((out != 0) & (out.abs() < tiny)).any()


@pytest.mark.parametrize(("budget", "threads"), [(0, 1), (-1.0, 1), (0.01, 0)])
def test_invalid_arguments_are_rejected(budget: float, threads: int) -> None:
    with pytest.raises(ValueError):
        measure_reference(budget_s=budget, threads=threads)
