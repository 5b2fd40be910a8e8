"""Publishing: read the reports, render every page, and replace the site folder as a whole.

The site is written into a staging folder beside `out` and moved into place only when complete
(`daft.store.cache.staged`), so a failed publish leaves the previous site as it was. A folder is replaced only
if it is empty or a site this wrote before (it holds `MARKER`): `--out results` must not delete results.
Everything but the generation stamp on the front page follows from the inputs, so the same reports give
the same bytes.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.publish import static
from bench.publish.context import Context
from bench.publish.html import link, page
from bench.publish.inputs import Inputs, collect
from bench.publish.machine import Machines
from bench.publish.pages import comparison, frontier, latency, overview, quality
from bench.schema import now
from daft.core.errors import UserError
from daft.store.cache import staged

__all__ = ["MARKER", "Published", "check_destination", "publish"]

MARKER = ".bench-site"
_MARKER_TEXT = "written by `python -m bench publish`: the whole folder is replaced by the next publish\n"
SUITE_PAGES = (latency, quality, frontier, comparison)
INDEX = "index.html"


@dataclass(frozen=True)
class Published:
    """What a publish wrote: the pages (file -> bytes), the reports copied, and what was left out."""

    out: Path
    pages: dict[str, int]
    inputs: Inputs


def check_destination(out: Path) -> None:
    """A UserError unless `out` is new, an empty folder, or a site written by `publish`."""
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise UserError(f"{out}: --out exists and is not a folder")
    if any(out.iterdir()) and not (out / MARKER).is_file():
        raise UserError(
            f"{out}: --out is a folder with files that `bench publish` did not write; "
            "give a new or empty folder (a site is replaced as a whole)"
        )


def _contexts(inputs: Inputs) -> tuple[list[Context], Machines]:
    machines = Machines()
    labels = {run.link: machines.label(run.report.environment) for s in inputs.suites for run in s.runs}
    contexts = []
    for suite in inputs.suites:
        kinds = tuple(module.KIND for module in SUITE_PAGES if module.applies(suite))
        contexts.append(Context(suite, comparison.judge(suite), labels, kinds))
    return contexts, machines


def _pages(inputs: Inputs, stamp: str) -> dict[str, str]:
    contexts, machines = _contexts(inputs)
    nav = [(INDEX, "overview")] + [(c.name(c.pages[0]), c.suite.name) for c in contexts if c.pages]
    pages = {}
    for context in contexts:
        tabs = " · ".join(link(context.name(kind), overview.TITLES[kind]) for kind in context.pages)
        for module in SUITE_PAGES:
            if module.KIND in context.pages:
                content = f'<p class="tabs">{tabs}</p>\n{module.body(context)}'
                title = f"{context.suite.name}: {overview.TITLES[module.KIND]}"
                charts = "plotly-graph-div" in content
                pages[context.name(module.KIND)] = page(title, content, nav=nav, charts=charts)
    front = overview.body(contexts, inputs, machines)
    pages[INDEX] = page("daft-bench results", front, nav=nav, footer=f"· generated {stamp}")
    return pages


def publish(roots: Sequence[Path], out: Path, *, stamp: str | None = None) -> Published:
    """Write the site of the reports under `roots` to `out` (replacing a previous site there)."""
    out = Path(out)
    check_destination(out)
    inputs = collect(roots, exclude=out)
    if not inputs.suites:
        raise UserError(f"{', '.join(str(r) for r in roots)}: no daft-bench reports found")
    pages = _pages(inputs, stamp or now())
    with staged(out) as staging:
        for name, content in static.files().items():
            (staging / name).write_bytes(content)
        for name, text in pages.items():
            (staging / name).write_text(text, encoding="utf-8")
        for source in inputs.copied:
            target = staging / source.link
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source.path, target)
        (staging / MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
    return Published(out, {name: len(text.encode("utf-8")) for name, text in pages.items()}, inputs)
