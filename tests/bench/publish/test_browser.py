"""The published site in a real browser (headless Chromium from the system's packages): every page renders
without console errors at desktop and phone sizes, the charts hold the expected traces and points, a table
sorts, a click on a point opens its report; screenshots are saved beside the site (look at them:
`pytest --basetemp=DIR`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.publish import publish
from tests.bench.publish import browser as chromium
from tests.bench.publish.sample import BACKENDS, BATCHES, ENCODERS, MEASURES

pytestmark = pytest.mark.skipif(chromium.missing() is not None, reason=str(chromium.missing()))


@pytest.fixture(scope="module")
def site(results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "site"
    publish([results], out, stamp="STAMP")
    return out


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    with chromium.browser() as d:
        yield d


def _traces(driver: Any, div: str) -> list[dict]:
    """Each trace of a chart as plotly holds it, and the markers it drew."""
    return driver.execute_script(
        """const gd = document.getElementById(arguments[0]);
        return gd.data.map((t, i) => ({name: t.name, mode: t.mode, n: t.x.length,
            link: t.customdata ? t.customdata[0][0] : null,
            drawn: gd.querySelectorAll('.scatterlayer .trace')[i].querySelectorAll('.point').length}));""",
        div,
    )


PAGES = ["index", "demo.latency", "demo.quality", "demo.frontier", "demo.compare"]


@pytest.mark.parametrize("page", PAGES)
def test_each_page_renders_without_console_errors_at_both_sizes(site: Path, driver: Any, page: str) -> None:
    for size, label in ((chromium.DESKTOP, "desktop"), (chromium.PHONE, "phone")):
        errors = chromium.open_page(driver, site / f"{page}.html", size)
        assert errors == [], errors
        # Nothing but a table's own box scrolls sideways: the page fits the screen.
        assert driver.execute_script("return document.documentElement.scrollWidth") <= size[0]
        chromium.screenshot(driver, site.parent / f"{page}-{label}.png", size)
        assert (site.parent / f"{page}-{label}.png").stat().st_size > 5_000


def test_the_latency_trends_hold_one_line_per_cell_and_machine_with_the_gates_marks(
    site: Path, driver: Any
) -> None:
    chromium.open_page(driver, site / "demo.latency.html")
    charts = driver.execute_script("return document.querySelectorAll('.plotly-graph-div').length")
    assert charts == len(ENCODERS) * len(BACKENDS)  # one per row of cells
    traces = _traces(driver, "trend-0")
    lines = [t for t in traces if t["mode"] == "lines+markers"]
    assert len(lines) == len(BATCHES) * 2  # each batch size on each of the two machines
    assert all(t["n"] == 2 and t["drawn"] == 2 for t in lines)  # two runs per machine
    (marks,) = [t for t in traces if t["name"] == "regression"]
    assert marks["n"] == marks["drawn"] == len(lines)  # every second run is 40% slower
    assert all(t["link"].startswith("reports/results/demo-") for t in lines)


def test_the_frontier_and_quality_charts_hold_their_points(site: Path, driver: Any) -> None:
    chromium.open_page(driver, site / "demo.frontier.html")
    frontier = {t["name"]: t for t in _traces(driver, "frontier")}
    assert set(frontier) == {"dense", "dense Pareto set", "hybrid", "hybrid Pareto set"}
    assert all(t["n"] == len(ENCODERS) for t in frontier.values())
    assert frontier["dense"]["drawn"] == len(ENCODERS)
    chromium.open_page(driver, site / "demo.quality.html")
    alpha = [t for t in _traces(driver, "alpha") if t["mode"] == "lines+markers"]
    assert [t["n"] for t in alpha] == [5, 5]  # two hybrid systems over a five-point grid
    for i in range(len(MEASURES)):
        systems = _traces(driver, f"measure-{i}")
        assert len(systems) == 5 and all(t["n"] == t["drawn"] == 4 for t in systems)


def test_a_table_sorts_by_the_clicked_column_both_ways(site: Path, driver: Any) -> None:
    chromium.open_page(driver, site / "demo.latency.html")

    def column(index: int) -> list[float]:
        return driver.execute_script(
            "return Array.from(document.querySelectorAll('#latency-latest tbody tr'))"
            ".map(r => Number(r.cells[arguments[0]].dataset.sort));",
            index,
        )

    header = driver.find_elements("css selector", "#latency-latest th")[5]
    assert header.text == "p50"
    before = column(5)
    assert before != sorted(before)
    header.click()
    assert column(5) == sorted(before) and header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert column(5) == sorted(before, reverse=True) and header.get_attribute("aria-sort") == "descending"


def test_a_click_on_a_point_opens_its_report(site: Path, driver: Any) -> None:
    chromium.open_page(driver, site / "demo.latency.html")
    link = driver.execute_script(
        """const gd = document.getElementById('trend-0');
        const trace = gd.data.find(t => t.mode === 'lines+markers');
        gd.emit('plotly_click', {points: [{customdata: trace.customdata[1]}]});
        return trace.customdata[1][0];"""
    )
    assert driver.current_url == (site / link).resolve().as_uri()
