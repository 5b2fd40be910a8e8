"""Expanding a suite's latency sweep into cells, the unit that is measured, reported and compared.

A cell is one (encoder, backend, device, dtype, batch size, threads) combination; its `key` is its identity
across reports. Combinations that cannot run are kept, with a reason, as `Plan.excluded`, so that a report
can say why a cell is missing rather than leave a silent hole.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from rich.table import Table

from bench import backends
from bench.suite import EncoderSpec, Suite
from daft.core.errors import UserError

__all__ = ["HALF_ON_CPU", "Cell", "CellKey", "Plan", "exclusion", "plan", "plan_table"]

CellKey = tuple[str, str, str, str, int, int | None]

HALF_ON_CPU = "half precision is measured on cuda only"


@dataclass(frozen=True)
class Cell:
    """One measured combination; `threads` is None on cuda, where intra-op threads do not apply."""

    encoder: str
    backend: str
    device: str
    dtype: str
    batch_size: int
    threads: int | None

    @property
    def key(self) -> CellKey:
        """The identity used to match this cell across reports."""
        return (self.encoder, self.backend, self.device, self.dtype, self.batch_size, self.threads)

    @property
    def pairing(self) -> tuple:
        """What this cell shares with every cell a speed-up may compare it with, across encoders and
        backends (`bench.speedup`): device, dtype, batch size and threads."""
        return (self.device, self.dtype, self.batch_size, self.threads)

    @property
    def id(self) -> str:
        """A readable, stable id: `encoder/backend/device/dtype/b<batch>[/t<threads>]`."""
        parts = [self.encoder, self.backend, self.device, self.dtype, f"b{self.batch_size}"]
        if self.threads is not None:
            parts.append(f"t{self.threads}")
        return "/".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The cell as a JSON-ready dict (field name -> value)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cell:
        """The cell written by `to_dict`; a malformed record (e.g. a hand-edited report) is a UserError."""
        names = [f.name for f in fields(cls)]
        if not isinstance(data, Mapping) or set(data) != set(names):
            raise UserError(f"not a cell record (expected keys {', '.join(names)}): {data!r}")
        minimum = {"batch_size": 1, "threads": 0}  # threads 0: every core
        bad = [k for k in names if k not in minimum and not isinstance(data[k], str)]
        bad += [
            k
            for k, low in minimum.items()
            if not ((_is_int(data[k]) and data[k] >= low) or (data[k] is None and k == "threads"))
        ]
        if bad:
            raise UserError(f"cell record {data!r}: bad {', '.join(bad)}")
        return cls(**{k: data[k] for k in names})


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def exclusion(name: str, device: str, dtype: str) -> str | None:
    """Why this backend/device/dtype combination is not measured, or None when it is."""
    if device == "cpu" and dtype != "fp32":
        # CPU half-precision kernels are emulated or missing for most ops; the numbers would mislead.
        return HALF_ON_CPU
    return backends.backend(name).exclusion(device, dtype)


def refusal(encoder: EncoderSpec, name: str) -> str | None:
    """Why backend `name` cannot run `encoder`'s kind (e.g. `static` and a transformer), or None."""
    # A pair's query side is known only once it is loaded: the latency runner checks those.
    return None if encoder.pair is not None else backends.backend(name).refuses(encoder.type)


@dataclass(frozen=True)
class Plan:
    """The cells to measure, in run order, and the combinations left out with the reason."""

    cells: tuple[Cell, ...]
    excluded: tuple[tuple[Cell, str], ...] = ()

    @property
    def needs_cuda(self) -> bool:
        """Whether any cell runs on cuda."""
        return any(c.device == "cuda" for c in self.cells)

    def only(self, keep: Callable[[Cell], bool]) -> Plan:
        """This plan with only the cells for which `keep` is true (e.g. no cuda cells on a CPU machine)."""
        return Plan(tuple(c for c in self.cells if keep(c)), self.excluded)

    def describe(self) -> list[str]:
        """Plain lines for `--dry-run` or logs: a count, every cell id, then each exclusion group once."""
        lines = [f"{len(self.cells)} cells, {len(self.excluded)} excluded"]
        lines += [f"  {c.id}" for c in self.cells]
        for (backend, device, dtype, reason), count in _exclusion_groups(self).items():
            lines.append(f"  excluded {backend}/{device}/{dtype} ({count} cells): {reason}")
        return lines


def plan(suite: Suite) -> Plan:
    """Expand `suite`'s [latency] sweep: encoder-major in suite order, then backend, device, dtype in suite
    order, then threads and batch size ascending."""
    lat = suite.latency
    cells: list[Cell] = []
    excluded: list[tuple[Cell, str]] = []
    if lat is None:  # a retrieval-only suite
        return Plan((), ())
    for encoder in suite.encoders:
        for backend in lat.backends:
            for device in lat.devices:
                # Intra-op threads are a CPU knob: on cuda the sweep collapses to one cell.
                threads: tuple[int | None, ...] = (None,) if device == "cuda" else tuple(sorted(lat.threads))
                for dtype in lat.dtypes:
                    reason = exclusion(backend, device, dtype) or refusal(encoder, backend)
                    for t in threads:
                        for batch in sorted(lat.batch_sizes):
                            cell = Cell(encoder.name, backend, device, dtype, batch, t)
                            if reason is None:
                                cells.append(cell)
                            else:
                                excluded.append((cell, reason))
    result = Plan(tuple(cells), tuple(excluded))
    if not cells:
        groups = "; ".join(f"{b}/{d}/{t}: {r}" for (b, d, t, r) in _exclusion_groups(result))
        raise UserError(f"{suite.path}: [latency] backends/devices/dtypes: no combination can run ({groups})")
    return result


def _exclusion_groups(plan: Plan) -> dict[tuple[str, str, str, str], int]:
    """(backend, device, dtype, reason) -> number of excluded cells, in plan order."""
    groups: dict[tuple[str, str, str, str], int] = {}
    for cell, reason in plan.excluded:
        group = (cell.backend, cell.device, cell.dtype, reason)
        groups[group] = groups.get(group, 0) + 1
    return groups


def plan_table(plan: Plan) -> Table:
    """A Rich table of the plan for `--dry-run`: one row per sweep of batch sizes, then the exclusions."""
    table = Table(title=f"{len(plan.cells)} cells", title_justify="left")
    for column in ("encoder", "backend", "device", "dtype", "threads", "batch sizes"):
        table.add_column(column, justify="right" if column in ("threads", "batch sizes") else "left")
    rows: dict[tuple[str, str, str, str, int | None], list[int]] = {}
    for c in plan.cells:
        rows.setdefault((c.encoder, c.backend, c.device, c.dtype, c.threads), []).append(c.batch_size)
    for (encoder, backend, device, dtype, threads), batches in rows.items():
        shown = "-" if threads is None else "default" if threads == 0 else str(threads)
        table.add_row(encoder, backend, device, dtype, shown, ", ".join(map(str, batches)))
    if plan.excluded:
        table.caption = "excluded: " + "; ".join(
            f"{b}/{d}/{t} ({n} cells): {r}" for (b, d, t, r), n in _exclusion_groups(plan).items()
        )
        table.caption_justify = "left"
    return table
