"""The recipes end to end on a tiny collection with tiny encoders (BM25 negatives through the real JVM)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from daft.__main__ import main
from daft.core.errors import UserError
from daft.models.build import build
from daft.models.pair import load_pair
from daft.training import data as training_data
from daft.training import train as train_module
from daft.training.recipe import load_recipe

RECIPE = """
[recipe]
method = "{method}"
output = "{output}"
seed = 3

[data]
collection = "{collection}"
max_dev_queries = 8
kl_documents = 30
query_max_length = 8
doc_max_length = 16

[negatives]
k = 2
depth = 10

[query_encoder]
type = "static"
model = "{model}"
lr = 1e-2

[doc_encoder]
arch = {{ layers = 1, hidden = 32, heads = 2, intermediate = 64 }}
tokenizer = "{tok}"
lr = 1e-3

[train]
batch_size = 4
steps_per_epoch = 3
warmup_steps = 2
align_max_epochs = 2
finetune_max_epochs = 2
finetune_patience = 1
"""


@pytest.fixture
def recipe_file(tmp_path, tiny_beir, tiny_tokenizer_dir, tiny_model_dir, monkeypatch):
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "cache"))

    def write(method: str, output: str = "pair") -> Path:
        path = tmp_path / f"{method}.toml"
        path.write_text(
            RECIPE.format(
                method=method,
                output=tmp_path / output,
                collection=tiny_beir,
                model=tiny_model_dir,
                tok=tiny_tokenizer_dir,
            )
        )
        return path

    return write


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    files = sorted(directory.glob("*.safetensors"))
    return {f"{f.name}:{k}": v for f in files for k, v in load_file(f).items()}


def test_daft_recipe_end_to_end(recipe_file, tmp_path):
    output = train_module.train(load_recipe(recipe_file("daft")))
    pair = load_pair(output)
    manifest = pair.manifest
    assert manifest["method"] == "daft"
    assert set(manifest["training"]["stages"]) == {"align", "finetune"}
    assert set(manifest["metrics"]["final"]) == {"dev", "test"}
    assert 0.0 <= manifest["metrics"]["final"]["test"]["nDCG@10"] <= 1.0
    assert manifest["training"]["stages"]["align"]["doc_precompute"]["precompute_s"] > 0
    log = [json.loads(line) for line in (output / "train_log.jsonl").read_text().splitlines()]
    stages = [r["stage"] for r in log if r["event"] == "validation"]
    assert stages[0] == "align" and stages[-1] == "finetune"
    assert all({"kl", "effective_rank", "mean_cosine", "nDCG@10", "RR@10"} <= set(r) for r in log[:-1])
    assert log[-1]["event"] == "final"
    assert not (output / "checkpoint").exists()
    assert (output / "curves.png").read_bytes()[:4] == b"\x89PNG"  # written with every trained pair
    vectors = pair.query.encode(["potter wheel", "bank river"])
    assert vectors.shape == (2, 32)
    from transformers import AutoModel

    AutoModel.from_pretrained(output / "doc")  # plain transformers reads the document side


def test_align_only_leaves_the_doc_encoder_untouched(recipe_file, tmp_path):
    recipe = load_recipe(recipe_file("align_only"))
    output = train_module.train(recipe)
    initial = build(recipe.encoder_spec("doc_encoder"))
    saved = _weights(output / "doc")
    for name, tensor in initial.model.state_dict().items():
        assert torch.equal(saved[f"model.safetensors:{name}"], tensor), name
    # Steps did run (so "unchanged" means frozen, not idle); the query side may legitimately come back
    # unchanged, since align keeps the best-KL weights and those can be the starting point.
    assert json.loads((output / "pair.json").read_text())["training"]["stages"]["align"]["steps"] >= 3


def test_k_zero_trains_on_in_batch_negatives_without_bm25(recipe_file, tmp_path, monkeypatch):
    def no_bm25(*args, **kwargs):
        raise AssertionError("BM25 hard negatives were asked for")

    monkeypatch.setattr(training_data, "hard_negatives", no_bm25)
    assert main(["train", str(recipe_file("align_only")), "--set", "negatives.k=0"]) == 0
    manifest = json.loads((tmp_path / "pair" / "pair.json").read_text())
    assert manifest["training"]["stages"]["align"]["steps"] >= 3


SLOW_STEP_S = 1.0


def test_resume_ends_like_an_uninterrupted_run(recipe_file, tmp_path, monkeypatch):
    full = train_module.train(load_recipe(recipe_file("daft", "full")))
    recipe = load_recipe(recipe_file("daft", "resumed"))
    real_step = train_module.Trainer._step
    calls = []

    def interrupted(self, *args):
        calls.append(1)
        if len(calls) == 5:  # inside the align stage's second epoch, after its first checkpoint
            raise KeyboardInterrupt
        time.sleep(SLOW_STEP_S)  # time spent before the interruption, which the resumed run must count
        return real_step(self, *args)

    monkeypatch.setattr(train_module.Trainer, "_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_module.train(recipe)
    monkeypatch.setattr(train_module.Trainer, "_step", real_step)
    with pytest.raises(UserError, match="interrupted run; pass --resume"):
        train_module.train(recipe)
    real_finish, finished = train_module.finish, []
    monkeypatch.setattr(
        train_module, "finish", lambda *a: finished.append(time.perf_counter()) or real_finish(*a)
    )
    start = time.perf_counter()
    resumed = train_module.train(recipe, resume=True)
    a, b = json.loads((full / "pair.json").read_text()), json.loads((resumed / "pair.json").read_text())
    # The reported time covers the whole run: the 3 slow steps before the first checkpoint are in it, so it
    # exceeds the resumed process's own time up to the final evaluation (whose cost is not training time).
    assert b["training"]["train_seconds"] >= 3 * SLOW_STEP_S
    assert b["training"]["train_seconds"] > finished[0] - start
    assert a["metrics"] == b["metrics"]
    assert a["training"]["stages"]["finetune"]["best"] == b["training"]["stages"]["finetune"]["best"]
    for side in ("query", "doc"):
        wa, wb = _weights(full / side), _weights(resumed / side)
        assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)

    def strip(path: Path) -> list[dict]:
        return [
            {k: v for k, v in json.loads(x).items() if k != "seconds"} for x in path.read_text().splitlines()
        ]

    assert strip(full / "train_log.jsonl") == strip(resumed / "train_log.jsonl")


def test_a_resume_inside_a_validation_window_reports_the_whole_windows_loss(recipe_file, monkeypatch):
    every_step = ["train.checkpoint_every=1"]  # a checkpoint after each step, between validations
    full = train_module.train(load_recipe(recipe_file("standard", "full"), every_step))
    recipe = load_recipe(recipe_file("standard", "resumed"), every_step)
    real_step = train_module.Trainer._step
    calls = []

    def interrupted(self, *args):
        calls.append(1)
        if len(calls) == 3:  # the first epoch's third step: two steps' losses are in the checkpoint
            raise KeyboardInterrupt
        return real_step(self, *args)

    monkeypatch.setattr(train_module.Trainer, "_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_module.train(recipe)
    monkeypatch.setattr(train_module.Trainer, "_step", real_step)
    resumed = train_module.train(recipe, resume=True)

    def losses(path: Path) -> list[float | None]:
        rows = [json.loads(x) for x in (path / "train_log.jsonl").read_text().splitlines()]
        return [row["loss"] for row in rows if row.get("event") == "validation"]

    # Without the saved window, the first epoch's loss would be the mean of its last step alone.
    assert losses(full) == losses(resumed) and losses(full)[1] is not None


def test_output_guards(recipe_file, tmp_path):
    recipe = load_recipe(recipe_file("align_only"))
    with pytest.raises(UserError, match="no checkpoint to resume from"):
        train_module.train(recipe, resume=True)
    train_module.train(recipe)
    with pytest.raises(UserError, match="already there; pass --overwrite"):
        train_module.train(recipe)
    train_module.train(recipe, overwrite=True)


def test_dimension_mismatch_is_a_user_error(recipe_file):
    recipe = load_recipe(recipe_file("align_only"), ["query_encoder.dim=16"])
    # dim 16 projects the query side to 16-d while the doc side gives 32-d
    with pytest.raises(UserError, match=r"query encoder gives 16-d vectors, the document encoder 32-d"):
        train_module.train(recipe)


def test_cli_train_info_export(recipe_file, tmp_path, capsys):
    path = recipe_file("standard")
    assert main(["train", str(path)]) == 0
    assert main(["info", str(tmp_path / "pair")]) == 0
    assert "standard" in capsys.readouterr().out
    table = tmp_path / "table.md"
    assert (
        main(
            ["summary", str(tmp_path / "pair"), "--markdown", str(table), "--json", str(tmp_path / "t.json")]
        )
        == 0
    )
    assert "| pair | method |" in table.read_text() and "| pair | standard | static" in table.read_text()
    assert json.loads((tmp_path / "t.json").read_text())[0]["test"]["nDCG@10"] >= 0
    capsys.readouterr()
    assert main(["export", str(tmp_path / "pair"), "--onnx"]) == 0
    assert "max abs diff vs torch" in capsys.readouterr().err
    assert (tmp_path / "pair" / "query.onnx").stat().st_size > 0
    assert main(["train", str(path), "--set", "train.batchsize=2"]) == 2
    assert "unknown key 'batchsize'" in capsys.readouterr().err


def test_zero_shot_evaluates_without_training(recipe_file, tiny_model_dir):
    recipe = load_recipe(recipe_file("zero_shot"), ["query_encoder.type=transformer"])
    output = train_module.train(recipe)
    manifest = json.loads((output / "pair.json").read_text())
    assert manifest["training"]["stages"] == {} and set(manifest["metrics"]["final"]) == {"dev", "test"}
    log = [json.loads(line) for line in (output / "train_log.jsonl").read_text().splitlines()]
    assert [r["event"] for r in log] == ["final"]
    assert not (output / "curves.png").exists()  # nothing was trained: no curve


@pytest.mark.slow
def test_torchrun_two_processes(recipe_file, tmp_path):
    """DDP on the CPU (gloo): two processes train one pair; rank 0 writes it."""
    import subprocess
    import sys

    path = recipe_file("daft", "ddp")
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            "-m",
            "daft",
            "train",
            str(path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    # torchrun's summary comes last; the failing rank's own traceback is earlier in the output.
    errors = [line for line in done.stderr.splitlines() if "Error" in line or "error" in line]
    assert done.returncode == 0, "\n".join(errors[:20]) + "\n" + done.stderr[-1500:]
    manifest = json.loads((tmp_path / "ddp" / "pair.json").read_text())
    assert manifest["training"]["processes"] == 2
    assert load_pair(tmp_path / "ddp").query.encode(["potter wheel"]).shape == (1, 32)


@pytest.mark.parametrize(("patience", "validations"), [(0, 2), (1, 3), (2, 4)])
def test_finetune_stops_at_the_first_bad_validation_past_its_patience(
    recipe_file, monkeypatch, patience, validations
):
    # One improvement, then none: a stage with patience p validates p + 1 more times before it stops.
    scripted = iter([0.5] + [0.4] * 10)

    def fake_validate(*args, **kwargs):
        value = next(scripted)
        return {"kl": 1.0, "effective_rank": 2.0, "mean_cosine": 0.1, "nDCG@10": value, "RR@10": value}

    monkeypatch.setattr(train_module, "validate", fake_validate)
    recipe = load_recipe(
        recipe_file("standard"),
        [f"train.finetune_patience={patience}", "train.finetune_max_epochs=8", "negatives.k=0"],
    )
    output = train_module.train(recipe)
    log = [json.loads(line) for line in (output / "train_log.jsonl").read_text().splitlines()]
    assert [r["stop"] for r in log if r["event"] == "validation"] == [False] * (validations - 1) + [True]
