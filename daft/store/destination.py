"""Where a command will write, checked before its work starts: a long run must not end in a traceback
because its output folder is read-only, a file, or on a missing path.

Permission bits do not say it (root ignores them, `chattr +i` stops root): a probe file is created and
removed, in the folder itself.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from daft.core.errors import UserError

__all__ = ["writable_dir", "writable_file"]


def _probe(folder: Path, what: str, path: Path) -> None:
    try:
        fd, probe = tempfile.mkstemp(prefix=".daft-probe.", dir=folder)
    except OSError as err:
        raise UserError(f"{what} {path}: cannot write in {folder} ({err.strerror or err})") from None
    os.close(fd)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(probe)


def _folder(folder: Path, what: str, path: Path) -> Path:
    """`folder`, or where it would be made, writable; a UserError naming `path` when it is not. Nothing is
    created: a missing folder is checked at its nearest existing ancestor, which the write will extend."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{what} {path}: {existing} is not a directory")
    _probe(existing, what, path)
    return folder


def writable_dir(path: Path, what: str) -> Path:
    """`path` as a directory this process can write in (or make), or a UserError naming
    `what` (e.g. "--results") and the path."""
    path = Path(path)
    return _folder(path, what, path)


def writable_file(path: Path, what: str, *, new_dir: bool = False) -> Path:
    """`path` as a file (or, with `new_dir`, a directory still to be made) that can be written: not an
    existing directory (for a file), in a folder that exists or can be made and can be written."""
    path = Path(path)
    if path.is_dir() and not new_dir:
        raise UserError(f"{what} {path}: is a directory, not a file")
    if path.exists() and not path.is_dir() and new_dir:
        raise UserError(f"{what} {path}: is a file, not a directory")
    _folder(path.parent if str(path.parent) else Path("."), what, path)
    return path
