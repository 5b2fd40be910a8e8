"""A suite's comparison page: its latest run judged against its baseline as `bench compare` judges it
(both kinds failing, the baseline's [gate] thresholds): the verdict, regressions first, the thresholds in
force and where each came from, and what the candidate lacks."""

from __future__ import annotations

from bench import schema
from bench.compare import KINDS, Comparison, check_complete, compare
from bench.publish.context import Context, Judged
from bench.publish.html import Td, esc, link, table
from bench.publish.inputs import SuiteRuns
from bench.report.comparison import summary_lines, verdict_line
from bench.stats import format_ns
from daft.core.errors import UserError

KIND = "compare"


def judge(suite: SuiteRuns) -> Judged | None:
    """The latest run against the baseline (None without a baseline); an unusable pair is a note."""
    base, latest = suite.baseline, suite.latest
    if base is None:
        return None
    if latest.identity == base.identity:
        return Judged(None, "the latest run is the baseline itself: nothing to compare yet")
    try:
        before = schema.load(base.path, per_query=True)
        after = schema.load(latest.path, per_query=True)
        check_complete(before, "baseline", base.path)
        check_complete(after, "candidate", latest.path)
        comparison = compare(before, after, before.gate)
    except UserError as err:
        return Judged(None, f"not compared: {err}")
    return Judged(comparison, verdict_line(comparison, KINDS))


def applies(suite: SuiteRuns) -> bool:
    """Whether the suite has a baseline to compare with (the page then says what came of it)."""
    return suite.baseline is not None


def _verdict_td(verdict: str) -> Td:
    return Td(verdict, cls=verdict.replace(" ", "-"))


def latency_table(c: Comparison) -> str:
    """Every matched cell, regressions first."""
    rows = [
        [
            x.cell,
            Td(format_ns(x.baseline_ns), sort=x.baseline_ns),
            Td(format_ns(x.candidate_ns), sort=x.candidate_ns),
            Td(f"{x.ratio - 1:+.1%}", sort=x.ratio),
            Td(f"[{x.low - 1:+.1%}, {x.high - 1:+.1%}]", sort=x.low),
            Td(f"{x.p_value:.2g}", sort=x.p_value),
            Td(f"{x.tails['p99'] - 1:+.1%}", sort=x.tails["p99"]) if "p99" in x.tails else Td("-"),
            _verdict_td(x.verdict),
            Td(x.reason, cls="wrap"),
        ]
        for x in c.latency
    ]
    unit = " (normalised by the reference workload: the machines differ)" if c.normalised else ""
    headers = ["cell", "baseline", "candidate", "change", "95% CI", "MWU p", "p99", "verdict", "why"]
    return table(headers, rows, caption=f"latency, end-to-end p50{unit}", table_id="compare-latency")


def quality_table(c: Comparison) -> str:
    """Every matched (system, measure), regressions first."""
    rows = [
        [
            x.system,
            x.measure,
            Td(f"{x.baseline:.4f}", sort=x.baseline),
            Td(f"{x.candidate:.4f}", sort=x.candidate),
            Td(f"{x.delta:+.4f}", sort=x.delta),
            Td("-" if x.p_value is None else f"{x.p_value:.2g}", sort=x.p_value),
            _verdict_td(x.verdict),
            Td(x.reason, cls="wrap"),
        ]
        for x in c.quality
    ]
    headers = ["system", "measure", "baseline", "candidate", "delta", "p", "verdict", "why"]
    return table(headers, rows, caption="quality (paired randomisation test)", table_id="compare-quality")


def _missing(c: Comparison) -> str:
    lists = [
        ("latency cells the candidate lacks", c.only_baseline),
        ("quality measures the candidate lacks", c.missing_quality),
        ("cells only in the candidate", c.only_candidate),
    ]
    return "".join(
        f"<details><summary>{len(items)} {esc(title)}</summary><ul>"
        + "".join(f"<li>{esc(item)}</li>" for item in items)
        + "</ul></details>"
        for title, items in lists
        if items
    )


def comparison_html(c: Comparison, base: str, candidate: str) -> str:
    """A comparison as HTML: the verdict, the lines `bench compare` prints, the tables, what is missing;
    `base` and `candidate` are links to the two reports."""
    failed = bool(c.exit_code(KINDS))
    lines = "".join(f"<li>{esc(line)}</li>" for line in summary_lines(c, KINDS)[:-1])
    parts = [
        f'<p class="{"fail" if failed else "pass"}">{esc(verdict_line(c, KINDS))}</p>',
        f"<p>baseline {base} · candidate {candidate}</p>",
        f"<ul>{lines}</ul>",
        _missing(c),
    ]
    if c.latency:
        parts.append(latency_table(c))
    if c.quality:
        parts.append(quality_table(c))
    return "\n".join(parts)


def body(context: Context) -> str:
    """The page's content."""
    suite, judged = context.suite, context.judged
    assert suite.baseline is not None and judged is not None
    if judged.comparison is None:
        return f"<p>{esc(judged.note)}</p><p>baseline {link(suite.baseline.link, suite.baseline.link)}</p>"
    base, latest = suite.baseline, suite.latest
    return comparison_html(judged.comparison, link(base.link, base.link), link(latest.link, latest.link))
