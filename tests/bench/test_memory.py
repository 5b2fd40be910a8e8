"""Tests for bench.memory: RSS peaks, the sampler thread's lifetime, CUDA peaks, parameter and disk sizes."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from bench.memory import CudaPeak, PeakRSS, cuda_peak, os_peak_rss, use
from bench.results import MemoryUse

MiB = 2**20


def _sampler_threads(rss: PeakRSS) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"PeakRSS-{id(rss):x}"]


def _touched(nbytes: int) -> np.ndarray:
    # np.ones writes every element, so every page is faulted in and counts towards RSS.
    return np.ones(nbytes // 8, dtype=np.float64)


# --- PeakRSS -----------------------------------------------------------------------------------------------


def test_peak_rss_sees_a_200_mb_allocation() -> None:
    with PeakRSS() as rss:
        block = _touched(200 * MiB)
    assert rss.baseline is not None and rss.peak is not None and rss.delta is not None
    assert rss.delta >= 150 * MiB
    assert rss.peak == rss.baseline + rss.delta
    assert rss.samples >= 2  # entry and exit readings at least
    del block


def test_peak_rss_sees_a_transient_peak_freed_inside_the_block() -> None:
    with PeakRSS() as rss:
        block = _touched(200 * MiB)
        time.sleep(0.05)  # alive long enough for a 1 ms sampler, even on a loaded machine
        del block
    assert rss.delta is not None and rss.delta >= 150 * MiB


def test_os_peak_is_an_upper_bound_of_the_sampled_peak() -> None:
    if os_peak_rss() is None:
        pytest.skip("no resource.getrusage on this platform")
    with PeakRSS() as rss:
        block = _touched(64 * MiB)
    del block
    assert rss.os_peak is not None and rss.peak is not None
    # ru_maxrss and the sampled RSS come from kernel counters that may lag each other by a few pages.
    assert rss.os_peak >= rss.peak - 1 * MiB
    assert isinstance(rss.os_peak_rose, bool)


def test_sampler_thread_stops_after_exit() -> None:
    rss = PeakRSS()
    with rss:
        assert rss.active
        assert len(_sampler_threads(rss)) == 1
        assert _sampler_threads(rss)[0].daemon
    assert not rss.active
    assert _sampler_threads(rss) == []


def test_sampler_thread_stops_after_an_exception_which_propagates() -> None:
    rss = PeakRSS()
    with pytest.raises(ValueError, match="boom"), rss:
        raise ValueError("boom")
    assert not rss.active
    assert _sampler_threads(rss) == []
    assert rss.peak is not None and rss.delta is not None and rss.delta >= 0


def test_peak_rss_can_be_reused_but_not_nested() -> None:
    rss = PeakRSS(interval_s=0.005)
    with rss:
        block = _touched(64 * MiB)
    del block
    assert rss.delta is not None and rss.delta >= 48 * MiB
    # A second block starts from fresh readings: the first block's peak does not leak into it.
    with rss, pytest.raises(RuntimeError, match="already running"), rss:
        pass
    assert rss.delta is not None and rss.delta < 48 * MiB
    assert not rss.active


def test_sampler_failure_is_reported_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    rss = PeakRSS()

    def broken() -> int:
        raise OSError("no /proc")

    with pytest.raises(RuntimeError, match="sampler failed"), rss:
        monkeypatch.setattr(rss, "_rss", broken)
        time.sleep(0.02)
        monkeypatch.undo()
    assert not rss.active


@pytest.mark.parametrize("interval", [0, -1.0])
def test_peak_rss_rejects_a_non_positive_interval(interval: float) -> None:
    with pytest.raises(ValueError):
        PeakRSS(interval_s=interval)


# --- cuda_peak ---------------------------------------------------------------------------------------------


def test_cuda_peak_is_a_no_op_reporting_none_without_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    # Forced off so that this runs (and means the same) on GPU machines too.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with cuda_peak() as peak:
        torch.ones(1000)
    assert isinstance(peak, CudaPeak)
    assert peak.device is None
    assert (peak.peak_allocated, peak.peak_reserved, peak.delta_allocated) == (None, None, None)


def test_cuda_peak_ignores_a_cpu_device() -> None:
    with cuda_peak("cpu") as peak:
        pass
    assert peak.peak_allocated is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_peak_sees_a_64_mb_tensor() -> None:
    device = torch.device("cuda", 0)
    with cuda_peak(device) as peak:
        block = torch.ones(64 * MiB // 4, dtype=torch.float32, device=device)
        del block
    assert peak.device == "cuda:0"
    assert peak.delta_allocated is not None and peak.delta_allocated >= 64 * MiB
    assert peak.peak_reserved is not None and peak.peak_allocated is not None
    assert peak.peak_reserved >= peak.peak_allocated


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_peak_resets_the_peak_at_entry() -> None:
    device = torch.device("cuda", 0)
    block = torch.ones(64 * MiB // 4, device=device)
    del block
    with cuda_peak(device) as peak:
        pass
    assert peak.delta_allocated is not None and peak.delta_allocated < 64 * MiB


# --- what a cell records -----------------------------------------------------------------------------------


def test_use_is_what_a_cell_records(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with PeakRSS() as rss, cuda_peak() as gpu:
        pass
    assert use(rss) == MemoryUse(rss_delta=rss.delta, rss_peak=rss.peak)
    on_device = use(rss, gpu)
    assert on_device.rss_peak == rss.peak and on_device.device is None and on_device.peak_allocated is None
