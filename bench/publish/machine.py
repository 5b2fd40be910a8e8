"""Which machine a report ran on: a short summary of its fingerprint, and a label per fingerprint digest.

Timings are comparable only between reports with the same digest (`bench.environment.fingerprint_digest`),
so the site names each digest once ("M1", "M2", ... in order of first appearance) and never joins two of
them into one trend line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.environment import fingerprint_digest

__all__ = ["Machines", "commit", "summary"]


def _section(environment: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = environment.get(name)
    return value if isinstance(value, Mapping) else {}


def summary(environment: Mapping[str, Any]) -> str:
    """ "AMD EPYC, 2 of 2 cores, 24 GB, torch 2.13.0+cpu, onnxruntime 1.32.0, NVIDIA H100" (what is known)."""
    cpu, packages = _section(environment, "cpu"), _section(environment, "packages")
    parts = [str(cpu.get("model") or "unknown CPU")]
    cores, usable = cpu.get("logical_cores"), cpu.get("usable_cores")
    if cores:
        parts.append(f"{usable} of {cores} cores" if usable and usable != cores else f"{cores} cores")
    if total := _section(environment, "memory").get("total_bytes"):
        parts.append(f"{total / 1e9:.0f} GB")
    parts += [f"{name} {packages[name]}" for name in ("torch", "onnxruntime") if packages.get(name)]
    devices = _section(environment, "cuda").get("devices") or []
    parts += [str(d.get("name")) if isinstance(d, Mapping) else str(d) for d in devices]
    return ", ".join(parts)


def commit(environment: Mapping[str, Any]) -> str:
    """The short git commit a report was run from ("+dirty" when the tree had changes), or "?"."""
    git = _section(environment, "git")
    sha = git.get("commit")
    return f"{str(sha)[:8]}{'+dirty' if git.get('dirty') else ''}" if sha else "?"


class Machines:
    """Labels for fingerprint digests, in the order they are first seen."""

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}
        self._summaries: dict[str, str] = {}

    def label(self, environment: Mapping[str, Any]) -> str:
        """The label of this environment's digest ("M1", ...), given it on first sight."""
        digest = fingerprint_digest(environment)
        if digest not in self._labels:
            self._labels[digest] = f"M{len(self._labels) + 1}"
            self._summaries[digest] = summary(environment)
        return self._labels[digest]

    def rows(self) -> list[tuple[str, str, str]]:
        """(label, digest, summary) of every machine seen."""
        return [(label, digest, self._summaries[digest]) for digest, label in self._labels.items()]
