"""Reading and writing the line-oriented files of collections, with errors that name the file and line."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path

from rich.progress import Progress

from daft.core.errors import UserError
from daft.core.progress import progress

# Advancing a Rich bar per line would cost more than parsing the line; report progress every 1 MiB.
_PROGRESS_STEP = 1 << 20


class LineError(UserError):
    """A problem with one line of an input file; the message starts with `<file> line <n>:`."""

    def __init__(self, path: Path, lineno: int, problem: str):
        super().__init__(f"{path} line {lineno}: {problem}")


def require_file(path: Path, what: str) -> Path:
    """`path` when it is a file, else a UserError naming it and what it should hold."""
    if not path.is_file():
        raise UserError(f"{path}: file not found (expected {what})")
    return path


def reading() -> Progress:
    """A transient progress display over bytes, to pass to `read_lines` for the files of one load."""
    return progress(transfer=True, transient=True)


def read_lines(path: Path, bar: Progress | None = None) -> Iterator[tuple[int, str]]:
    """Yield (line number, line without its end-of-line) for the non-blank lines of a UTF-8 file.

    Decoding per line (instead of opening the file in text mode) is what lets a non-UTF-8 byte be
    reported with its line number. The file's bytes are shown as a task of `bar` (or of a bar of its own).
    """
    path = Path(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed in the finally below, around a generator
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read ({err.strerror})") from None
    try:
        with contextlib.ExitStack() as stack:
            if bar is None:
                bar = stack.enter_context(reading())
            task = bar.add_task(f"read {path.name}", total=os.fstat(handle.fileno()).st_size)
            pending = 0
            for lineno, raw in enumerate(handle, start=1):
                pending += len(raw)
                if pending >= _PROGRESS_STEP:
                    bar.advance(task, pending)
                    pending = 0
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise LineError(
                        path, lineno, f"not valid UTF-8 (byte {err.start + 1} of the line)"
                    ) from None
                if lineno == 1:
                    line = line.removeprefix("\ufeff")
                line = line.rstrip("\r\n")
                if line.strip():
                    yield lineno, line
            bar.advance(task, pending)
    finally:
        handle.close()


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """Write `lines` (each without end-of-line) as a UTF-8 file, atomically: the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    # Not mkstemp: its 0600 would make an exported collection unreadable to others; this honours the umask.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            for line in lines:
                handle.write(line)
                handle.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
