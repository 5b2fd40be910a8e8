"""The environment fingerprint: what machine and software a report's timings come from.

`fingerprint` gathers a JSON-ready description of the CPU, memory, OS, Python, the packages that do the
work, torch's threading, CUDA, the git state of this code and the assets used. `fingerprint_digest` hashes
the parts that decide whether two timings are comparable, `differences` says in words how two fingerprints
differ (`machine_differences`: those that make them two machines), and `noise_warnings` lists the conditions that make timings on this machine noisy right now.

Nothing here raises on a missing file, package or tool: what cannot be read is None, and where the cause
is useful a sibling ``*_reason`` field says why.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import psutil

from bench import reference
from bench.results import Harness
from bench.specs import EncoderSpec
from bench.stats import Stats
from bench.timing import calibrate_overhead
from daft.models.tokenization import thread_settings
from daft.store.assets import ASSETS

__all__ = [
    "DIGEST_FIELDS",
    "MACHINE_FIELDS",
    "SCHEMA_VERSION",
    "VOLATILE_FIELDS",
    "differences",
    "environment_section",
    "fingerprint",
    "fingerprint_digest",
    "machine_differences",
    "noise_warnings",
]

SCHEMA_VERSION = 1

# Dotted paths that say which machine a timing comes from: the CPU (its name, and the instruction set that
# picks torch's and onnxruntime's kernels: two "AMD EPYC" with and without AVX-512 run different code) and
# the GPUs. Timings from two machines are not comparable: a reference workload (one GEMM) cannot undo
# kernels, tokenisers and caches that scale differently from it.
MACHINE_FIELDS: tuple[str, ...] = (
    "cpu.vendor",
    "cpu.model",
    "cpu.flags",
    "torch.cpu_capability",
    "cuda.devices",
)

# Dotted paths into a fingerprint that decide whether two timings are comparable as they are: the machine,
# then its state and software (comparable in reference units when only these differ).
DIGEST_FIELDS: tuple[str, ...] = (
    *MACHINE_FIELDS,
    "cpu.physical_cores",
    "cpu.logical_cores",
    "cpu.usable_cores",
    "cpu.governor",
    "packages.torch",
    "packages.onnxruntime",
)

# Fields that change from run to run on the same machine; `differences` skips them by default.
VOLATILE_FIELDS: tuple[str, ...] = ("cpu.frequency_mhz.current",)

# Distributions to report, by the name used in reports; the first installed candidate wins.
_PACKAGES: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "transformers": ("transformers",),
    "tokenizers": ("tokenizers",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu", "onnxruntime-openvino", "onnxruntime-directml"),
    "faiss": ("faiss-cpu", "faiss-gpu", "faiss-gpu-cu12", "faiss-gpu-cu11", "faiss"),
    "numpy": ("numpy",),
    "ir_measures": ("ir-measures",),
    "pyserini": ("pyserini",),
}

# CPU flags that decide which ML kernels run: SIMD and matrix units, FMA, half-precision conversion and
# dot products. Kept per architecture because names clash ("sme" is Arm's matrix extension but AMD's
# Secure Memory Encryption on x86).
_X86_FLAGS = frozenset({"sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c"})
_X86_PREFIXES = ("avx512", "avx_", "amx")
_ARM_FLAGS = frozenset(
    {"neon", "asimd", "asimdhp", "asimddp", "asimdfhm", "asimdrdm", "fphp", "i8mm", "bf16"}
)
_ARM_PREFIXES = ("sve", "sme")

# Variables that change thread counts, thread placement, kernel selection or the devices torch sees.
_RUNTIME_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OMP_PROC_BIND",
    "OMP_PLACES",
    "KMP_AFFINITY",
    "KMP_BLOCKTIME",
    "GOMP_SPINCOUNT",
    "ATEN_CPU_CAPABILITY",
    "CUDA_VISIBLE_DEVICES",
)

_CI_VARS = {
    "GITHUB_ACTIONS": "GitHub Actions",
    "GITLAB_CI": "GitLab CI",
    "BUILDKITE": "Buildkite",
    "CIRCLECI": "CircleCI",
    "TRAVIS": "Travis CI",
    "JENKINS_URL": "Jenkins",
    "TF_BUILD": "Azure Pipelines",
    "TEAMCITY_VERSION": "TeamCity",
    "CI": "CI",
}

_GOVERNOR_PATH = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
_GIT_TIMEOUT_S = 2.0


# --- fingerprint ---------------------------------------------------------------------------------------------


def fingerprint(assets: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A JSON-ready description of this machine and software; `assets` maps asset name -> sha256."""
    dists = {name: _dist_version(candidates) for name, candidates in _PACKAGES.items()}
    return {
        "schema": SCHEMA_VERSION,
        "cpu": _cpu(),
        "memory": {"total_bytes": int(psutil.virtual_memory().total)},
        "os": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "platform": platform.platform(),
        },
        "host": {"hostname_sha256": _short_hash(socket.gethostname())},
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
        },
        "packages": {name: version for name, (_, version) in dists.items()},
        # Which distribution provides a package matters where builds differ (onnxruntime vs onnxruntime-gpu).
        "package_dists": {name: dist for name, (dist, _) in dists.items()},
        "onnxruntime": _onnxruntime(),
        "torch": _torch(),
        "cuda": _cuda(),
        # The tokenizers library parallelises batches with rayon; these settings change batch timings.
        "tokenizers": thread_settings(),
        "git": _code_state(Path(__file__).resolve().parent),
        "ci": _ci_name(),
        "assets": dict(sorted((assets or {}).items())),
    }


def _short_hash(text: str, length: int = 16) -> str:
    # A plain hash tells machines apart in reports without printing their names; it is not anonymisation
    # (a guessed hostname can be checked against it).
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _read_text(path: Path) -> tuple[str | None, str | None]:
    """(content stripped, None) or (None, reason)."""
    try:
        return path.read_text().strip(), None
    except OSError as exc:
        return None, f"{path}: {exc.strerror or exc}"


def _parse_cpuinfo(text: str) -> dict[str, Any]:
    """Model, vendor, ML-relevant flags and the hypervisor bit from the first processor of /proc/cpuinfo."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            # setdefault keeps the first processor's values; later blocks repeat them.
            fields.setdefault(key.strip().lower(), value.strip())
    model = fields.get("model name") or fields.get("cpu model") or fields.get("hardware")
    if not model and "cpu implementer" in fields:
        # Arm server kernels often give no model name: the implementer/part pair identifies the core.
        model = f"Arm implementer {fields['cpu implementer']} part {fields.get('cpu part', '?')}"
    # x86 kernels list "flags", Arm kernels list "Features".
    arm = "flags" not in fields and "features" in fields
    raw_flags = (fields.get("features") if arm else fields.get("flags", "")).split()
    exact, prefixes = (_ARM_FLAGS, _ARM_PREFIXES) if arm else (_X86_FLAGS, _X86_PREFIXES)
    return {
        "model": model or None,
        "vendor": fields.get("vendor_id") or fields.get("cpu implementer"),
        "flags": sorted({f for f in raw_flags if f in exact or f.startswith(prefixes)}),
        "virtualised": "hypervisor" in raw_flags,
    }


def _cpu() -> dict[str, Any]:
    info: dict[str, Any] = {"model": None, "vendor": None, "flags": None, "virtualised": None}
    cpuinfo, _ = _read_text(Path("/proc/cpuinfo"))
    if cpuinfo:
        info.update(_parse_cpuinfo(cpuinfo))
    if not info["model"]:
        info["model"] = _darwin_brand() or platform.processor() or None
    governor, governor_reason = _read_text(_GOVERNOR_PATH)
    usable: int | None
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        usable = psutil.cpu_count(logical=True)
    quota, quota_reason = _cgroup_cpu_quota()
    freq, freq_reason = _frequency()
    return {
        **info,
        "physical_cores": psutil.cpu_count(logical=False),
        "logical_cores": psutil.cpu_count(logical=True),
        "usable_cores": usable,
        "cgroup_cpu_quota": quota,
        "cgroup_cpu_quota_reason": quota_reason,
        "governor": governor or None,
        "governor_reason": governor_reason,
        "frequency_mhz": freq,
        "frequency_reason": freq_reason,
    }


def _darwin_brand() -> str | None:
    if sys.platform != "darwin":
        return None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=2
        )
        return out.stdout.strip() or None
    return None


def _frequency() -> tuple[dict[str, float | None] | None, str | None]:
    try:
        freq = psutil.cpu_freq()
    except (OSError, NotImplementedError, AttributeError) as exc:
        return None, f"psutil.cpu_freq failed: {exc}"
    if freq is None:
        return None, "psutil.cpu_freq unavailable on this platform"
    # psutil reports 0.0 for a bound it cannot read (e.g. no cpufreq driver in a virtual machine).
    values = {k: (round(float(v), 1) if v else None) for k, v in freq._asdict().items()}
    missing = [k for k, v in values.items() if v is None]
    reason = f"not readable: {', '.join(missing)} (no cpufreq driver?)" if missing else None
    return values, reason


def _cgroup_cpu_quota() -> tuple[float | None, str | None]:
    """CPU quota of this container in cores (cgroup v2 cpu.max or v1 cfs quota); None when unlimited."""
    text, _ = _read_text(Path("/sys/fs/cgroup/cpu.max"))
    if text:
        quota, _, period = text.partition(" ")
        if quota == "max":
            return None, "unlimited"
        with contextlib.suppress(ValueError, ZeroDivisionError):
            return int(quota) / int(period or 100000), None
    for base in (Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup/cpu,cpuacct")):
        quota_text, _ = _read_text(base / "cpu.cfs_quota_us")
        period_text, _ = _read_text(base / "cpu.cfs_period_us")
        if quota_text is None or period_text is None:
            continue
        with contextlib.suppress(ValueError, ZeroDivisionError):
            quota_us = int(quota_text)
            return (None, "unlimited") if quota_us < 0 else (quota_us / int(period_text), None)
    return None, "no cgroup cpu controller found"


def _dist_version(candidates: Iterable[str]) -> tuple[str | None, str | None]:
    """(distribution, version) of the first installed candidate, from metadata only (nothing imported)."""
    for dist in candidates:
        try:
            return dist, importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None, None


def _onnxruntime() -> dict[str, Any]:
    try:
        import onnxruntime
    except Exception as exc:  # ImportError, or a broken native library
        return {"providers": None, "reason": f"import failed: {exc}"}
    return {"providers": list(onnxruntime.get_available_providers()), "reason": None}


def _parallel_summary(text: str) -> dict[str, Any]:
    """The facts that matter from ``torch.__config__.parallel_info()``."""

    def find(pattern: str) -> str | None:
        match = re.search(pattern, text, flags=re.MULTILINE)
        return match.group(1).strip() if match else None

    return {
        "backend": find(r"^ATen parallel backend:\s*(.+)$"),
        "openmp": find(r"^OpenMP (\d+)"),
        "mkl": find(r"Math Kernel Library Version (\d[\d.]*)"),
        "mkldnn": find(r"(?:MKL-DNN|oneDNN) v(\d[\d.]*)"),
        "omp_max_threads": _int_or_none(find(r"omp_get_max_threads\(\)\s*:\s*(\d+)")),
        "mkl_max_threads": _int_or_none(find(r"mkl_get_max_threads\(\)\s*:\s*(\d+)")),
    }


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text is not None else None


def _torch() -> dict[str, Any]:
    env = {name: os.environ[name] for name in _RUNTIME_ENV if name in os.environ}
    try:
        import torch
    except Exception as exc:
        return {"available": False, "reason": f"import failed: {exc}", "env": env}
    return {
        "available": True,
        "num_threads": torch.get_num_threads(),
        "num_interop_threads": torch.get_num_interop_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkl_available": torch.backends.mkl.is_available(),
        "mkldnn_available": torch.backends.mkldnn.is_available(),
        "openmp_available": torch.backends.openmp.is_available(),
        "parallel": _parallel_summary(torch.__config__.parallel_info()),
        "env": env,
    }


def _cuda() -> dict[str, Any]:
    """CUDA devices and versions through torch. Initialises CUDA in this process when a GPU is present."""
    out: dict[str, Any] = {
        "available": False,
        "devices": [],
        "runtime_version": None,
        "driver_api_version": None,
        "driver_version": None,
        "cudnn_version": None,
        "hip_version": None,
        "reason": None,
    }
    try:
        import torch
    except Exception as exc:
        out["reason"] = f"torch import failed: {exc}"
        return out
    # The runtime torch was built against; None on a CPU-only build.
    out["runtime_version"] = torch.version.cuda
    out["hip_version"] = getattr(torch.version, "hip", None)
    if not torch.cuda.is_available():
        out["reason"] = "torch.cuda.is_available() is False" + (
            "" if torch.version.cuda else " (CPU-only torch build)"
        )
        return out
    out["available"] = True
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        out["devices"].append(
            {
                "name": props.name,
                "capability": f"{props.major}.{props.minor}",
                "total_memory_bytes": int(props.total_memory),
                "multiprocessors": int(props.multi_processor_count),
            }
        )
    with contextlib.suppress(Exception):
        out["cudnn_version"] = torch.backends.cudnn.version()
    out["driver_api_version"] = _cuda_driver_api_version()
    out["driver_version"] = _nvidia_driver_version()
    return out


def _cuda_driver_api_version() -> str | None:
    """The CUDA version the installed driver supports (cuDriverGetVersion), e.g. "12.4"."""
    import ctypes

    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        version = ctypes.c_int()
        if lib.cuDriverGetVersion(ctypes.byref(version)) == 0:
            return f"{version.value // 1000}.{version.value % 1000 // 10}"
    return None


def _nvidia_driver_version() -> str | None:
    """The NVIDIA kernel driver release (e.g. "550.54.15"); torch does not expose it, nvidia-smi does."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.splitlines()[0].strip()
    return None


COMMIT_VARIABLE = "DAFT_BENCH_COMMIT"


def _code_state(path: Path) -> dict[str, Any]:
    """`_git_state`, or the commit named by $DAFT_BENCH_COMMIT where the code is a copy without .git."""
    # Device machines get the working tree without its .git: the script that ships it names the commit.
    state = _git_state(path)
    if state["commit"] is None and (named := os.environ.get(COMMIT_VARIABLE)):
        state |= {"commit": named, "source": COMMIT_VARIABLE}
    return state


def _git_state(path: Path) -> dict[str, Any]:
    """Commit and dirty flag of the git work tree containing `path`; None values with a reason otherwise."""
    # GIT_OPTIONAL_LOCKS=0 keeps `git status` from refreshing the index, so reading the state never writes
    # to .git or contends for index.lock with a git command running at the same time.
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(path), *args], capture_output=True, text=True, timeout=_GIT_TIMEOUT_S, env=env
        )

    state: dict[str, Any] = {"commit": None, "dirty": None, "reason": None}
    try:
        top = git("rev-parse", "--show-toplevel")
        if top.returncode != 0:
            state["reason"] = top.stderr.strip().splitlines()[0] if top.stderr.strip() else "not a git repo"
            return state
        head = git("rev-parse", "--verify", "--quiet", "HEAD")
        if head.returncode == 0:
            state["commit"] = head.stdout.strip()
        else:
            state["reason"] = "repository has no commits"
        # Untracked files count: a new module that is not yet committed changes what runs.
        status = git("status", "--porcelain")
        if status.returncode == 0:
            state["dirty"] = bool(status.stdout.strip())
    except FileNotFoundError:
        state["reason"] = "git not installed"
    except subprocess.TimeoutExpired:
        state["reason"] = f"git timed out after {_GIT_TIMEOUT_S} s"
    except OSError as exc:
        state["reason"] = f"git failed: {exc}"
    return state


def _ci_name() -> str | None:
    for var, name in _CI_VARS.items():
        value = os.environ.get(var, "")
        if value and value.lower() not in ("0", "false", "no"):
            return name
    return None


# --- comparing fingerprints ----------------------------------------------------------------------------------


def _get(fp: Mapping[str, Any], dotted: str) -> Any:
    node: Any = fp
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _digest_view(fp: Mapping[str, Any]) -> dict[str, Any]:
    view = {name: _get(fp, name) for name in DIGEST_FIELDS}
    devices = view["cuda.devices"] or []
    # The device model decides GPU timings; its free-form fields (memory, SM count) follow from the model.
    view["cuda.devices"] = [d.get("name") if isinstance(d, Mapping) else d for d in devices]
    return view


def fingerprint_digest(fp: Mapping[str, Any]) -> str:
    """Short hash of the fields that decide whether timings are comparable (see `DIGEST_FIELDS`)."""
    canonical = json.dumps(_digest_view(fp), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _flatten(node: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(node, Mapping):
        for key, value in node.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(node, list | tuple) and any(isinstance(v, Mapping) for v in node):
        out[f"{prefix}.count"] = len(node)
        for i, value in enumerate(node):
            _flatten(value, f"{prefix}[{i}]", out)
    else:
        out[prefix] = list(node) if isinstance(node, tuple) else node


def differences(
    a: Mapping[str, Any], b: Mapping[str, Any], ignore: Iterable[str] = VOLATILE_FIELDS
) -> list[str]:
    """Human-readable differences from fingerprint `a` to `b`, one line per field, digest fields first."""
    skip = set(ignore)
    flat_a: dict[str, Any] = {}
    flat_b: dict[str, Any] = {}
    _flatten(a, "", flat_a)
    _flatten(b, "", flat_b)
    missing = object()
    lines: list[tuple[bool, str, str]] = []
    for key in sorted(flat_a.keys() | flat_b.keys()):
        if key in skip:
            continue
        old, new = flat_a.get(key, missing), flat_b.get(key, missing)
        if old == new:
            continue
        important = _under(key, DIGEST_FIELDS)
        if old is missing:
            text = f"{key}: only in b ({new!r})"
        elif new is missing:
            text = f"{key}: only in a ({old!r})"
        elif _is_str_list(old) and _is_str_list(new):
            added, removed = sorted(set(new) - set(old)), sorted(set(old) - set(new))
            parts = [f"+{x}" for x in added] + [f"-{x}" for x in removed]
            text = f"{key}: {' '.join(parts) if parts else f'{old!r} -> {new!r}'}"
        else:
            text = f"{key}: {old!r} -> {new!r}"
        lines.append((not important, key, text))
    return [text for _, _, text in sorted(lines)]


def machine_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """The lines of `differences(a, b)` that make `a` and `b` two machines (`MACHINE_FIELDS`); empty when
    both come from the same kind of machine."""
    view_a, view_b = _digest_view(a), _digest_view(b)
    changed = [name for name in MACHINE_FIELDS if view_a[name] != view_b[name]]
    return [line for line in differences(a, b) if _under(line.partition(":")[0], changed)]


def _under(key: str, names: Iterable[str]) -> bool:
    """Whether flattened `key` is one of the dotted `names` or inside one."""
    return any(key == name or key.startswith((name + ".", name + "[")) for name in names)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


# --- noise ---------------------------------------------------------------------------------------------------


def _other_load(interval_s: float) -> tuple[float, float]:
    """(cores busy with other processes, steal fraction) over `interval_s`, measured system-wide minus us.

    System-wide busy time comes from psutil.cpu_times() (/proc/stat) before and after a sleep; this
    process's own CPU time over the same window (its worker threads may still be spinning, e.g. OpenMP
    after a torch call) is subtracted, leaving what everything else used: other processes, kernel threads
    and, where /proc/stat is host-wide, other containers. Summing psutil.Process.cpu_percent over
    process_iter() would instead scale with the number of processes, miss processes that start or exit in
    the window and need permissions to see other users' processes.
    """
    me = psutil.Process()
    wall_before, sys_before, me_before = time.perf_counter(), psutil.cpu_times(), me.cpu_times()
    time.sleep(interval_s)
    wall_after, sys_after, me_after = time.perf_counter(), psutil.cpu_times(), me.cpu_times()

    def total(t: Any) -> float:
        return sum(t._asdict().values()) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)

    def idle(t: Any) -> float:
        return t.idle + getattr(t, "iowait", 0.0)

    elapsed_all = total(sys_after) - total(sys_before)
    if elapsed_all <= 0:
        return 0.0, 0.0
    busy_all = elapsed_all - (idle(sys_after) - idle(sys_before))
    ours = (me_after.user + me_after.system) - (me_before.user + me_before.system)
    # CPU seconds per wall second is a number of cores; the clock ticks are 10 ms, hence the clamp.
    others_cores = max(0.0, busy_all - ours) / max(wall_after - wall_before, 1e-9)
    steal = getattr(sys_after, "steal", 0.0) - getattr(sys_before, "steal", 0.0)
    return others_cores, max(0.0, steal) / elapsed_all


def noise_warnings(fp: Mapping[str, Any], interval_s: float = 0.2, busy_threshold: float = 0.10) -> list[str]:
    """Reasons why timings taken now on this machine may be noisy; empty when none is found (~`interval_s`).

    Static conditions are read from `fp`; CPU contention is measured live over `interval_s`: the cores
    used by other processes (system-wide busy time minus this process's, see `_other_load`) are flagged
    above `busy_threshold` of the usable cores, and hypervisor steal above 1%. The 1-minute load average
    is only flagged when it exceeds the number of logical CPUs: it lags by a minute and includes our own
    recent work, so it cannot tell a busy neighbour from the benchmark that just ran.
    """
    warnings: list[str] = []
    cpu = fp.get("cpu") or {}
    governor = cpu.get("governor")
    if governor is None:
        reason = cpu.get("governor_reason") or "not readable"
        warnings.append(f"cpufreq governor unknown ({reason}); frequency scaling may add noise")
    elif governor != "performance":
        warnings.append(f"cpufreq governor is {governor!r}, not 'performance'; frequency scaling adds noise")

    usable = cpu.get("usable_cores") or cpu.get("logical_cores") or psutil.cpu_count() or 1
    others, steal = _other_load(interval_s)
    if others > busy_threshold * usable:
        warnings.append(
            f"other processes are using {others:.2f} of {usable} CPU cores; they compete with the benchmark"
        )
    if steal > 0.01:
        warnings.append(f"hypervisor steal time is {steal:.1%}; a neighbouring VM is taking CPU cycles")
    with contextlib.suppress(OSError, AttributeError):
        load1 = psutil.getloadavg()[0]
        logical = cpu.get("logical_cores") or psutil.cpu_count() or 1
        if load1 > logical:
            warnings.append(f"1-minute load average {load1:.2f} exceeds {logical} logical CPUs")

    quota = cpu.get("cgroup_cpu_quota")
    if quota is not None and quota < usable:
        warnings.append(f"container CPU quota is {quota:g} cores but {usable} are usable; expect throttling")
    threads = (fp.get("torch") or {}).get("num_threads")
    if isinstance(threads, int) and threads > usable:
        warnings.append(f"torch uses {threads} threads on {usable} usable cores (oversubscribed)")
    ci = fp.get("ci")
    if ci:
        warnings.append(f"running under {ci}: shared CI runners give noisy timings")

    memory = psutil.virtual_memory()
    if memory.total and memory.available / memory.total < 0.10:
        warnings.append(
            f"only {memory.available / memory.total:.0%} of RAM is available; paging may add noise"
        )
    with contextlib.suppress(Exception):
        battery = psutil.sensors_battery()
        if battery is not None and not battery.power_plugged:
            warnings.append("running on battery power; the CPU may be throttled")
    return warnings


OVERHEAD_REFERENCE_NS = 50_000  # the yardstick: overhead must stay <= 2% of a 50 µs operation


def _asset_pins(specs: Iterable[EncoderSpec]) -> dict[str, list[str]]:
    pins = {}
    for spec in specs:
        for name in (spec.model, spec.tokenizer):
            if name in ASSETS:
                pins[name] = [a.sha256 for a in ASSETS[name].artifacts]
    return pins


def environment_section(encoders: Iterable[EncoderSpec]) -> dict[str, Any]:
    """The `Report` fields of the machine: fingerprint (with the asset pins of `encoders`), noise warnings,
    reference workload, harness overhead."""
    machine = fingerprint(_asset_pins(encoders))
    overhead = Stats(calibrate_overhead().end_to_end).median
    return {
        "environment": machine,
        "noise_warnings": tuple(noise_warnings(machine)),
        "reference": reference.measure_reference(),
        "harness": Harness(
            overhead_ns=overhead,
            percent_of_50us=100 * overhead / OVERHEAD_REFERENCE_NS,
            method="median of the timed loop around no-op tokenize/forward/fetch",
        ),
    }
