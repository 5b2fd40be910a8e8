import gzip
import json
import math
import os
from dataclasses import replace
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.plan import Cell
from bench.report import schema
from bench.results import (
    Artifacts,
    CellResult,
    CellRound,
    EncoderInfo,
    Exclusion,
    FrontierEntry,
    FrontierLatency,
    PairInfo,
    PhaseStats,
    PrecisionCheck,
    SetupResult,
    Warmup,
)
from bench.retrieval.significance import SystemComparison
from daft.errors import UserError
from tests.bench.support import report, retrieval, system

BASELINE = Path(__file__).parents[3] / "results" / "baselines" / "ci_smoke.json"
CELL = Cell("m", "torch", "cpu", "fp32", 1, 1)
STATS = PhaseStats(n=3, median=1.5, p50=1.5, median_ci=(1.0, 2.0), throughput=600.0, cv=0.1)


def _full():
    """A report with one of every result type, nothing NaN (JSON would turn it into null)."""
    comparison = SystemComparison(
        "m/dense", "bm25", "nDCG@10", 0.5, 0.4, 0.1, 3, 1, 0, 0.02, 0.03, 0.06, False
    )
    check = PrecisionCheck("nDCG@10", 0.5, 0.5, 0.01)
    pair = PairInfo(22, "computed", "flat", {"load_s": 1.0}, "onnx-int8", check)
    dense = system("m/dense", {"nDCG@10": 0.5}, pair=pair, per_query={"nDCG@10": {"q1": 0.5, "q2": 0.5}})
    bm25 = system("bm25", {"nDCG@10": 0.4}, per_query={"nDCG@10": {"q1": 0.3, "q2": 0.5}})
    quality = replace(
        retrieval([bm25, dense]),
        tune_split="test",
        tune_folds=5,
        primary_measure="nDCG@10",
        comparisons=(comparison,),
        timings={"bm25_s": 1.0},
    )
    at = FrontierLatency("m/torch/cpu/fp32/b1/t1", 1.5, (1.0, 2.0), None)
    entry = FrontierEntry(
        "m", 22, "nDCG@10", "this run", {1: at, 256: None}, {"dense": 0.5, "hybrid": None}, {"dense": True}
    )
    return report(
        [CellResult(CELL, STATS, STATS, STATS, {"end_to_end": (1, 2, 3)}, Warmup(4, 2, True), False, 0.1, {"rss_peak": 9}, ("w",),
                    rounds=(CellRound(1.5, 2, 0), CellRound(2.0, 1, 3)), stopped="interval")],
        retrieval=quality,
        encoders={"m": EncoderInfo("m", "transformer", 22, 8, 100, "abc", 0.5, {"model": "x"})},
        setups=(SetupResult("m", "torch", "cpu", "fp32", 1, 0.5, 0.1, 1000, 1e-6, 1e-3, None, 100, {"torch": "2"}),),
        excluded=(Exclusion(replace(CELL, dtype="fp16"), "half precision is measured on cuda only"),),
        frontier=(entry,),
        environment={"cpu": {"model": "x"}},
        status="complete",
    )  # fmt: skip


def test_every_result_type_round_trips_through_json(tmp_path):
    written = schema.write(_full(), tmp_path)
    assert written.artifacts == Artifacts(schema.artifacts_dir(written, tmp_path).name, ("per_query.jsonl",))
    stamped, latest = schema.paths(written, tmp_path)
    assert schema.load(stamped, per_query=True) == written
    without = schema.load(latest)  # tables and history need no per-query values
    assert without.retrieval.systems[1].per_query == {} and without.cells == written.cells
    assert json.loads(schema._text(without)) == json.loads(stamped.read_text())


def test_files_beside_a_report_as_bytes_text_or_lines(tmp_path):
    lines = (f"q{i} Q0 d 1 0.5 t" for i in range(3))  # made only as the file is written
    files = {"plot.png": b"\x89PNG", "a.txt": "text\n", "runs/x.trec": lines}
    written = schema.write(report(), tmp_path, files)
    folder = schema.artifacts_dir(written, tmp_path)
    assert written.artifacts.files == ("a.txt", "plot.png", "runs/x.trec")
    assert (folder / "plot.png").read_bytes() == b"\x89PNG" and (folder / "a.txt").read_text() == "text\n"
    assert (folder / "runs" / "x.trec").read_text() == "".join(f"q{i} Q0 d 1 0.5 t\n" for i in range(3))


def test_a_report_without_rounds_still_loads(tmp_path):
    data = json.loads(schema._text(_full()))
    del data["cells"][0]["rounds"]  # as every report written before interleaved rounds
    (tmp_path / "old.json").write_text(json.dumps(data))
    assert schema.load(tmp_path / "old.json").cells[0].rounds == ()
    assert data["schema_version"] == schema.SCHEMA_VERSION


def test_the_committed_baseline_loads_and_writes_back_byte_for_byte(tmp_path):
    baseline = schema.load(BASELINE, per_query=True)
    assert baseline.suite_name == "ci_smoke" and baseline.cells and baseline.retrieval.systems
    # Written before cross-validation existed: alpha tuned on a split.
    assert baseline.retrieval.tune_folds == 0 and baseline.retrieval.tuning == "alpha tuned on dev"
    assert all(s.per_query for s in baseline.retrieval.systems)
    stored = schema.store(baseline, tmp_path)
    # Written back as written, but for what a hybrid's parameters no longer repeat (where alpha was tuned
    # is the run's `tune_split`) and the primary measure, now named (the first of `measures` before).
    expected = json.loads(BASELINE.read_text())
    for entry in expected["retrieval"]["systems"]:
        entry["params"].pop("tuned_on", None)
    expected["retrieval"]["primary_measure"] = expected["retrieval"]["measures"][0]
    assert json.loads(stored.read_text()) == expected
    assert (tmp_path / "ci_smoke" / "per_query.jsonl").read_text() == (
        BASELINE.parent / "ci_smoke" / "per_query.jsonl"
    ).read_text()
    assert main(["compare", str(BASELINE), str(stored), "--fail-on", "quality"]) == 0


def test_names_partial_and_strict_json(tmp_path):
    nan = report([CellResult(CELL, replace(STATS, cv=math.nan))], overrides=("latency.batch_sizes=[1]",))
    written = schema.write(nan, tmp_path / "results")
    stamped, latest = schema.paths(written, tmp_path / "results")
    # a report is partial until a run finishes it: kept under its own name, never as -latest
    assert latest is None and stamped.name.startswith("s-2") and stamped.name.endswith(".partial.json")
    loaded = schema.load(stamped)
    assert loaded.overrides == ("latency.batch_sizes=[1]",)
    assert loaded.status == "partial"
    assert loaded.cells[0].end_to_end.cv is None  # strict JSON: NaN is written as null
    assert json.loads(stamped.read_text())["artifacts"]["files"] == []  # nothing beside a latency-only report
    assert [p.name for p in (tmp_path / "results").iterdir()] == [stamped.name]


def test_interrupted_write_keeps_previous_report(tmp_path, monkeypatch):
    results = tmp_path / "results"
    schema.write(report(), results)
    before = {p.name: p.read_text() for p in results.iterdir()}

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        schema.write(report(), results)
    monkeypatch.undo()
    assert {p.name: p.read_text() for p in results.iterdir()} == before  # no temp file, nothing torn


def test_a_gzipped_report_reads_like_the_plain_one(tmp_path):
    written = schema.write(_full(), tmp_path)
    stamped, _ = schema.paths(written, tmp_path)
    archived = tmp_path / "archived.json.gz"
    archived.write_bytes(gzip.compress(stamped.read_bytes()))
    assert schema.load(archived) == schema.load(stamped)
    assert main(["report", str(archived)]) == 0


@pytest.mark.parametrize(
    "name, content",
    [
        ("r.json.gz", b"{}"),
        ("r.json.gz", gzip.compress(b"{broken")),
        ("r.json.gz", gzip.compress(b"{}")[:-6]),
    ],
)
def test_a_damaged_gzipped_report_is_refused(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(UserError, match=f"{name}: not a readable JSON report"):
        schema.load(tmp_path / name)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{broken", "not a readable JSON report"),
        (json.dumps({"schema": "other"}), "not a daft-bench report"),
        (json.dumps([1]), "not a daft-bench report"),
        (json.dumps({"schema": schema.SCHEMA, "schema_version": 0}), "schema_version 0 is not supported"),
        (json.dumps({"schema": schema.SCHEMA, "schema_version": 1}), "malformed report .*KeyError"),
        (b"\xff\xfe", "not a readable JSON report"),
    ],
)
def test_load_refuses(tmp_path, content, message):
    path = tmp_path / "r.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(UserError, match=message):
        schema.load(path)
    with pytest.raises(UserError, match="no such report"):
        schema.load(tmp_path / "missing.json")


def test_a_malformed_cell_is_exit_2_naming_the_file(tmp_path, capsys):
    data = json.loads(BASELINE.read_text())
    del data["cells"][0]["cell"]["dtype"]
    path = tmp_path / "hand-edited.json"
    path.write_text(json.dumps(data))
    assert main(["report", str(path)]) == 2
    assert "hand-edited.json: malformed report" in capsys.readouterr().err


def test_runs_of_one_suite_started_in_one_second_never_share_a_name(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    done = replace(report(), status="complete")  # every copy has the same started_at, to the second
    results = tmp_path / "results"
    with ThreadPoolExecutor(4) as pool:
        written = list(pool.map(lambda _: schema.write(done, results, {"runs/a.trec": "x\n"}), range(8)))
    names = [schema.paths(w, results)[0] for w in written]
    assert len(set(names)) == 8 and all(
        schema.load(n).artifacts == w.artifacts for n, w in zip(names, written, strict=True)
    )
    assert len({w.artifacts.dir for w in written}) == 8  # each run's files in a folder of its own
    assert schema.load(results / "s-latest.json").status == "complete"


def test_a_partial_run_never_replaces_latest(tmp_path):
    results = tmp_path / "results"
    complete = schema.write(replace(report(), status="complete"), results)
    partial = schema.write(report(), results)  # interrupted, the same second
    assert schema.load(results / "s-latest.json") == complete
    own, latest = schema.paths(partial, results)
    assert latest is None and own.name.endswith(".partial.json") and schema.load(own).status == "partial"
