"""Expanding a suite's latency sweep into cells, the unit that is measured, reported and compared.

A cell is one (encoder, backend, device, dtype, batch size, threads) combination; its `key` is its identity
across reports. Combinations that cannot run are kept, with a reason, as `Plan.excluded`, so that a report
can say why a cell is missing rather than leave a silent hole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.table import Table

from bench import backends
from bench.results import Cell
from bench.specs import EncoderSpec, Suite
from daft.core.errors import UserError

__all__ = ["HALF_ON_CPU", "Plan", "exclusion", "plan", "plan_table"]

HALF_ON_CPU = "half precision is measured on cuda only"


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

    def only(self, keep: Callable[[Cell], bool]) -> Plan:
        """This plan with only the cells for which `keep` is true (e.g. no cuda cells on a CPU machine)."""
        return Plan(tuple(c for c in self.cells if keep(c)), self.excluded)


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
