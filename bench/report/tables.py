"""Rich latency tables from a `Report` (so a saved report re-renders exactly like a live run)."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence

from rich.table import Table

from bench.report.noise import cell_warning_lines, stopping_line, wide_speedup_line
from bench.results import Cell, CellResult, Report
from bench.speedup import Speedup, speedup
from bench.stats import format_ns
from bench.timeslice import is_marked


def _row_key(cell: Cell) -> tuple:
    return (cell.encoder, cell.backend, cell.dtype, cell.threads)


def _row_label(backend: str, dtype: str, threads: int | None) -> str:
    shown_threads = "" if threads is None else f" t{threads or 'default'}"
    shown_dtype = "" if dtype == "fp32" else f" {dtype}"
    return f"{backend}{shown_dtype}{shown_threads}"


def _references(report: Report) -> set[str]:
    """Backends whose rows are references (another library measured side by side), from the setups."""
    return {s.backend for s in report.setups if (s.info or {}).get("reference")}


def _mark(label: str, backend: str, references: set[str]) -> str:
    return f"{label} [dim](reference)[/]" if backend in references else label


def _ratio(value: float) -> str:
    """A ratio to three significant digits, never in exponent form: 646, 2.31, 0.853."""
    digits = max(0, 2 - math.floor(math.log10(abs(value)))) if value and math.isfinite(value) else 0
    return f"{value:.{digits}f}"


def _speedup(found: Speedup | None, *, named: bool) -> str:
    """ "×646 (640–652)", "~×2.31 (1.52–3.10)" when the interval is wide; `named` adds " vs minilm-l6 torch"."""
    if found is None:
        return ""
    interval = (
        "" if found.low is None or found.high is None else f" ({_ratio(found.low)}–{_ratio(found.high)})"
    )
    against = f" vs {found.against}" if named else ""
    return f"{'~' if found.wide else ''}×{_ratio(found.value)}{interval}{against}"


def _range(low: float, high: float) -> str:
    """An interval of durations with one unit where both ends share it: "14.9–15.3 µs", "998 µs–1.02 ms"."""
    low_text, high_text = format_ns(low), format_ns(high)
    low_number, _, low_unit = low_text.partition(" ")
    high_number, _, high_unit = high_text.partition(" ")
    return f"{low_number}–{high_text}" if low_unit == high_unit else f"{low_text}–{high_text}"


def _rounds(result: CellResult) -> str:
    """ "7 rounds (interval)": how many rounds measured the cell and why they ended."""
    if not result.rounds:
        return ""
    count = len(result.rounds)
    return f"{count} round{'s' * (count != 1)}" + (f" ({result.stopped})" if result.stopped else "")


def _wide_cell(report: Report, result: CellResult) -> str:
    if is_marked(result):
        return f"[red]time slices[/] ({format_ns(result.end_to_end.median)})\n{_rounds(result)}"
    stats = result.end_to_end
    low, high = stats.median_ci or (stats.median, stats.median)
    lines = [
        f"p50 {format_ns(stats.median)} [{_range(low, high)}]",
        f"p99 {format_ns(stats.p99)}" if stats.p99 is not None else f"max {format_ns(stats.max)}",
        f"{stats.throughput:,.0f} q/s  n={stats.n}",
        _rounds(result),
    ]
    if shown := _speedup(speedup(report, result), named=True):
        lines.append(shown)
    style = "yellow" if result.warnings else ""
    text = "\n".join(line for line in lines if line)
    return f"[{style}]{text}[/]" if style else text


def _by_device(report: Report) -> dict[str, list[CellResult]]:
    by_device: dict[str, list[CellResult]] = defaultdict(list)
    for result in report.cells:
        by_device[result.cell.device].append(result)
    return by_device


def latency_tables(report: Report, *, wide: bool = False) -> list[Table]:
    """The latency tables: per device, one table per batch size that reads at 100 columns, or (`wide`) one
    table with a column per batch size and every figure of a cell."""
    tables = []
    for device, results in _by_device(report).items():
        if wide:
            tables.append(_wide_table(report, device, results))
        else:
            for batch_size in sorted({r.cell.batch_size for r in results}):
                tables.append(
                    _batch_table(
                        report, device, batch_size, [r for r in results if r.cell.batch_size == batch_size]
                    )
                )
    return tables


def _batch_table(report: Report, device: str, batch_size: int, results: list[CellResult]) -> Table:
    """One batch size: a row per encoder and backend, each figure in its own column, no number wrapped; the
    thread count in the title when every row has the same."""
    against = _against(report)
    threads = {r.cell.threads for r in results}
    shared = f", {_threads(next(iter(threads)))}" if len(threads) == 1 and None not in threads else ""
    title = f"{report.suite_name} — batch {batch_size} on {device}{shared}, end to end" + (
        f"; speed-up over {against}" if against else ""
    )
    table = Table(
        title=title, box=None, pad_edge=False, caption=_CAPTION if against else None, header_style="bold"
    )
    table.add_column("encoder", style="bold", no_wrap=True)
    table.add_column("backend", no_wrap=True)
    for name in ("p50", "95% CI", "p99", "q/s", *(["speed-up"] if against else [])):
        table.add_column(name, justify="right", no_wrap=True)
    references = _references(report)
    for result in results:
        c, stats = result.cell, result.end_to_end
        label = _row_label(c.backend, c.dtype, None if shared else c.threads)
        label += "*" if c.backend in references else ""
        if is_marked(result):
            figures = ["[red]slices[/]", format_ns(stats.median), "", "", ""]
        else:
            low, high = stats.median_ci or (stats.median, stats.median)
            p99 = "" if stats.p99 is None else format_ns(stats.p99)
            ratio = _speedup(speedup(report, result), named=False)
            figures = [format_ns(stats.median), _range(low, high), p99, f"{stats.throughput:,.0f}", ratio]
        table.add_row(
            c.encoder, label, *figures[: 4 + bool(against)], style="yellow" if result.warnings else None
        )
    return table


def _threads(count: int | None) -> str:
    return "library default threads" if not count else f"{count} thread{'s' * (count != 1)}"


def _against(report: Report) -> str | None:
    """What the speed-up column divides: "minilm-l6 on torch", "minilm-l6 on the same backend", or None."""
    if not report.latency_baseline:
        return None
    return f"{report.latency_baseline} on {report.latency_baseline_backend or 'the same backend'}"


_CAPTION = (
    "p50 and its 95% CI; p99 where the samples support it; ×: the baseline's p50 over the row's, paired by "
    "round (~: interval over 20%); * a reference library; yellow: a warning; slices: scheduler time slices"
)


def _wide_table(report: Report, device: str, results: list[CellResult]) -> Table:
    """Rows encoder x backend (x dtype x threads), columns batch sizes; each cell with all its figures."""
    batch_sizes = sorted({r.cell.batch_size for r in results})
    title = f"{report.suite_name} — query encoding latency on {device} (end to end)"
    table = Table(title=title, show_lines=True)
    table.add_column("encoder", style="bold")
    table.add_column("backend")
    for batch_size in batch_sizes:
        table.add_column(f"batch {batch_size}", justify="right", no_wrap=True)
    rows: dict[tuple, dict[int, str]] = defaultdict(dict)
    labels: dict[tuple, tuple[str, str]] = {}
    references = _references(report)
    for result in results:
        c = result.cell
        label = _mark(_row_label(c.backend, c.dtype, c.threads), c.backend, references)
        labels[_row_key(c)] = (c.encoder, label)
        rows[_row_key(c)][c.batch_size] = _wide_cell(report, result)
    for key, cells in rows.items():
        table.add_row(*labels[key], *(cells.get(b, "") for b in batch_sizes))
    return table


def _fetch_median(result: CellResult) -> float:
    """Median of end-to-end minus tokenize minus forward, per sample: the fetch (and the loop's own cost)."""
    samples = result.samples
    if all(samples.get(k) for k in ("tokenize", "forward", "end_to_end")):
        phases = zip(samples["tokenize"], samples["forward"], samples["end_to_end"], strict=True)
        return float(statistics.median([e - t - f for t, f, e in phases]))
    return max(result.end_to_end.median - result.tokenize.median - result.forward.median, 0.0)


def phase_table(report: Report) -> Table:
    """Medians of tokenise / forward / fetch per cell and their shares, to show what dominates.

    fetch is end to end minus the other two, per sample (on CUDA, forward is device time, so fetch also holds
    the launch and the wait); the shares are of the end-to-end median.
    """
    table = Table(title="where the time goes (medians)")
    columns = ("cell", "tokenize", "forward", "fetch", "end to end", "tok / fwd / fetch", "word cache")
    for column in (*columns, "warm-up calls", "RSS Δ"):
        table.add_column(column, justify="left" if column == "cell" else "right")
    for result in report.cells:
        total = result.end_to_end.median
        tok, fwd, fetch = result.tokenize.median, result.forward.median, _fetch_median(result)
        shares = " / ".join(f"{100 * part / total:.0f}%" for part in (tok, fwd, fetch)) if total else ""
        cache = result.word_cache or {}
        hits = cache.get("word_hit_rate")
        cache_text = "" if hits is None else f"{hits:.0%} words, {cache['text_hit_rate']:.0%} texts"
        rss = result.memory.rss_delta
        table.add_row(
            result.id,
            format_ns(tok),
            format_ns(fwd),
            format_ns(fetch),
            format_ns(total),
            shares,
            cache_text,
            f"{result.warmup.calls}{'' if result.warmup.steady else ' (not steady)'}",
            f"{rss / 2**20:.1f} MiB" if rss is not None else "",
        )
    return table


def setup_table(report: Report) -> Table:
    """Per encoder and backend: size, cold start and parity with torch fp32."""
    table = Table(title="encoders: size, cold start, parity with torch fp32 on CPU")
    for column in ("encoder", "backend", "params", "disk", "load", "first query", "max |Δ| vs torch"):
        table.add_column(column, justify="left" if column in ("encoder", "backend") else "right")
    for setup in report.setups:
        info = report.encoders.get(setup.encoder)
        parity = setup.parity_max_abs_diff
        parity_text = "" if parity is None else f"{parity:.1e}"
        if setup.parity_warning:
            parity_text = f"[yellow]{parity_text}[/]"
        label = _mark(
            _row_label(setup.backend, setup.dtype, setup.threads), setup.backend, _references(report)
        )
        disk = setup.disk_bytes
        table.add_row(
            setup.encoder,
            f"{label} {setup.device}",
            f"{(info.parameters if info else 0) / 1e6:.2f} M",
            f"{disk / 1e6:.1f} MB" if disk else "",
            f"{setup.load_s:.2f} s",
            format_ns(setup.first_query_ns),
            parity_text,
        )
    return table


def overrides_line(overrides: Sequence[str], *, quick_look: bool) -> str:
    """The --set overrides of a run, and whether it counts (a quick look does not)."""
    counted = (
        "a quick look: not written as <suite>-latest.json, not in `bench history` (--as-latest counts it)"
        if quick_look
        else "counted like a full run"
    )
    return f"overrides: {' '.join(overrides)} ({counted})"


def summary_lines(report: Report) -> list[str]:
    """Status, overrides, harness overhead, reference workload and warnings as short lines."""
    lines = [f"status: {report.status}" + (f" ({report.skip_reason})" if report.skip_reason else "")]
    if report.overrides:
        lines.append(overrides_line(report.overrides, quick_look=report.quick_look))
    if harness := report.harness:
        lines.append(
            f"harness overhead: {format_ns(harness.overhead_ns)} per call "
            f"({harness.percent_of_50us:.2f}% of a 50 µs operation)"
        )
    if reference := report.reference:
        lines.append(f"reference workload ({reference['name']}): {format_ns(reference['median_ns'])}")
    if rounds := max((len(c.rounds) for c in report.cells), default=0):
        seed = report.suite.measure.seed
        fewest = min(len(c.rounds) for c in report.cells)
        counted = f"{fewest} to {rounds}" if fewest < rounds else str(rounds)
        lines.append(
            f"measured in {counted} interleaved round{'s' * (rounds != 1)}, shuffled with seed {seed}"
        )
    by_reason: dict[str, int] = {}
    for excluded in report.excluded:
        by_reason[excluded.reason] = by_reason.get(excluded.reason, 0) + 1
    lines.extend(f"excluded: {n} cell{'s' * (n != 1)}: {reason}" for reason, n in by_reason.items())
    lines.extend(f"warning: {w}" for w in report.noise_warnings)
    lines.extend(f"warning: {line}" for line in cell_warning_lines(report))
    if stopped := stopping_line(report):
        lines.append(stopped)
    if wide := wide_speedup_line(report):
        lines.append(f"warning: {wide}")
    for setup in report.setups:
        if setup.parity_warning:
            lines.append(f"warning: {setup.parity_warning}")
    return lines
