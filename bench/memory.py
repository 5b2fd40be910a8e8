"""Memory measurements for a benchmark: peak process RSS, peak CUDA memory, parameter count, size on disk.

Everything is reported in bytes. `PeakRSS` and `CudaPeak` are context managers around the code of interest;
`MemoryReport` gathers their readings (and the static sizes) into one JSON-ready record.

Measure memory in a separate pass from latency: the RSS sampler is a second thread that competes with the
timed code for a core and for the GIL, so a latency measured inside `PeakRSS` is a slightly perturbed one.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import psutil

if TYPE_CHECKING:
    import torch

__all__ = [
    "CudaPeak",
    "MemoryReport",
    "PeakRSS",
    "cuda_peak",
    "disk_size",
    "os_peak_rss",
    "parameter_count",
]

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

    def to_dict(self) -> dict[str, Any]:
        """The readings as a JSON-ready dict."""
        return {
            "baseline": self.baseline,
            "peak": self.peak,
            "delta": self.delta,
            "os_peak": self.os_peak,
            "os_peak_rose": self.os_peak_rose,
            "samples": self.samples,
            "interval_s": self.interval_s,
        }


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

    def to_dict(self) -> dict[str, Any]:
        """The readings as a JSON-ready dict."""
        return {
            "device": self.device,
            "baseline_allocated": self.baseline_allocated,
            "peak_allocated": self.peak_allocated,
            "peak_reserved": self.peak_reserved,
            "delta_allocated": self.delta_allocated,
        }


def cuda_peak(device: int | str | torch.device | None = None) -> CudaPeak:
    """Context manager measuring peak CUDA memory on `device` (default: current); reports None without CUDA."""
    return CudaPeak(device)


def parameter_count(module: torch.nn.Module) -> int:
    """Number of parameter elements in `module`; shared (tied) parameters are counted once."""
    return sum(p.numel() for p in module.parameters())


def disk_size(path: str | os.PathLike[str]) -> int:
    """Apparent size in bytes of a file, or of all files under a directory.

    Symlinks to files are followed (a Hugging Face snapshot is a tree of symlinks into a blob store) and
    every file is counted once however many links reach it; symlinked directories are not entered, which
    also rules out cycles. Raises FileNotFoundError when `path` does not exist.
    """
    root = Path(path)
    top = root.stat()  # follows a symlinked root on purpose; raises when missing
    if not stat.S_ISDIR(top.st_mode):
        return top.st_size
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, _dirnames, filenames in os.walk(root, onerror=_raise):
        for name in filenames:
            try:
                st = os.stat(os.path.join(dirpath, name))
            except FileNotFoundError:  # dangling symlink, or deleted while walking
                continue
            if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


def _raise(exc: OSError) -> None:
    raise exc


@dataclass(frozen=True)
class MemoryReport:
    """Memory figures of one benchmark case, in bytes; None where not measured or not applicable."""

    rss_baseline: int | None = None
    rss_peak: int | None = None
    rss_delta: int | None = None
    rss_os_peak: int | None = None
    cuda_device: str | None = None
    cuda_peak_allocated: int | None = None
    cuda_peak_reserved: int | None = None
    parameters: int | None = None
    disk_bytes: int | None = None

    @classmethod
    def from_parts(
        cls,
        rss: PeakRSS | None = None,
        cuda: CudaPeak | None = None,
        parameters: int | None = None,
        disk_bytes: int | None = None,
    ) -> MemoryReport:
        """Gather the readings of finished `PeakRSS` / `CudaPeak` blocks and the static sizes."""
        return cls(
            rss_baseline=rss.baseline if rss else None,
            rss_peak=rss.peak if rss else None,
            rss_delta=rss.delta if rss else None,
            rss_os_peak=rss.os_peak if rss else None,
            cuda_device=cuda.device if cuda else None,
            cuda_peak_allocated=cuda.peak_allocated if cuda else None,
            cuda_peak_reserved=cuda.peak_reserved if cuda else None,
            parameters=parameters,
            disk_bytes=disk_bytes,
        )

    def to_dict(self) -> dict[str, int | str | None]:
        """The report as a JSON-ready dict."""
        return asdict(self)
