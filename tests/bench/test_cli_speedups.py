"""`bench speedups A B`: the table and its one-line summary, exit 0; unusable input is one line, exit 2."""

from __future__ import annotations

from pathlib import Path

from bench import schema
from bench.__main__ import main
from tests.bench.support import cell_result, report

SUITE = {"suite": {"name": "s"}, "latency": {"baseline": "base"}}


def _write(path: Path, base: float, fast: float) -> Path:
    run = report([cell_result("base", median=base), cell_result("fast", median=fast)], suite=SUITE)
    path.write_text(schema.dumps(schema.to_json(run)))
    return path


def test_the_table_and_the_summary(tmp_path, capsys) -> None:
    quiet, loaded = _write(tmp_path / "q.json", 100.0, 10.0), _write(tmp_path / "l.json", 130.0, 10.0)
    assert main(["speedups", str(quiet), str(loaded)]) == 0
    out = capsys.readouterr().out
    assert "fast/torch/cpu/fp32/b1/t1" in out and "+30%" in out and "no" in out
    assert "0 of 1 speed-ups agree within 20%" in out
    assert main(["speedups", str(quiet), str(loaded), "--tolerance", "0.35"]) == 0
    assert "1 of 1 speed-ups agree within 35%" in capsys.readouterr().out


def test_nothing_to_compare_or_a_bad_tolerance_is_one_line_exit_2(tmp_path, capsys) -> None:
    quiet = _write(tmp_path / "q.json", 100.0, 10.0)
    assert main(["speedups", str(quiet), str(quiet), "--threads", "2"]) == 2
    assert "no cell has a speed-up in both" in capsys.readouterr().err
    assert main(["speedups", str(quiet), str(quiet), "--tolerance", "1.5"]) == 2
    assert "--tolerance 1.5: expected a fraction between 0 and 1" in capsys.readouterr().err
    assert main(["speedups", str(quiet), str(tmp_path / "missing.json")]) == 2
