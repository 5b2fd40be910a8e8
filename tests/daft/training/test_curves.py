"""Training curves: global steps across stages, the PNG, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daft.__main__ import main
from daft.core.errors import UserError
from daft.training.curves import legend_title, read_curve, write


def _log(folder: Path, stages: list[tuple[str, list[int]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for stage, steps in stages:
        for i, step in enumerate(steps):
            lines.append(
                {
                    "event": "validation",
                    "stage": stage,
                    "steps_done": step,
                    "loss": None if step == 0 else 1.0 / step,
                    "kl": 10.0 - i,
                    "effective_rank": 100.0 + i,
                    "mean_cosine": 0.5,
                    "nDCG@10": 0.1 * i,
                }
            )
    lines.append({"event": "final", "test/nDCG@10": 0.3})
    (folder / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), "utf-8")
    return folder


def test_steps_count_over_both_stages(tmp_path: Path) -> None:
    pair = _log(tmp_path / "daft-x", [("align", [0, 64, 128]), ("finetune", [64, 128])])
    curve = read_curve(pair)
    assert curve.name == "daft-x"
    assert curve.steps == (0, 64, 128, 192, 256)
    assert curve.stage_switches == (192,)
    assert curve.values["loss"][0] is None and curve.values["kl"][:2] == (10.0, 9.0)


@pytest.mark.parametrize(("file", "name"), [("daft-x.train_log.jsonl", "daft-x"), ("other.jsonl", "other")])
def test_a_log_committed_by_itself_is_named_after_its_pair(tmp_path: Path, file: str, name: str) -> None:
    log = _log(tmp_path / "daft-x", [("finetune", [0, 64])]) / "train_log.jsonl"
    assert read_curve(log.rename(tmp_path / file)).name == name


def test_write_overlays_pairs_as_png(tmp_path: Path) -> None:
    a = _log(tmp_path / "a", [("finetune", [0, 64])])
    b = _log(tmp_path / "b", [("align", [0, 64]), ("finetune", [64])])
    out = write([a, b], tmp_path / "both.png", title="a vs b")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_defaults_to_the_pair_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pair = _log(tmp_path / "p", [("finetune", [0, 64])])
    assert main(["curves", str(pair)]) == 0
    assert (pair / "curves.png").is_file()


def test_a_log_without_validations_is_a_user_error(tmp_path: Path) -> None:
    pair = tmp_path / "empty"
    pair.mkdir()
    (pair / "train_log.jsonl").write_text('{"event": "final"}\n', "utf-8")
    with pytest.raises(UserError, match="no validation records"):
        write([pair], tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    assert main(["curves", str(tmp_path / "missing")]) == 2


def test_the_legend_names_the_stage_switches_the_curves_have(tmp_path: Path) -> None:
    daft = read_curve(_log(tmp_path / "daft-x", [("align", [0, 64]), ("finetune", [64])]))
    index = read_curve(_log(tmp_path / "fi-x", [("index", [0, 64]), ("finetune", [64])]))
    alone = read_curve(_log(tmp_path / "fi-y", [("index", [0, 64, 128])]))
    assert legend_title([daft, index]) == "dotted: align -> finetune, index -> finetune"
    assert legend_title([alone]) is None  # one stage: no dotted line to explain
