"""`bench publish`: the pages, their links, idempotence, and a destination it may replace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.publish import publish
from bench.publish.pages import latency
from bench.publish.site import MARKER

REPO = Path(__file__).resolve().parents[3]
PAGES = {"index.html", "demo.latency.html", "demo.quality.html", "demo.frontier.html", "demo.compare.html"}


@pytest.fixture(scope="module")
def site(results: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    publish([results], out, stamp="STAMP")
    return out


def test_every_page_is_written_and_every_report_link_resolves(site: Path) -> None:
    assert {p.name for p in site.glob("*.html")} == PAGES
    for page in site.glob("*.html"):
        text = page.read_text("utf-8")
        for target in re.findall(r'"(reports/[^"]+)"', text):
            assert (site / target).is_file(), (page.name, target)
        # plotly.js is loaded from beside the page, never inlined into it.
        assert len(text) < 500_000 and "Plotly.newPlot" not in text.split("<main>")[0]
    assert (site / "plotly.min.js").stat().st_size > 1_000_000 and (site / MARKER).is_file()
    assert '<script src="plotly.min.js"' in (site / "demo.latency.html").read_text("utf-8")


def test_the_same_inputs_give_the_same_bytes_apart_from_the_stamp(results: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    publish([results], first, stamp="2026-01-01T00:00:00+00:00")
    publish([results], second, stamp="2027-12-31T23:59:59+00:00")
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    differ = [f for f in files if (first / f).read_bytes() != (second / f).read_bytes()]
    assert differ == [Path("index.html")]
    stamp = (
        (first / "index.html")
        .read_text("utf-8")
        .replace("2026-01-01T00:00:00+00:00", "2027-12-31T23:59:59+00:00")
    )
    assert stamp == (second / "index.html").read_text("utf-8")


def test_the_overview_gives_the_verdict_against_the_baseline_and_the_warnings(site: Path) -> None:
    index = (site / "index.html").read_text("utf-8")
    # The latest run is from another machine than the baseline: its latency is shown, not judged.
    verdict = "pass (failing on latency, quality; latency not judged: two machines)"
    assert f'class="pass"><a href="demo.compare.html">{verdict}' in index
    assert "4 on 2 machines" in index and "cpu-a, 2 cores" in index and "generated STAMP" in index
    assert "2 files left out" in index and "1 JSON files that are not reports" in index
    latest = re.search(r"<dt>latest run</dt><dd>(.*?)</dd>", index)
    assert latest is not None and '<span class="muted">results/' in latest.group(1)
    compare = (site / "demo.compare.html").read_text("utf-8")
    assert "thresholds: latency 10% (default)" in compare
    assert "normalised by the reference workload" in compare  # the baseline ran on the other machine
    assert compare.index(">regression<") < compare.index(">no change<")


def test_a_suite_with_one_run_says_its_trends_start_later(tmp_path: Path) -> None:
    from tests.bench.publish.sample import write_results

    write_results(tmp_path / "r", factors=(1.0,))
    publish([tmp_path / "r"], tmp_path / "site", stamp="x")
    page = (tmp_path / "site" / "demo.latency.html").read_text("utf-8")
    assert "One run so far" in page and "trend-0" not in page
    assert "the latest run is the baseline itself" in (tmp_path / "site" / "index.html").read_text("utf-8")


def test_a_folder_publish_did_not_write_is_refused(results: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["publish", str(results), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did not write" in err
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_a_failed_publish_leaves_the_previous_site(
    results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    publish([results], out, stamp="old")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}

    def broken(context: object) -> str:
        raise RuntimeError("a bug")

    monkeypatch.setattr(latency, "body", broken)
    with pytest.raises(RuntimeError):
        publish([results], out, stamp="new")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no staging folder left behind


def test_the_cli_publishes_and_says_what_it_left_out(results: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    assert main(["publish", str(results), "--out", str(tmp_path / "site")]) == 0
    out, err = capsys.readouterr()
    assert "5 pages of 1 suites from 5 reports (1 other JSON files skipped)" in out
    assert "largest page is demo.latency.html" in out
    assert err.count("warning:") == 2


def test_no_reports_is_a_user_error(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    (tmp_path / "empty").mkdir()
    assert main(["publish", str(tmp_path / "empty"), "--out", str(tmp_path / "site")]) == 2
    assert "no daft-bench reports found" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()


@pytest.mark.slow
def test_the_committed_results_publish_cleanly(tmp_path: Path) -> None:
    published = publish([REPO / "results"], tmp_path / "site", stamp="x")
    suites = {s.name for s in published.inputs.suites}
    assert {"ci_smoke", "cpu_latency", "encoder_sizes", "gpu_latency", "l0_recipes"} <= suites
    # The one report left out is the committed quick look; other tools' tables are skipped, not warned of.
    assert all("quick look" in w for w in published.inputs.warnings)
    assert max(published.pages.values()) < 5_000_000


def test_the_overview_fails_a_slower_run_of_the_baselines_machine(tmp_path: Path) -> None:
    from tests.bench.publish.sample import write_results

    write_results(tmp_path / "results")  # one machine: the last two runs 40% slower than the baseline
    publish([tmp_path / "results"], tmp_path / "site", stamp="STAMP")
    index = (tmp_path / "site" / "index.html").read_text("utf-8")
    assert 'class="fail"><a href="demo.compare.html">FAIL: 8 latency regressions' in index
