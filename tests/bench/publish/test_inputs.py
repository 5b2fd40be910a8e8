"""Which files a site is made of: copies merged, other JSON skipped, quick looks and bad reports left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import schema
from bench.publish.inputs import collect
from daft.core.errors import UserError


def test_runs_are_merged_ordered_and_the_baseline_found(results: Path) -> None:
    inputs = collect([results])
    (suite,) = inputs.suites
    assert suite.name == "demo"
    # Four runs: the -latest copy and the baseline are the same runs as stamped reports, linked as those.
    assert [run.path.name for run in suite.runs] == [
        f"demo-20261101T{h:02d}0000.json" for h in (9, 10, 11, 12)
    ]
    assert suite.latest.link == "reports/results/demo-20261101T120000.json"
    assert suite.baseline is not None and suite.baseline.link == "reports/results/baselines/demo.json"
    assert len(inputs.copied) == 5  # four runs and the baseline


def test_other_json_is_skipped_quietly_and_bad_reports_are_left_out_with_a_warning(results: Path) -> None:
    inputs = collect([results])
    assert inputs.not_reports == 1  # summary-table.json
    assert len(inputs.warnings) == 2
    assert "quick look" in inputs.warnings[0] and "malformed report" in inputs.warnings[1]


def test_a_json_list_is_not_a_report(tmp_path: Path) -> None:
    path = tmp_path / "table.json"
    path.write_text("[1, 2]")
    with pytest.raises(schema.NotAReport, match="not a daft-bench report"):
        schema.load(path)
    assert issubclass(schema.NotAReport, UserError)  # a reader of one file still exits 2


def test_the_site_being_written_is_not_read(results: Path, tmp_path: Path) -> None:
    inside = collect([results.parent], exclude=results)
    assert inside.suites == ()


def test_a_missing_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such results folder"):
        collect([tmp_path / "nope"])
