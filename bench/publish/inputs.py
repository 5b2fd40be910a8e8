"""The reports a site is published from: every report under the given folders, one per run, by suite.

A results folder holds stamped reports, their `-latest` copies, baselines (`baselines/<suite>.json`, as
`bench baseline update` stores them) and other tools' JSON (`daft summary` tables): copies of one run are
merged (the same suite, start time and machine), JSON that is no report is skipped, and quick looks are
left out as `bench history` leaves them out. An unreadable report is left out with a warning: one bad file
must not stop a site of hundreds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench import schema
from bench.environment import fingerprint_digest
from bench.history import start_time
from bench.results import Report
from daft.core.errors import UserError

__all__ = ["REPORTS", "Inputs", "Source", "SuiteRuns", "collect", "report_files"]

SUFFIXES = (".json", ".json.gz")
REPORTS = "reports"  # the site's folder of report copies


@dataclass(frozen=True)
class Source:
    """One report file: where it was read, where the site keeps its copy, and the report."""

    path: Path
    link: str  # the copy's path in the site, relative to the pages
    report: Report

    @property
    def baseline(self) -> bool:
        """Whether it is a stored baseline: `baselines/<suite>.json`."""
        return self.path.parent.name == "baselines" and self.path.name == f"{self.report.suite_name}.json"

    @property
    def started(self) -> datetime:
        """When its run started."""
        return start_time(self.report)

    @property
    def identity(self) -> tuple[str, str, str]:
        """What copies of one run share: suite, start time, machine."""
        report = self.report
        return report.suite_name, str(report.started_at), fingerprint_digest(report.environment)

    def _preference(self) -> tuple[bool, bool, str]:
        # Of a run's copies, the site links the stamped report, else any, the `-latest` copy and baseline last.
        return self.path.name.endswith("-latest.json"), self.baseline, str(self.path)


@dataclass(frozen=True)
class SuiteRuns:
    """A suite's runs, oldest first (quick looks out, copies merged), and its baseline if one was found."""

    name: str
    runs: tuple[Source, ...]
    baseline: Source | None

    @property
    def latest(self) -> Source:
        """The newest run."""
        return self.runs[-1]


@dataclass(frozen=True)
class Inputs:
    """Every suite found, the report files the site copies, and what was left out."""

    suites: tuple[SuiteRuns, ...]
    copied: tuple[Source, ...]
    not_reports: int  # JSON files of other tools
    warnings: tuple[str, ...]


def report_files(root: Path, exclude: Path | None = None) -> list[Path]:
    """The JSON files under `root` (hidden and staging files, and anything under `exclude`, left out)."""
    found = []
    for path in sorted(Path(root).rglob("*")):
        parts = path.relative_to(root).parts
        if any(part.startswith(".") for part in parts) or not path.name.endswith(SUFFIXES):
            continue
        if exclude is not None and path.resolve().is_relative_to(exclude.resolve()):
            continue
        if path.is_file():
            found.append(path)
    return found


def _folder_names(roots: Sequence[Path]) -> list[str]:
    """A distinct folder name in the site's `reports/` per input folder (its own name, numbered if taken)."""
    names: list[str] = []
    for root in roots:
        name = Path(root).resolve().name or "results"
        candidate, n = name, 1
        while candidate in names:
            n += 1
            candidate = f"{name}-{n}"
        names.append(candidate)
    return names


def _read(roots: Sequence[Path], exclude: Path | None) -> tuple[list[Source], int, list[str]]:
    sources, not_reports, warnings = [], 0, []
    for root, name in zip(roots, _folder_names(roots), strict=True):
        if not Path(root).is_dir():
            raise UserError(f"{root}: no such results folder")
        for path in report_files(root, exclude):
            try:
                report = schema.load(path)
                start_time(report)
            except schema.NotAReport:
                not_reports += 1
                continue
            except UserError as err:
                warnings.append(f"{err}; left out")
                continue
            except (TypeError, ValueError):
                warnings.append(f"{path}: no valid started_at; left out")
                continue
            if report.quick_look:
                warnings.append(f"{path}: a quick look (--set overrides without --as-latest); left out")
                continue
            link = f"{REPORTS}/{name}/{path.relative_to(root).as_posix()}"
            sources.append(Source(path, link, report))
    return sources, not_reports, warnings


def _suites(sources: Sequence[Source]) -> list[SuiteRuns]:
    by_run: dict[tuple[str, str, str], Source] = {}
    for source in sorted(sources, key=Source._preference):
        by_run.setdefault(source.identity, source)
    names = sorted({s.report.suite_name for s in by_run.values()})
    suites = []
    for name in names:
        runs = sorted(
            (s for s in by_run.values() if s.report.suite_name == name),
            key=lambda s: (s.started, str(s.path)),
        )
        baselines = [s for s in sources if s.baseline and s.report.suite_name == name]
        baseline = max(baselines, key=lambda s: (s.started, str(s.path)), default=None)
        suites.append(SuiteRuns(name, tuple(runs), baseline))
    return suites


def collect(roots: Sequence[Path], exclude: Path | None = None) -> Inputs:
    """The reports under `roots` (recursively), grouped by suite; `exclude` is the site being written."""
    sources, not_reports, warnings = _read(roots, exclude)
    suites = _suites(sources)
    copied = {s.link: s for suite in suites for s in (*suite.runs, suite.baseline) if s is not None}
    return Inputs(tuple(suites), tuple(copied[k] for k in sorted(copied)), not_reports, tuple(warnings))
