"""What every page of a site is rendered with: the suite, its comparison, machine labels, the pages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bench.compare import Comparison
from bench.publish.inputs import SuiteRuns

__all__ = ["Context", "Judged", "page_name"]


def page_name(suite: str, kind: str) -> str:
    """The file of a suite's page of one kind: `<suite>.<kind>.html`."""
    return f"{suite}.{kind}.html"


@dataclass(frozen=True)
class Judged:
    """The latest run against the suite's baseline: the comparison, or why there is none."""

    comparison: Comparison | None
    note: str  # the verdict line, or why nothing was compared


@dataclass(frozen=True)
class Context:
    """A suite as the pages see it."""

    suite: SuiteRuns
    judged: Judged | None  # None without a baseline
    machines: Mapping[str, str]  # Source.link -> machine label
    pages: tuple[str, ...]  # the kinds of page this suite has

    def name(self, kind: str) -> str:
        """The file of this suite's page of `kind`."""
        return page_name(self.suite.name, kind)
