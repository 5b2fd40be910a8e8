"""Tests for bench.memory: RSS peaks, the sampler thread's lifetime, CUDA peaks, parameter and disk sizes."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.memory import CudaPeak, MemoryReport, PeakRSS, cuda_peak, disk_size, os_peak_rss, parameter_count

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


def test_peak_rss_to_dict_is_json_ready() -> None:
    with PeakRSS() as rss:
        pass
    d = json.loads(json.dumps(rss.to_dict()))
    assert set(d) >= {"baseline", "peak", "delta", "os_peak", "samples", "interval_s"}


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


# --- sizes and report --------------------------------------------------------------------------------------


def test_parameter_count_of_small_modules() -> None:
    linear = torch.nn.Linear(10, 5)
    assert parameter_count(linear) == 10 * 5 + 5
    assert parameter_count(torch.nn.Linear(10, 5, bias=False)) == 50
    # The same layer twice (tied weights) is counted once.
    assert parameter_count(torch.nn.Sequential(linear, torch.nn.ReLU(), linear)) == 55
    assert parameter_count(torch.nn.ReLU()) == 0


def test_disk_size_of_a_file_and_a_tree(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"x" * 1000)
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "b.bin").write_bytes(b"y" * 234)
    (tmp_path / "sub" / "deeper" / "c.bin").write_bytes(b"z" * 16)
    (tmp_path / "empty").mkdir()
    assert disk_size(tmp_path / "a.bin") == 1000
    assert disk_size(tmp_path / "sub") == 250
    assert disk_size(tmp_path) == 1250
    assert disk_size(str(tmp_path)) == 1250
    assert disk_size(tmp_path / "empty") == 0


@pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="needs POSIX symlinks")
def test_disk_size_follows_file_links_once_and_skips_dangling_ones(tmp_path: Path) -> None:
    blobs, snapshot = tmp_path / "blobs", tmp_path / "snapshot"
    blobs.mkdir()
    snapshot.mkdir()
    (blobs / "weights").write_bytes(b"w" * 500)
    (snapshot / "model.safetensors").symlink_to(blobs / "weights")
    (snapshot / "dangling").symlink_to(tmp_path / "missing")
    (snapshot / "loop").symlink_to(tmp_path)  # a directory link: not entered
    assert disk_size(snapshot) == 500
    assert disk_size(tmp_path) == 500  # the blob and the link to it are one file


def test_disk_size_of_a_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        disk_size(tmp_path / "nope")


def test_memory_report_gathers_parts_and_is_json_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with PeakRSS() as rss, cuda_peak() as gpu:
        pass
    report = MemoryReport.from_parts(rss=rss, cuda=gpu, parameters=55, disk_bytes=1250)
    d = json.loads(json.dumps(report.to_dict()))
    assert d["rss_peak"] == rss.peak and d["rss_delta"] == rss.delta and d["rss_baseline"] == rss.baseline
    assert d["cuda_peak_allocated"] is None and d["cuda_device"] is None
    assert (d["parameters"], d["disk_bytes"]) == (55, 1250)
    assert MemoryReport().to_dict() == dict.fromkeys(d)
