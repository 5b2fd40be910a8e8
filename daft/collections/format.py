"""What a collection folder format declares: how a folder of it is recognised and how it is read.

A format module declares one `FORMAT`; `daft.collections.registry` lists the modules and reads a folder
with the first format that recognises it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from daft.collections.collection import Collection


@dataclass(frozen=True)
class Format:
    """One folder format: its name in messages, what marks a folder of it, how it is recognised and read."""

    name: str  # "BEIR": "the path of a BEIR or ... folder"
    sign: str  # "a BEIR folder has corpus.jsonl": said when no format recognises a folder
    recognises: Callable[[Path], bool]
    load: Callable[[Path], Collection]  # the folder -> its collection (UserError naming a bad file)
