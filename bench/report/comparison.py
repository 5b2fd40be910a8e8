"""A comparison on screen (Rich, regressions first, colour-coded) and as Markdown for a CI job summary."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from bench.compare import KINDS, Comparison
from bench.stats import format_ns

_STYLE = {"regression": "bold red", "improvement": "green", "no change": "dim"}


def latency_table(comparison: Comparison) -> Table:
    """One row per matched cell: p50 before/after, ratio with its 95% CI, Mann-Whitney p, verdict."""
    unit = " (normalised by the reference workload)" if comparison.normalised else ""
    table = Table(title=f"latency, end-to-end p50{unit}", title_justify="left")
    for column in ("cell", "baseline", "candidate", "change", "95% CI", "MWU p", "p99", "verdict"):
        table.add_column(column, justify="left" if column in ("cell", "verdict") else "right")
    for c in comparison.latency:
        p99 = f"{c.tails['p99'] - 1:+.1%}" if "p99" in c.tails else "-"
        table.add_row(
            c.cell,
            format_ns(c.baseline_ns),
            format_ns(c.candidate_ns),
            f"{c.ratio - 1:+.1%}",
            f"[{c.low - 1:+.1%}, {c.high - 1:+.1%}]",
            f"{c.p_value:.2g}",
            p99,
            f"[{_STYLE[c.verdict]}]{c.verdict}[/]",
        )
    return table


def quality_table(comparison: Comparison) -> Table:
    """One row per matched (system, measure): before/after, delta, paired p, verdict."""
    table = Table(title="quality", title_justify="left")
    for column in ("system", "measure", "baseline", "candidate", "delta", "p", "verdict"):
        table.add_column(column, justify="left" if column in ("system", "measure", "verdict") else "right")
    for c in comparison.quality:
        table.add_row(
            c.system,
            c.measure,
            f"{c.baseline:.4f}",
            f"{c.candidate:.4f}",
            f"{c.delta:+.4f}",
            "-" if c.p_value is None else f"{c.p_value:.2g}",
            f"[{_STYLE[c.verdict]}]{c.verdict}[/]",
        )
    return table


def summary_lines(comparison: Comparison, fail_on: Sequence[str] = KINDS) -> list[str]:
    """The verdict, counts, environment differences and unmatched cells as short lines."""
    lines = []
    for kind, changes in (("latency", comparison.latency), ("quality", comparison.quality)):
        if changes:
            counts = {
                v: sum(c.verdict == v for c in changes) for v in ("regression", "improvement", "no change")
            }
            gate = "" if kind in fail_on else " (reported only)"
            lines.append(f"{kind}: " + ", ".join(f"{n} {v}" for v, n in counts.items()) + gate)
    if comparison.environment_differences:
        lines.append("environments differ: " + "; ".join(comparison.environment_differences[:6]))
    if comparison.only_baseline:
        lines.append(
            f"only in the baseline: {len(comparison.only_baseline)} cells, e.g. {comparison.only_baseline[0]}"
        )
    if comparison.only_candidate:
        lines.append(
            f"only in the candidate: {len(comparison.only_candidate)} cells, e.g. {comparison.only_candidate[0]}"
        )
    found = comparison.regressions(fail_on)
    lines.append(f"verdict: {'REGRESSION' if found else 'no regression'} (failing on {', '.join(fail_on)})")
    return lines


def markdown(
    comparison: Comparison, fail_on: Sequence[str] = KINDS, title: str = "Benchmark comparison"
) -> str:
    """A Markdown summary for a CI job: verdict first, then regressions/improvements, then the counts."""
    found = comparison.regressions(fail_on)
    out = [
        f"## {title}",
        "",
        f"**{'❌ regression' if found else '✅ no regression'}** (failing on {', '.join(fail_on)})",
        "",
    ]
    changed_latency = [c for c in comparison.latency if c.verdict != "no change"]
    if changed_latency:
        out += [
            "| cell | baseline | candidate | change | 95% CI | verdict |",
            "|---|---:|---:|---:|---:|---|",
        ]
        out += [
            f"| `{c.cell}` | {format_ns(c.baseline_ns)} | {format_ns(c.candidate_ns)} | {c.ratio - 1:+.1%} | "
            f"[{c.low - 1:+.1%}, {c.high - 1:+.1%}] | {c.verdict} |"
            for c in changed_latency
        ]
        out.append("")
    changed_quality = [c for c in comparison.quality if c.verdict != "no change"]
    if changed_quality:
        out += [
            "| system | measure | baseline | candidate | delta | p | verdict |",
            "|---|---|---:|---:|---:|---:|---|",
        ]
        out += [
            f"| `{c.system}` | {c.measure} | {c.baseline:.4f} | {c.candidate:.4f} | {c.delta:+.4f} | "
            f"{'-' if c.p_value is None else f'{c.p_value:.2g}'} | {c.verdict} |"
            for c in changed_quality
        ]
        out.append("")
    out += [f"- {line}" for line in summary_lines(comparison, fail_on)[:-1]]
    return "\n".join(out).rstrip() + "\n"
