"""Rich tables from a report dict (so a saved report re-renders exactly like a live run)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from rich.table import Table

from bench.report.schema import suite_name
from bench.stats import format_ns


def _row_key(cell: dict[str, Any]) -> tuple:
    return (cell["encoder"], cell["backend"], cell["dtype"], cell["threads"])


def _row_label(cell: dict[str, Any]) -> tuple[str, str]:
    threads = "" if cell["threads"] is None else f" t{cell['threads'] or 'default'}"
    dtype = "" if cell["dtype"] == "fp32" else f" {cell['dtype']}"
    return cell["encoder"], f"{cell['backend']}{dtype}{threads}"


def _references(report: dict[str, Any]) -> set[str]:
    """Backends whose rows are references (another library measured side by side), from the setups."""
    return {s["backend"] for s in report.get("setups", []) if (s.get("info") or {}).get("reference")}


def _mark(label: str, backend: str, references: set[str]) -> str:
    return f"{label} [dim](reference)[/]" if backend in references else label


def _speedup(report: dict[str, Any], cell: dict[str, Any], median: float) -> str:
    baseline = report["suite"].get("latency", {}).get("baseline")
    if not baseline or cell["encoder"] == baseline:
        return ""
    for other in report["cells"]:
        ref = other["cell"]
        if ref["encoder"] == baseline and all(
            ref[k] == cell[k] for k in ("backend", "device", "dtype", "threads", "batch_size")
        ):
            return f"×{other['end_to_end']['median'] / median:.2f} vs {baseline}"
    return ""


def _cell_text(report: dict[str, Any], entry: dict[str, Any]) -> str:
    stats = entry["end_to_end"]
    low, high = stats["median_ci"]
    lines = [
        f"p50 {format_ns(stats['median'])} [{format_ns(low)}–{format_ns(high)}]",
        f"p99 {format_ns(stats['p99'])}"
        if stats.get("p99") is not None
        else f"max {format_ns(stats['max'])}",
        f"{stats['throughput']:,.0f} q/s  n={stats['n']}",
    ]
    if speedup := _speedup(report, entry["cell"], stats["median"]):
        lines.append(speedup)
    style = "yellow" if entry.get("warnings") else ""
    text = "\n".join(lines)
    return f"[{style}]{text}[/]" if style else text


def latency_tables(report: dict[str, Any]) -> list[Table]:
    """One table per device: rows encoder x backend (x dtype x threads), columns batch sizes."""
    by_device: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in report["cells"]:
        by_device[entry["cell"]["device"]].append(entry)
    tables = []
    for device, entries in by_device.items():
        batch_sizes = sorted({e["cell"]["batch_size"] for e in entries})
        title = f"{suite_name(report)} — query encoding latency on {device} (end to end)"
        table = Table(title=title, show_lines=True)
        table.add_column("encoder", style="bold")
        table.add_column("backend")
        for batch_size in batch_sizes:
            table.add_column(f"batch {batch_size}", justify="right")
        rows: dict[tuple, dict[int, str]] = defaultdict(dict)
        labels: dict[tuple, tuple[str, str]] = {}
        references = _references(report)
        for entry in entries:
            key = _row_key(entry["cell"])
            encoder, label = _row_label(entry["cell"])
            labels[key] = encoder, _mark(label, entry["cell"]["backend"], references)
            rows[key][entry["cell"]["batch_size"]] = _cell_text(report, entry)
        for key, cells in rows.items():
            table.add_row(*labels[key], *(cells.get(b, "") for b in batch_sizes))
        tables.append(table)
    return tables


def _fetch_median(entry: dict[str, Any]) -> float:
    """Median of end-to-end minus tokenize minus forward, per sample: the fetch (and the loop's own cost)."""
    samples = entry.get("samples") or {}
    if all(samples.get(k) for k in ("tokenize", "forward", "end_to_end")):
        phases = zip(samples["tokenize"], samples["forward"], samples["end_to_end"], strict=True)
        rest = [e - t - f for t, f, e in phases]
        return float(statistics.median(rest))
    return max(entry["end_to_end"]["median"] - entry["tokenize"]["median"] - entry["forward"]["median"], 0.0)


def phase_table(report: dict[str, Any]) -> Table:
    """Medians of tokenise / forward / fetch per cell and their shares, to show what dominates.

    fetch is end to end minus the other two, per sample (on CUDA, forward is device time, so fetch also holds
    the launch and the wait); the shares are of the end-to-end median.
    """
    table = Table(title="where the time goes (medians)")
    columns = ("cell", "tokenize", "forward", "fetch", "end to end", "tok / fwd / fetch", "word cache")
    for column in (*columns, "warm-up calls", "RSS Δ"):
        table.add_column(column, justify="left" if column == "cell" else "right")
    for entry in report["cells"]:
        total = entry["end_to_end"]["median"]
        tok, fwd, fetch = entry["tokenize"]["median"], entry["forward"]["median"], _fetch_median(entry)
        shares = " / ".join(f"{100 * part / total:.0f}%" for part in (tok, fwd, fetch)) if total else ""
        cache = entry.get("word_cache") or {}
        hits = cache.get("word_hit_rate")
        cache_text = "" if hits is None else f"{hits:.0%} words, {cache['text_hit_rate']:.0%} texts"
        rss = (entry.get("memory") or {}).get("rss_delta")
        table.add_row(
            entry["id"],
            format_ns(tok),
            format_ns(fwd),
            format_ns(fetch),
            format_ns(total),
            shares,
            cache_text,
            f"{entry['warmup']['calls']}{'' if entry['warmup']['steady'] else ' (not steady)'}",
            f"{rss / 2**20:.1f} MiB" if rss is not None else "",
        )
    return table


def setup_table(report: dict[str, Any]) -> Table:
    """Per encoder and backend: size, cold start and parity with torch fp32."""
    table = Table(title="encoders: size, cold start, parity with torch fp32 on CPU")
    for column in ("encoder", "backend", "params", "disk", "load", "first query", "max |Δ| vs torch"):
        table.add_column(column, justify="left" if column in ("encoder", "backend") else "right")
    for setup in report["setups"]:
        info = report["encoders"].get(setup["encoder"], {})
        parity = setup.get("parity_max_abs_diff")
        parity_text = "" if parity is None else f"{parity:.1e}"
        if setup.get("parity_warning"):
            parity_text = f"[yellow]{parity_text}[/]"
        label = _mark(_row_label({**setup, "batch_size": 1})[1], setup["backend"], _references(report))
        disk = setup.get("disk_bytes", info.get("disk_bytes"))
        table.add_row(
            setup["encoder"],
            f"{label} {setup['device']}",
            f"{info.get('parameters', 0) / 1e6:.2f} M",
            f"{disk / 1e6:.1f} MB" if disk else "",
            f"{setup['load_s']:.2f} s",
            format_ns(setup.get("first_query_ns")),
            parity_text,
        )
    return table


def summary_lines(report: dict[str, Any]) -> list[str]:
    """Status, harness overhead, reference workload and warnings as short lines."""
    lines = [
        f"status: {report['status']}" + (f" ({report['skip_reason']})" if report.get("skip_reason") else "")
    ]
    if harness := report.get("harness"):
        lines.append(
            f"harness overhead: {format_ns(harness['overhead_ns'])} per call "
            f"({harness['percent_of_50us']:.2f}% of a 50 µs operation)"
        )
    if reference := report.get("reference"):
        lines.append(f"reference workload ({reference['name']}): {format_ns(reference['median_ns'])}")
    by_reason: dict[str, int] = {}
    for entry in report.get("excluded", []):
        by_reason[entry["reason"]] = by_reason.get(entry["reason"], 0) + 1
    lines.extend(f"excluded: {n} cell{'s' * (n != 1)}: {reason}" for reason, n in by_reason.items())
    lines.extend(f"warning: {w}" for w in report.get("noise_warnings", []))
    for entry in report["cells"]:
        lines.extend(f"warning: {entry['id']}: {w}" for w in entry.get("warnings", []))
    for setup in report["setups"]:
        if setup.get("parity_warning"):
            lines.append(f"warning: {setup['parity_warning']}")
    return lines
