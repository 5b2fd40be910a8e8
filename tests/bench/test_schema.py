import copy
import gzip
import json
import math
import os
from dataclasses import replace
from pathlib import Path

import pytest

from bench import schema
from bench.__main__ import main
from bench.results import (
    Artifacts,
    Cell,
    CellResult,
    CellRound,
    EncoderInfo,
    Exclusion,
    FrontierEntry,
    FrontierLatency,
    Harness,
    MemoryUse,
    PairInfo,
    PhaseStats,
    PrecisionCheck,
    SetupResult,
    SystemComparison,
    Warmup,
)
from bench.retrieval.systems.rrf import RrfSettings
from bench.retrieval.systems.vectors import VectorSettings
from bench.specs import TABLES
from bench.suite import load_suite
from daft.core.errors import UserError
from tests.bench.support import report, retrieval, system

RESULTS = Path(__file__).parents[2] / "results"
BASELINE = RESULTS / "baselines" / "ci_smoke.json"
SUITE_TOML = """
[queries]
file = "q.txt"

[[encoders]]
name = "m"
model = "minilm-l6"
"""
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
        [CellResult(CELL, STATS, STATS, STATS, {"end_to_end": (1, 2, 3)}, Warmup(4, 2, True), False, 0.1, MemoryUse(rss_peak=9), ("w",),
                    rounds=(CellRound(1.5, 2, 0), CellRound(2.0, 1, 3)), stopped="interval")],
        retrieval=quality,
        encoders={"m": EncoderInfo("m", "transformer", 22, 8, 100, "abc", 0.5, spec={"model": "x"})},
        harness=Harness(1e3, 2.0, "loop"),
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


def test_every_key_is_written_every_time():
    """Absent values are null, never a missing key: a reader needs no "as before the key existed"."""
    data = json.loads(schema._text(report()))
    assert data["quick_look"] is False and data["retrieval"] is None and data["frontier"] is None
    assert data["suite"]["retrieval"] is None and data["suite"]["latency"]["baseline_backend"] == ""
    full = json.loads(schema._text(_full()))
    cell = full["cells"][0]
    assert cell["word_cache"] is None and cell["memory"]["device"] is None and cell["stopped"] == "interval"
    bm25, dense = full["retrieval"]["systems"]
    assert bm25["pair"] is None and "doc_precision_setting" not in dense["pair"]
    # Named keys, never a precision's name as a key.
    assert dense["pair"]["precision_check"] == {
        "measure": "nDCG@10", "precision": "onnx-int8", "value": 0.5, "fp32": 0.5, "delta": 0.0,
        "max_loss": 0.01, "exceeded": False,
    }  # fmt: skip
    assert full["retrieval"]["primary_measure"] == "nDCG@10"
    assert full["retrieval"]["tune_folds"] == 5 and full["encoders"]["m"]["random_init"] is False
    assert full["frontier"][0]["latency"][1] == {"batch_size": 256, "fastest": None}


def test_the_suite_is_stored_typed_and_whole(tmp_path):
    (tmp_path / "q.txt").write_text("a\n", encoding="utf-8")
    text = SUITE_TOML + '[[encoders]]\nname = "p"\npair = "pair"\n[[encoders]]\nname = "r"\ntokenizer = "t"\n'
    text += "arch = { layers = 1, hidden = 8, heads = 2 }\n"
    (tmp_path / "s.toml").write_text(text, encoding="utf-8")
    suite = load_suite(tmp_path / "s.toml", ["measure.seed=1"])
    data = json.loads(schema._text(schema.new_report(suite, "s.toml", suite.overrides)))["suite"]
    assert list(data) == ["path", "overrides", *TABLES]
    assert data["retrieval"] is None and data["overrides"] == ["measure.seed=1"]
    assert data["queries"]["file"] == str(tmp_path / "q.txt")
    assert data["encoders"][1]["pair"] == str(tmp_path / "pair")
    assert data["encoders"][2]["arch"] == {"layers": 1, "hidden": 8, "heads": 2, "intermediate": 32}
    assert schema.from_json(json.loads(schema._text(schema.new_report(suite, "s.toml", ())))).suite == suite


def test_a_version_1_report_is_read_through_update_to_2():
    """The committed baseline is version 1, written before rounds, memory keys and frontier lists."""
    data = json.loads(BASELINE.read_text())
    assert data["schema_version"] == 1
    upgraded = schema.upgrade(copy.deepcopy(data))
    assert upgraded["schema_version"] == schema.SCHEMA_VERSION == len(schema.UPDATES) + 1
    baseline = schema.from_json(upgraded)
    assert baseline.cells[0].rounds == () and baseline.cells[0].stopped is None
    assert baseline.suite.measure.rounds == 1  # measured in one go, before interleaved rounds
    assert baseline.suite.latency.baseline_backend == ""
    assert baseline.suite.retrieval.setting(VectorSettings).doc_precision == "fp32"
    # Tuned and checked on the first measure before the primary one was named; no per-measure gate.
    first = data["suite"]["retrieval"]["measures"][0]
    assert baseline.suite.retrieval.primary_measure == baseline.retrieval.primary_measure == first
    assert baseline.suite.gate.quality_thresholds == {}
    # Where alpha was tuned is the run's tune_split, no longer repeated in the hybrid's parameters.
    hybrid = next(s for s in data["retrieval"]["systems"] if s["system"] == "hybrid")
    assert "tuned_on" in hybrid["params"]
    assert all("tuned_on" not in s["params"] for s in upgraded["retrieval"]["systems"])
    assert baseline.cells[0].memory.rss_peak == data["cells"][0]["memory"]["rss_peak"]
    dense = baseline.retrieval.system("bert-l2-h128/dense")
    assert dense.pair.doc_precision == "fp32" and dense.pair.precision_check is None
    (entry,) = baseline.frontier
    assert entry.batches == (1, 256) and entry.latency[256] is None and entry.single.cell.endswith("/b1/t1")
    assert entry.pareto == {
        k.removeprefix("pareto_"): v for k, v in data["frontier"][0].items() if "pareto_" in k
    }


def test_update_to_2_names_a_precision_checks_keys():
    """Version 1 stored the value at the index's precision under that precision's name."""
    data = json.loads(BASELINE.read_text())
    dense = next(s for s in data["retrieval"]["systems"] if s["system"] == "dense")
    check = {
        "measure": "nDCG@10",
        "bf16": 0.49,
        "fp32": 0.5,
        "delta": -0.01,
        "max_loss": 0.005,
        "exceeded": True,
    }
    dense |= {"doc_precision": "bf16", "doc_precision_setting": "bf16", "precision_check": check}
    upgraded = schema.upgrade(data)
    pair = next(s for s in upgraded["retrieval"]["systems"] if s["id"] == dense["id"])["pair"]
    assert "doc_precision_setting" not in pair and pair["precision_check"]["precision"] == "bf16"
    loaded = schema.from_json(upgraded).retrieval.system(dense["id"]).pair.precision_check
    assert loaded == PrecisionCheck("nDCG@10", 0.49, 0.5, 0.005) and loaded.exceeded


def test_a_version_2_report_is_read_through_update_to_3():
    """Version 2 had no [retrieval] comparisons: every encoder was compared with the baseline alone."""
    path = RESULTS / "experiments" / "fixed-index" / "fixed-index-wordnet.json.gz"
    data = json.loads(gzip.decompress(path.read_bytes()))
    assert data["schema_version"] == 2 and "comparisons" not in data["suite"]["retrieval"]
    assert schema.from_json(schema.upgrade(data)).suite.retrieval.comparisons == ()


def test_a_stored_suite_may_hold_keys_of_systems_this_build_lacks():
    data = schema.upgrade(json.loads(BASELINE.read_text()))
    data["suite"]["retrieval"]["combsum_normalization"] = "max"  # a system registered elsewhere
    del data["suite"]["retrieval"]["rrf_k"]  # a system registered since: its default
    spec = schema.from_json(data).suite.retrieval
    assert spec.setting(RrfSettings) == RrfSettings() and spec.setting(VectorSettings).index == "flat"


def test_one_update_per_version():
    versions = range(2, schema.SCHEMA_VERSION + 1)
    assert [update.__name__ for update in schema.UPDATES] == [f"update_to_{n}" for n in versions]


def _committed_reports() -> list[Path]:
    found = [p for p in RESULTS.rglob("*") if p.name.endswith((".json", ".json.gz"))]
    return sorted(p for p in found if p.name != "per_query.jsonl")


@pytest.mark.parametrize("path", _committed_reports(), ids=lambda p: str(p.relative_to(RESULTS)))
def test_every_committed_report_loads_through_the_upgrades(path):
    try:
        loaded = schema.load(path)
    except schema.NotAReport:
        return  # a training summary kept beside the reports
    assert loaded.suite_name and (loaded.cells or loaded.retrieval or loaded.status == "skipped")
    # Written now and read back, nothing is lost: the current version holds all an old one did.
    assert schema.from_json(json.loads(schema._text(loaded))) == loaded


def test_the_committed_baseline_loads_and_is_stored_at_the_current_version(tmp_path):
    baseline = schema.load(BASELINE, per_query=True)
    assert baseline.suite_name == "ci_smoke" and baseline.cells and baseline.retrieval.systems
    # Written before cross-validation existed: alpha tuned on a split.
    assert baseline.retrieval.tune_folds == 0 and baseline.retrieval.tuning == "alpha tuned on dev"
    assert all(s.per_query for s in baseline.retrieval.systems)
    stored = schema.store(baseline, tmp_path)
    assert json.loads(stored.read_text())["schema_version"] == schema.SCHEMA_VERSION
    assert schema.load(stored, per_query=True) == baseline
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


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d["suite"]["latency"].update(nope=1), "suite.latency has unknown nope"),
        (lambda d: d["suite"]["measure"].pop("seed"), "suite.measure lacks seed"),
        (
            lambda d: d["suite"]["latency"].update(batch_sizes=["1"]),
            r"suite.latency.batch_sizes\[0\] is '1', not an int",
        ),
        (lambda d: d["cells"][0]["memory"].update(rss_peak="x"), "memory.rss_peak is 'x', not an int"),
    ],
)
def test_a_malformed_suite_or_memory_is_one_line_naming_the_value(tmp_path, edit, message):
    data = json.loads(schema._text(_full()))
    edit(data)
    (tmp_path / "r.json").write_text(json.dumps(data))
    with pytest.raises(UserError, match=f"r.json: malformed report .*{message}"):
        schema.load(tmp_path / "r.json")
