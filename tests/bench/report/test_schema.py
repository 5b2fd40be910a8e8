import json
import os

import pytest

from bench.report import schema
from daft.errors import UserError


def _report(name="s"):
    report = schema.new_report({"suite": {"name": name}}, "suites/s.toml", ["latency.batch_sizes=[1]"])
    report["cells"].append({"id": "x", "end_to_end": {"median": 1.5, "cv": float("nan"), "hi": float("inf")}})
    return report


def test_round_trip_and_names(tmp_path):
    report = _report()
    stamped, latest = schema.write(report, tmp_path / "results")
    assert latest.name == "s-latest.json" and stamped.name.startswith("s-2") and stamped != latest
    loaded = schema.load(stamped)
    assert loaded["overrides"] == ["latency.batch_sizes=[1]"]
    assert loaded["status"] == "partial"  # a report is partial until a run finishes it
    assert loaded["cells"][0]["end_to_end"] == {"median": 1.5, "cv": None, "hi": None}  # strict JSON


def test_interrupted_write_keeps_previous_report(tmp_path, monkeypatch):
    results = tmp_path / "results"
    schema.write(_report(), results)
    before = {p.name: p.read_text() for p in results.iterdir()}

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        schema.write(_report(), results)
    monkeypatch.undo()
    assert {p.name: p.read_text() for p in results.iterdir()} == before  # no temp file, nothing torn


@pytest.mark.parametrize(
    "content, message",
    [
        ("{broken", "not a readable JSON report"),
        (json.dumps({"schema": "other"}), "not a daft-bench report"),
        (json.dumps({"schema": schema.SCHEMA, "schema_version": 0}), "schema_version 0 is not supported"),
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
