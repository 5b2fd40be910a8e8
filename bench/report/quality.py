"""Rich tables for the quality half of a report: systems x measures, significance, and the frontier."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from bench.documents.precision import describe
from bench.results import FrontierEntry, RetrievalResult, SystemComparison
from bench.stats import format_ns


def _against(
    comparisons: Sequence[SystemComparison], system: str, other: str, measure: str
) -> SystemComparison | None:
    for c in comparisons:
        if c.system_a == system and c.system_b == other and c.measure == measure:
            return c
    return None


def retrieval_table(r: RetrievalResult) -> Table:
    """One row per system, one column per measure; `*` marks a significant difference from BM25 (Holm)."""
    title = f"retrieval on {r.collection}:{r.split} ({r.queries} queries)"
    if r.tuning:
        title += f"; hybrid {r.tuning}"
    table = Table(title=title, title_justify="left")
    table.add_column("system")
    table.add_column("parameters")
    for measure in r.measures:
        table.add_column(measure, justify="right")
    for entry in r.systems:
        shown = ", ".join(f"{k}={v}" for k, v in entry.params.shown().items())
        cells = []
        for measure in r.measures:
            c = _against(r.comparisons, entry.id, "bm25", measure)
            mark = "*" if c is not None and c.significant else ""
            cells.append(f"{entry.aggregate[measure]:.4f}{mark}")
        table.add_row(entry.id, shown, *cells)
    table.caption = "* significantly different from bm25 (Holm-corrected, level in the suite)"
    return table


def comparison_table(r: RetrievalResult) -> Table:
    """Each paired comparison on the primary measure: delta, wins/ties/losses, p-values, verdict."""
    measure = r.primary
    table = Table(title=f"paired comparisons on {measure}", title_justify="left")
    for column in ("system", "vs", "delta", "win/tie/loss", "p (t-test)", "p (perm.)", "p (Holm)", ""):
        table.add_column(column, justify="left" if column in ("system", "vs", "") else "right")
    for c in r.comparisons:
        if c.measure != measure:
            continue
        verdict = "[green]better[/]" if c.significant and c.delta > 0 else ""
        verdict = "[red]worse[/]" if c.significant and c.delta < 0 else verdict
        table.add_row(
            c.system_a,
            c.system_b,
            f"{c.delta:+.4f}",
            f"{c.wins}/{c.ties}/{c.losses}",
            f"{c.p_t_test:.2g}",
            f"{c.p_permutation:.2g}",
            f"{c.p_adjusted:.2g}",
            verdict,
        )
    return table


def frontier_table(entries: Sequence[FrontierEntry]) -> Table:
    """Which query encoder to use: size, latency at the smallest and largest batch, quality, and the Pareto
    flags."""
    measure = entries[0].measure if entries else "quality"
    figures = entries[0].figures if entries else ()
    table = Table(title="the frontier: quality vs query-encoding latency", title_justify="left")
    for column in (
        "encoder",
        "params",
        *(f"b{batch} {'p99' if p99 else 'p50'}" for batch, p99 in figures),
        f"dense {measure}",
        f"hybrid {measure}",
    ):
        table.add_column(column, justify="left" if column == "encoder" else "right")

    def latency(entry: FrontierEntry, batch: int, p99: bool = False) -> str:
        at = entry.latency.get(batch)
        value = None if at is None else at.p99_ns if p99 else at.p50_ns
        return "-" if value is None else format_ns(value)

    def quality(entry: FrontierEntry, system: str) -> str:
        value = entry.quality.get(system)
        if value is None:
            return "-"
        return f"{value:.4f}" + (" [bold green]◆[/]" if entry.pareto.get(system) else "")

    for e in entries:
        params = "-" if e.parameters is None else f"{e.parameters / 1e6:.2f} M"
        table.add_row(
            e.encoder,
            params,
            *(latency(e, batch, p99) for batch, p99 in figures),
            quality(e, "dense"),
            quality(e, "hybrid"),
        )
    smallest = f"batch {figures[0][0]}" if figures else "the smallest batch"
    table.caption = f"◆ on the Pareto frontier (no other encoder both faster at {smallest} and better)"
    return table


def precision_lines(r: RetrievalResult, setting: str) -> list[str]:
    """Per encoder: the precision its documents were encoded in (and why, where the suite's doc_precision
    `setting` is `auto`); off fp32 when asked for, its dense quality against fp32 on the same split."""
    lines = []
    seen = set()
    for entry in r.systems:
        if entry.encoder in seen or entry.pair is None:
            continue
        seen.add(entry.encoder)
        precision, check = entry.pair.doc_precision, entry.pair.precision_check
        line = f"precision: {entry.encoder} documents in {describe(precision, setting)}"
        if check:
            line += (
                f": dense {check.measure} {check.value:.4f} vs fp32 {check.reference:.4f} "
                f"({check.delta:+.4f}) on {r.collection}:{r.split}"
            )
            if check.exceeded:
                line += f"; WARNING: beyond max_precision_loss {check.max_loss:g}"
        lines.append(line)
    return lines


def precision_losses(r: RetrievalResult) -> list[str]:
    """The encoders whose index lost more against fp32 than the suite's `max_precision_loss`, one line each."""
    found = {}
    for entry in r.systems:
        check = entry.pair.precision_check if entry.pair else None
        if check and check.exceeded:
            found[entry.encoder] = (
                f"{entry.encoder}: dense {check.measure} lost {-check.delta:.4f} in "
                f"{entry.pair.doc_precision}, beyond max_precision_loss {check.max_loss:g}"
            )
    return list(found.values())


def timing_lines(r: RetrievalResult) -> list[str]:
    """Where the retrieval time went: BM25, then per pair its stages, then evaluation and the tests."""
    t = r.timings
    lines = []
    if "bm25_s" in t:
        lines.append(f"time: bm25 (index + search) {t['bm25_s']:.1f} s")
    seen = set()
    for entry in r.systems:
        if entry.encoder and entry.pair and entry.encoder not in seen:
            seen.add(entry.encoder)
            stages = ", ".join(
                f"{k.removesuffix('_s').replace('_', ' ')} {v:.1f} s" for k, v in entry.pair.timings.items()
            )
            precision = "" if entry.pair.doc_precision == "fp32" else f", {entry.pair.doc_precision}"
            lines.append(
                f"time: {entry.encoder} ({entry.pair.documents} document vectors{precision}): {stages}"
            )
    rest = [f"{k.removesuffix('_s')} {t[k]:.1f} s" for k in ("evaluate_s", "significance_s") if k in t]
    if rest:
        lines.append("time: " + ", ".join(rest))
    return lines
