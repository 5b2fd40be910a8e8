"""A comparison on screen (Rich, regressions first, colour-coded) and as Markdown for a CI job summary.

The words are the verdict's: a passing gate reads "pass" (never "no regression", which a grep for
"regression" would take for a failure), a regression of a kind the gate does not fail on is "reported
only", and the thresholds in force are printed with where each came from.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from bench.compare import KINDS, VERDICTS, Comparison, describe
from bench.stats import format_ns

_STYLE = {"regression": "bold red", "improvement": "green", "no change": "dim"}
_NOUNS = {
    "regression": ("regression", "regressions"),
    "improvement": ("improvement", "improvements"),
    "no change": ("unchanged", "unchanged"),
}


def count(n: int, singular: str, plural: str | None = None) -> str:
    """ "1 regression", "3 regressions", "0 cells"."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def _verdict(verdict: str, gated: bool) -> str:
    if verdict == "regression" and not gated:
        return "[yellow]regression (reported only)[/]"
    return f"[{_STYLE[verdict]}]{verdict}[/]"


def latency_table(comparison: Comparison, fail_on: Sequence[str] = KINDS) -> Table:
    """One row per matched cell: p50 before/after, ratio with its 95% CI, Mann-Whitney p, verdict."""
    notes = ["normalised by the reference workload"] if comparison.normalised else []
    notes += [] if comparison.latency_judged else ["not judged: two machines"]
    unit = f" ({'; '.join(notes)})" if notes else ""
    table = Table(title=f"latency, end-to-end p50{unit}", title_justify="left")
    gated = "latency" in comparison.judged(fail_on)
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
            _verdict(c.verdict, gated),
        )
    return table


def quality_table(comparison: Comparison, fail_on: Sequence[str] = KINDS) -> Table:
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
            _verdict(c.verdict, "quality" in fail_on),
        )
    return table


def verdict_line(comparison: Comparison, fail_on: Sequence[str] = KINDS) -> str:
    """ "verdict: pass (...)" or "verdict: FAIL: 1 latency regression, 15 latency cells missing (...)"."""
    gated = f"failing on {', '.join(fail_on)}"
    if "latency" in fail_on and not comparison.latency_judged:
        gated += "; latency not judged: two machines"
    judged = comparison.judged(fail_on)
    reasons = []
    for kind, changes in (("latency", comparison.latency), ("quality", comparison.quality)):
        if kind in judged and (n := sum(c.verdict == "regression" for c in changes)):
            reasons.append(f"{count(n, f'{kind} regression')}")
    if not comparison.missing_allowed:
        if "latency" in judged and comparison.only_baseline:
            reasons.append(
                f"{count(len(comparison.only_baseline), 'latency cell')} missing from the candidate"
            )
        if "quality" in fail_on and comparison.missing_quality:
            reasons.append(
                f"{count(len(comparison.missing_quality), 'quality measure')} missing from the candidate"
            )
    if reasons:
        return f"verdict: FAIL: {', '.join(reasons)} ({gated})"
    return f"verdict: pass ({gated})"


def summary_lines(comparison: Comparison, fail_on: Sequence[str] = KINDS) -> list[str]:
    """The thresholds, counts, environment differences, unmatched cells, then the verdict, as short lines."""
    lines = [describe(comparison.gate, comparison.sources)]
    judged = comparison.judged(fail_on)
    for kind, changes in (("latency", comparison.latency), ("quality", comparison.quality)):
        if changes:
            counts = [count(sum(c.verdict == v for c in changes), *_NOUNS[v]) for v in VERDICTS]
            gate = "" if kind in judged else " (reported only: not failing the gate)"
            lines.append(f"{kind}: " + ", ".join(counts) + gate)
    if not comparison.latency_judged:
        lines.append(
            "latency not judged: the reports come from two machines ("
            + "; ".join(comparison.machine_differences[:3])
            + "); a latency baseline holds on the machine that made it (refresh it there with "
            "`bench baseline update`); quality is judged as usual"
        )
    if comparison.environment_differences:
        lines.append("environments differ: " + "; ".join(comparison.environment_differences[:6]))
    counted = "listed only (--allow-partial)" if comparison.missing_allowed else "fails the gate"
    for kind, missing, noun in (
        ("latency", comparison.only_baseline, "latency cell"),
        ("quality", comparison.missing_quality, "quality measure"),
    ):
        if missing:
            effect = counted if kind in judged else "reported only"
            lines.append(
                f"missing from the candidate: {count(len(missing), noun)}, e.g. {missing[0]} ({effect})"
            )
    if comparison.only_candidate:
        lines.append(
            f"only in the candidate: {count(len(comparison.only_candidate), 'cell')}, "
            f"e.g. {comparison.only_candidate[0]}"
        )
    lines.append(verdict_line(comparison, fail_on))
    return lines


def markdown(
    comparison: Comparison, fail_on: Sequence[str] = KINDS, title: str = "Benchmark comparison"
) -> str:
    """A Markdown summary for a CI job: verdict first, then regressions/improvements, then the counts."""
    verdict = verdict_line(comparison, fail_on).removeprefix("verdict: ")
    mark = "❌" if comparison.exit_code(fail_on) else "✅"
    out = [f"## {title}", "", f"**{mark} {verdict}**", ""]
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
