"""An encoder pair on disk: `query/` and `doc/` encoder directories plus a `pair.json` manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daft.core.errors import UserError
from daft.models.build import load_encoder
from daft.models.encoders import Encoder
from daft.models.manifest import MANIFEST, read_manifest, side_directory


@dataclass
class EncoderPair:
    """A query encoder and a document encoder that embed into the same space."""

    query: Encoder
    doc: Encoder
    manifest: dict[str, Any] = field(default_factory=dict)

    def save(self, directory: Path) -> None:
        """Write both encoders and the manifest (sizes and parameter counts filled in)."""
        if self.query.dim != self.doc.dim:
            raise UserError(f"{directory}: query dim {self.query.dim} != doc dim {self.doc.dim}")
        directory = Path(directory)
        self.query.save(directory / "query")
        self.doc.save(directory / "doc")
        manifest = {**self.manifest, "query": self.query.config(), "doc": self.doc.config()}
        (directory / MANIFEST).write_text(json.dumps(manifest, indent=2), "utf-8")


def load_pair_side(directory: Path, side: str = "query") -> Encoder:
    """One side (`query` or `doc`) of a saved pair."""
    return load_encoder(side_directory(directory, side))


def load_pair(directory: Path) -> EncoderPair:
    """Load a saved pair: both encoders ready to use, in eval mode."""
    manifest = read_manifest(directory)
    pair = EncoderPair(
        load_encoder(Path(directory) / "query"), load_encoder(Path(directory) / "doc"), manifest
    )
    if pair.query.dim != pair.doc.dim:
        raise UserError(f"{directory}: query dim {pair.query.dim} != doc dim {pair.doc.dim}")
    return pair
