"""Where encoders come from, said before a run (`--dry-run`) and checked at its start."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import sources
from bench.specs import EncoderSpec
from daft.core.errors import UserError
from daft.models.pair import MANIFEST


def test_a_missing_pair_with_a_recipe_is_trained_first(tmp_path: Path) -> None:
    (tmp_path / "ready").mkdir()
    (tmp_path / "ready" / MANIFEST).write_text("{}")
    ready = EncoderSpec("ready", pair=tmp_path / "ready", recipe=tmp_path / "r.toml")
    missing = EncoderSpec("missing", pair=tmp_path / "missing", recipe=tmp_path / "r.toml")
    orphan = EncoderSpec("orphan", pair=tmp_path / "orphan")
    suite = SimpleNamespace(encoders=[ready, missing, orphan])
    assert sources.pairs_to_train(suite) == [missing]  # type: ignore[arg-type]
    assert sources.describe(ready) == f"pair {tmp_path / 'ready'}"
    assert (
        sources.describe(missing)
        == f"pair {tmp_path / 'missing'}: missing, trained first with {tmp_path / 'r.toml'}"
    )
    assert sources.describe(orphan).endswith("missing, and no recipe to train it")


def test_models_are_described_without_fetching(tmp_path: Path) -> None:
    assert sources.describe(EncoderSpec("m", model="minilm-l6", dim=128)).startswith(
        "transformer: asset minilm-l6 ("
    )
    assert sources.describe(EncoderSpec("m", model="minilm-l6", dim=128)).endswith(", projected to 128")
    assert (
        sources.describe(EncoderSpec("d", type="static", model=str(tmp_path)))
        == f"static: directory {tmp_path}"
    )
    assert "hub id org/model" in sources.describe(EncoderSpec("h", model="org/model"))
    assert "not a known asset" in sources.describe(EncoderSpec("x", model="no-such-model"))


def test_check_names_a_missing_model() -> None:
    suite = SimpleNamespace(encoders=[EncoderSpec("x", model="no-such-model")])
    with pytest.raises(UserError, match="model 'no-such-model' is not a known asset"):
        sources.check(suite)  # type: ignore[arg-type]
