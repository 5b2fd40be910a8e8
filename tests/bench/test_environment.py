"""Tests for bench.environment: the fingerprint's shape, its digest, differences and noise warnings."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import environment
from bench.environment import (
    differences,
    fingerprint,
    fingerprint_digest,
    machine_differences,
    noise_warnings,
)

X86_CPUINFO = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c hypervisor avx2 smep avx512f avx512_bf16 amx_tile sme

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse
"""

ARM_CPUINFO = """\
processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimddp sve sve2 i8mm bf16
CPU implementer\t: 0x41
CPU architecture: 8
CPU part\t: 0xd4f
"""


@pytest.fixture(scope="module")
def fp() -> dict[str, Any]:
    return fingerprint({"encoder": "ab" * 32})


def test_fingerprint_is_json_serialisable(fp: dict[str, Any]) -> None:
    assert json.loads(json.dumps(fp, allow_nan=False)) == fp


def test_fingerprint_has_the_expected_keys(fp: dict[str, Any]) -> None:
    assert set(fp) >= {
        "schema",
        "cpu",
        "memory",
        "os",
        "host",
        "python",
        "packages",
        "onnxruntime",
        "torch",
        "cuda",
        "git",
        "ci",
        "assets",
    }
    assert set(fp["cpu"]) >= {
        "model",
        "flags",
        "physical_cores",
        "logical_cores",
        "governor",
        "governor_reason",
        "frequency_mhz",
    }
    assert set(fp["packages"]) == {
        "torch",
        "transformers",
        "tokenizers",
        "onnxruntime",
        "faiss",
        "numpy",
        "ir_measures",
        "pyserini",
    }
    assert set(fp["cuda"]) >= {"available", "devices", "runtime_version", "driver_version"}
    assert set(fp["git"]) == {"commit", "dirty", "reason"}
    assert fp["assets"] == {"encoder": "ab" * 32}
    assert fp["memory"]["total_bytes"] > 0
    assert fp["cpu"]["logical_cores"] >= 1
    assert fp["packages"]["numpy"]  # installed, so a version string
    assert fp["python"]["version"] == ".".join(map(str, sys.version_info[:3]))


def test_fingerprint_has_a_reason_for_every_unknown_governor(fp: dict[str, Any]) -> None:
    assert (fp["cpu"]["governor"] is None) == (fp["cpu"]["governor_reason"] is not None)


def test_fingerprint_hashes_the_hostname(fp: dict[str, Any]) -> None:
    import socket

    assert socket.gethostname() not in json.dumps(fp)
    assert len(fp["host"]["hostname_sha256"]) == 16


def test_fingerprint_does_not_import_pyserini(fp: dict[str, Any]) -> None:
    # Importing pyserini starts a JVM; its version must come from metadata alone.
    code = "import sys; from bench.environment import fingerprint; fingerprint(); print('pyserini' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "False"


def test_cuda_section_matches_torch(fp: dict[str, Any]) -> None:
    import torch

    assert fp["cuda"]["available"] == torch.cuda.is_available()
    if torch.cuda.is_available():
        assert len(fp["cuda"]["devices"]) == torch.cuda.device_count()
        assert fp["cuda"]["devices"][0]["total_memory_bytes"] > 0
    else:
        assert fp["cuda"]["devices"] == [] and fp["cuda"]["reason"]


def test_parse_cpuinfo_x86_keeps_ml_flags_only() -> None:
    info = environment._parse_cpuinfo(X86_CPUINFO)
    assert info["model"] == "Intel(R) Xeon(R) Platinum 8480+"
    assert info["vendor"] == "GenuineIntel"
    # smep and AMD's "sme" (memory encryption) are not ML flags on x86.
    assert info["flags"] == [
        "amx_tile",
        "avx",
        "avx2",
        "avx512_bf16",
        "avx512f",
        "f16c",
        "fma",
        "sse4_1",
        "sse4_2",
    ]
    assert info["virtualised"] is True


def test_parse_cpuinfo_arm_names_the_core_and_keeps_neon_sve() -> None:
    info = environment._parse_cpuinfo(ARM_CPUINFO)
    assert info["model"] == "Arm implementer 0x41 part 0xd4f"
    assert info["flags"] == ["asimd", "asimddp", "asimdhp", "bf16", "fphp", "i8mm", "sve", "sve2"]
    assert info["virtualised"] is False


def test_parallel_summary_parses_torch_parallel_info() -> None:
    import torch

    summary = environment._parallel_summary(torch.__config__.parallel_info())
    assert summary["backend"]
    assert summary["omp_max_threads"] is None or summary["omp_max_threads"] >= 1


def test_git_state_outside_a_repository(tmp_path: Path) -> None:
    state = environment._git_state(tmp_path)
    assert state["commit"] is None and state["dirty"] is None
    assert state["reason"]


def test_a_copy_without_git_takes_the_commit_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAFT_BENCH_COMMIT", raising=False)
    assert environment._code_state(tmp_path)["commit"] is None
    monkeypatch.setenv("DAFT_BENCH_COMMIT", "abc123")
    state = environment._code_state(tmp_path)
    assert state["commit"] == "abc123" and state["source"] == "DAFT_BENCH_COMMIT"


def test_git_state_of_a_fresh_repository(tmp_path: Path) -> None:
    try:
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("git is not available")
    state = environment._git_state(tmp_path)
    assert state["commit"] is None and state["reason"] == "repository has no commits"
    assert state["dirty"] is False
    (tmp_path / "new.py").write_text("x = 1\n")
    assert environment._git_state(tmp_path)["dirty"] is True


# --- digest and differences --------------------------------------------------------------------------------


def test_digest_is_stable_for_the_same_dict(fp: dict[str, Any]) -> None:
    digest = fingerprint_digest(fp)
    assert digest == fingerprint_digest(copy.deepcopy(fp))
    assert digest == fingerprint_digest(json.loads(json.dumps(fp)))
    assert len(digest) == 16 and int(digest, 16) >= 0


def test_digest_changes_with_the_cpu_model(fp: dict[str, Any]) -> None:
    other = copy.deepcopy(fp)
    other["cpu"]["model"] = "Some Other CPU"
    assert fingerprint_digest(other) != fingerprint_digest(fp)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [("packages", "torch", "0.0.1"), ("packages", "onnxruntime", "0.0.1"), ("cpu", "governor", "powersave")],
)
def test_digest_changes_with_timing_relevant_fields(
    fp: dict[str, Any], section: str, key: str, value: str
) -> None:
    other = copy.deepcopy(fp)
    other[section][key] = value
    assert fingerprint_digest(other) != fingerprint_digest(fp)


def test_digest_ignores_fields_that_do_not_affect_timings(fp: dict[str, Any]) -> None:
    other = copy.deepcopy(fp)
    other["host"]["hostname_sha256"] = "0" * 16
    other["git"]["commit"] = "f" * 40
    other["assets"] = {"other": "cd" * 32}
    other["cpu"]["frequency_mhz"] = {"current": 1.0, "min": None, "max": None}
    assert fingerprint_digest(other) == fingerprint_digest(fp)


def test_the_instruction_set_makes_another_machine_and_library_versions_do_not() -> None:
    # Two "AMD EPYC" that differ only in AVX-512 run different kernels: the case the README's gate example hit.
    a = {"cpu": {"model": "AMD EPYC", "flags": ["avx2", "avx512f", "fma"]}, "packages": {"torch": "2.13.0"}}
    b = copy.deepcopy(a)
    b["cpu"]["flags"] = ["avx2", "fma"]
    assert fingerprint_digest(a) != fingerprint_digest(b)
    assert machine_differences(a, b) == ["cpu.flags: -avx512f"]
    newer = copy.deepcopy(a)
    newer["packages"]["torch"] = "2.14.0"
    assert fingerprint_digest(a) != fingerprint_digest(newer) and machine_differences(a, newer) == []
    capability = copy.deepcopy(a) | {"torch": {"cpu_capability": "AVX2"}}
    assert machine_differences(a, capability) == ["torch.cpu_capability: only in b ('AVX2')"]


def test_digest_tolerates_a_sparse_fingerprint() -> None:
    assert fingerprint_digest({}) == fingerprint_digest({"cpu": {}})


def test_differences_of_identical_fingerprints_is_empty(fp: dict[str, Any]) -> None:
    assert differences(fp, copy.deepcopy(fp)) == []


def test_differences_lists_a_changed_version(fp: dict[str, Any]) -> None:
    other = copy.deepcopy(fp)
    other["packages"]["transformers"] = "9.9.9"
    lines = differences(fp, other)
    assert lines == [f"packages.transformers: {fp['packages']['transformers']!r} -> '9.9.9'"]


def test_differences_puts_digest_fields_first_and_lists_flags_as_sets(fp: dict[str, Any]) -> None:
    other = copy.deepcopy(fp)
    other["python"]["version"] = "0.0.0"
    other["cpu"]["model"] = "Other"
    other["cpu"]["flags"] = ["avx", "amx_fp16"]
    lines = differences({**fp, "cpu": {**fp["cpu"], "flags": ["avx", "avx2"]}}, other)
    assert lines[0] == "cpu.flags: +amx_fp16 -avx2" and lines[1].startswith("cpu.model: ")
    assert any(line.startswith("python.version: ") for line in lines)


def test_differences_reports_missing_keys_and_skips_volatile_ones(fp: dict[str, Any]) -> None:
    other = copy.deepcopy(fp)
    del other["ci"]
    other["cpu"]["frequency_mhz"] = {**(fp["cpu"]["frequency_mhz"] or {}), "current": 12345.0}
    lines = differences(fp, other)
    assert lines == [f"ci: only in a ({fp['ci']!r})"]
    assert any("frequency_mhz.current" in line for line in differences(fp, other, ignore=()))


def test_differences_compares_cuda_devices_field_by_field() -> None:
    gpu = {"name": "NVIDIA H100", "capability": "9.0", "total_memory_bytes": 80}
    a = {"cuda": {"available": True, "devices": [gpu]}}
    b = {"cuda": {"available": True, "devices": [{**gpu, "name": "NVIDIA H200"}]}}
    assert differences(a, b) == ["cuda.devices[0].name: 'NVIDIA H100' -> 'NVIDIA H200'"]


# --- noise -------------------------------------------------------------------------------------------------


def test_noise_warnings_returns_a_list_of_strings(fp: dict[str, Any]) -> None:
    warnings = noise_warnings(fp, interval_s=0.05)
    assert isinstance(warnings, list)
    assert all(isinstance(w, str) and w for w in warnings)


def test_noise_warnings_flags_governor_ci_and_oversubscription(
    fp: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(environment, "_other_load", lambda interval_s: (0.0, 0.0))
    quiet = copy.deepcopy(fp)
    quiet["cpu"].update(governor="performance", governor_reason=None, cgroup_cpu_quota=None, usable_cores=4)
    quiet["torch"]["num_threads"] = 4
    quiet["ci"] = None
    monkeypatch.setattr(environment.psutil, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert not any("governor" in w or "CI" in w or "threads" in w for w in noise_warnings(quiet))

    noisy = copy.deepcopy(quiet)
    noisy["cpu"]["governor"] = "powersave"
    noisy["ci"] = "GitHub Actions"
    noisy["torch"]["num_threads"] = 8
    text = "\n".join(noise_warnings(noisy))
    assert "'powersave'" in text and "GitHub Actions" in text and "8 threads" in text

    unknown = copy.deepcopy(quiet)
    unknown["cpu"].update(governor=None, governor_reason="no cpufreq")
    assert any("governor unknown (no cpufreq)" in w for w in noise_warnings(unknown))


def test_noise_warnings_flags_busy_neighbours_and_steal(
    fp: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(environment, "_other_load", lambda interval_s: (1.5, 0.05))
    warnings = noise_warnings(fp)
    assert any("other processes are using 1.50" in w for w in warnings)
    assert any("steal" in w for w in warnings)


def test_ci_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in environment._CI_VARS:
        monkeypatch.delenv(var, raising=False)
    assert environment._ci_name() is None
    monkeypatch.setenv("CI", "false")
    assert environment._ci_name() is None
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert environment._ci_name() == "GitHub Actions"


def test_other_load_is_non_negative() -> None:
    others, steal = environment._other_load(0.05)
    assert others >= 0.0 and 0.0 <= steal <= 1.0
