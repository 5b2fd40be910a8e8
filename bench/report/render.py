"""A report on screen: its tables and summary lines, the same for a live run and a saved report."""

from __future__ import annotations

from rich.markup import escape

from bench.report import quality, tables
from bench.results import Report
from bench.retrieval.systems.vectors import VectorSettings
from daft.core.progress import output_console

# Tables are the product of a run, so they go to stdout (progress and errors go to stderr).
stdout = output_console()


WIDE_HELP = (
    "one latency table with a column per batch size and every figure in a cell (wider than 100 columns)"
)


def render(report: Report, *, phases: bool = False, wide: bool = False) -> None:
    """Print a report's tables and summary lines (`wide`: the latency tables' wide layout)."""
    if report.setups:
        stdout.print(tables.setup_table(report))
    for table in tables.latency_tables(report, wide=wide):
        stdout.print(table)
    if phases and report.cells:
        stdout.print(tables.phase_table(report))
    if report.retrieval:
        stdout.print(quality.retrieval_table(report.retrieval))
        stdout.print(quality.comparison_table(report.retrieval))
        setting = (
            report.suite.retrieval.setting(VectorSettings).doc_precision if report.suite.retrieval else ""
        )
        for line in quality.precision_lines(report.retrieval, setting) + quality.timing_lines(
            report.retrieval
        ):
            stdout.print(escape(line), highlight=False, soft_wrap=True)
    if report.frontier:
        stdout.print(quality.frontier_table(report.frontier))
    for line in tables.summary_lines(report):
        stdout.print(escape(line), highlight=False, soft_wrap=True)
