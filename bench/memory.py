"""Memory measurements for a benchmark: peak process RSS and peak CUDA memory.

Everything is reported in bytes. `PeakRSS` and `CudaPeak` are context managers around the code of interest;
`use` gathers their readings into a cell's `bench.results.MemoryUse`.

Measure memory in a separate pass from latency: the RSS sampler is a second thread that competes with the
timed code for a core and for the GIL, so a latency measured inside `PeakRSS` is a slightly perturbed one.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING

import psutil

from bench.results import MemoryUse

if TYPE_CHECKING:
    import torch

__all__ = ["CudaPeak", "PeakRSS", "cuda_peak", "os_peak_rss", "use"]

DEFAULT_INTERVAL_S = 0.001


def os_peak_rss() -> int | None:
    """The OS's lifetime high-water mark of this process's RSS in bytes, or None where it is unavailable."""
    try:
        import resource
    except ImportError:  # Windows has no resource module
        return None
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in bytes on macOS and in KiB on Linux and the BSDs.
    return int(maxrss) if sys.platform == "darwin" else int(maxrss) * 1024


class PeakRSS:
    """Peak resident set size of this process while the block runs, sampled by a daemon thread.

    ``baseline`` is the RSS at entry, ``peak`` the largest RSS seen (the entry and exit readings included)
    and ``delta = peak - baseline``. ``os_peak`` is the OS high-water mark (``ru_maxrss``) read at exit: it
    covers the whole process lifetime, so it is only an upper bound of the true peak inside the block and a
    lower-bound check on ``peak`` (``peak <= os_peak`` up to counter granularity). When ``os_peak_rose`` is
    True the block set a new lifetime record, and ``os_peak`` *is* the block's exact peak.

    Sampling interval trade-off: a peak that lasts less than ``interval_s`` can fall between two samples
    and be missed, so shorter is more faithful; but each sample costs a few microseconds of CPU and a GIL
    hand-off, taken from the measured code. 1 ms (the default) costs well under 1% of a core and catches
    anything that lives for a few milliseconds. A C extension that holds the GIL (some numpy and torch
    calls) also holds off the sampler until it returns, so a short transient inside one such call can be
    missed at any interval; ``os_peak`` bounds what was missed.
    """

    def __init__(self, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be positive, got {interval_s!r}")
        self.interval_s = interval_s
        self.baseline: int | None = None
        self.peak: int | None = None
        self.os_peak: int | None = None
        self.os_peak_rose: bool | None = None
        self.samples = 0
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._os_peak_at_entry: int | None = None
        self._error: BaseException | None = None

    @property
    def delta(self) -> int | None:
        """Peak minus baseline in bytes; None before the block has run."""
        if self.peak is None or self.baseline is None:
            return None
        return self.peak - self.baseline

    @property
    def active(self) -> bool:
        """True while the sampler thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def _rss(self) -> int:
        return int(self._process.memory_info().rss)

    def _observe(self, rss: int) -> None:
        self.samples += 1
        if self.peak is None or rss > self.peak:
            self.peak = rss

    def _sample(self) -> None:
        try:
            # Event.wait releases the GIL while sleeping, so an idle sampler costs the measured code nothing.
            while not self._stop.wait(self.interval_s):
                self._observe(self._rss())
        except BaseException as exc:  # recorded and raised in the owner's thread at exit
            self._error = exc

    def __enter__(self) -> PeakRSS:
        if self.active:
            raise RuntimeError("PeakRSS is already running; use one instance per block")
        self.peak = None
        self.samples = 0
        self.os_peak = None
        self.os_peak_rose = None
        self._error = None
        self._stop.clear()
        self._os_peak_at_entry = os_peak_rss()
        self.baseline = self._rss()
        self._observe(self.baseline)
        self._thread = threading.Thread(target=self._sample, name=f"PeakRSS-{id(self):x}", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join()
        self._observe(self._rss())
        self.os_peak = os_peak_rss()
        if self.os_peak is not None and self._os_peak_at_entry is not None:
            self.os_peak_rose = self.os_peak > self._os_peak_at_entry
        # A dead sampler means the peak is an underestimate; say so unless an exception is already on its way.
        if self._error is not None and exc is None:
            raise RuntimeError("PeakRSS sampler failed; the peak is incomplete") from self._error


class CudaPeak:
    """Peak CUDA memory of the caching allocator on one device while the block runs; None without CUDA.

    At entry the allocator's peak counters are reset (to the memory held at that moment, so the peak
    includes tensors that already exist, such as the model's weights); at exit ``peak_allocated`` is
    ``torch.cuda.max_memory_allocated`` (bytes in live tensors) and ``peak_reserved`` is
    ``torch.cuda.max_memory_reserved`` (bytes the allocator took from the driver, which is what other
    processes lose). Memory outside the allocator (CUDA context, cuBLAS workspaces, NCCL) is not counted.
    """

    def __init__(self, device: int | str | torch.device | None = None) -> None:
        self._requested = device
        self.device: str | None = None
        self.baseline_allocated: int | None = None
        self.peak_allocated: int | None = None
        self.peak_reserved: int | None = None

    @property
    def delta_allocated(self) -> int | None:
        """Peak allocated minus allocated at entry; None without CUDA."""
        if self.peak_allocated is None or self.baseline_allocated is None:
            return None
        return self.peak_allocated - self.baseline_allocated

    def _cuda_device(self) -> torch.device | None:
        try:
            import torch
        except ImportError:
            return None
        if not torch.cuda.is_available():
            return None
        if self._requested is None:
            return torch.device("cuda", torch.cuda.current_device())
        device = torch.device(self._requested)
        if device.type != "cuda":
            return None
        return device if device.index is not None else torch.device("cuda", torch.cuda.current_device())

    def __enter__(self) -> CudaPeak:
        self.baseline_allocated = self.peak_allocated = self.peak_reserved = None
        device = self._cuda_device()
        self.device = None if device is None else str(device)
        if device is not None:
            import torch

            # The allocator's counters are updated on the host when a kernel's memory is requested, so no
            # synchronize is needed for them to be complete. Before CUDA's lazy initialisation the allocator
            # has no per-device state and resetting it fails ("Invalid device argument").
            torch.cuda.init()
            torch.cuda.reset_peak_memory_stats(device)
            self.baseline_allocated = int(torch.cuda.memory_allocated(device))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.device is None:
            return
        import torch

        self.peak_allocated = int(torch.cuda.max_memory_allocated(self.device))
        self.peak_reserved = int(torch.cuda.max_memory_reserved(self.device))


def cuda_peak(device: int | str | torch.device | None = None) -> CudaPeak:
    """Context manager measuring peak CUDA memory on `device` (default: current); reports None without CUDA."""
    return CudaPeak(device)


def use(rss: PeakRSS, cuda: CudaPeak | None = None) -> MemoryUse:
    """The readings of a finished memory pass as a cell records them (`cuda`: None on the host)."""
    if cuda is None:
        return MemoryUse(rss_delta=rss.delta, rss_peak=rss.peak)
    return MemoryUse(
        rss_delta=rss.delta,
        rss_peak=rss.peak,
        device=cuda.device,
        baseline_allocated=cuda.baseline_allocated,
        peak_allocated=cuda.peak_allocated,
        peak_reserved=cuda.peak_reserved,
        delta_allocated=cuda.delta_allocated,
    )
