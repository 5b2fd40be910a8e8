"""The cache: where it lives, atomic writes, and sealed directories that are complete or absent.

A cache entry is a directory built in a staging sibling and renamed into place only once everything is
written; the last file written is a seal (`.daft-seal.json`) listing every file with its size, mtime and
sha256. An entry without a seal is half-built; an entry whose files disagree with the seal is corrupt.
Either way the caller rebuilds it. Checking sizes is cheap and always done; a file whose mtime changed is
re-hashed; `deep=True` re-hashes everything.

Staging names carry the pid of the process that made them (`.<entry>.pid<N>.<random>.building`), so that
the next start of the same work removes what a killed process left, at once, without touching the staging
of a build still running elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch.nn import Module

SEAL = ".daft-seal.json"
_CHUNK = 1 << 20
_OWNER = re.compile(r"\.pid(\d+)\.")
LEFTOVERS = (".*.building", ".*.old", ".*.tmp", ".fetch*")


def cache_root() -> Path:
    """The cache directory: `$DAFT_CACHE`, else `$XDG_CACHE_HOME/daft`, else `~/.cache/daft`."""
    if env := os.environ.get("DAFT_CACHE"):
        return Path(env).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return (Path(base) / "daft").resolve()


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def staging_prefix(name: str) -> str:
    """The start of a temporary name for `name` made by this process (its pid, so a sweep knows the owner)."""
    return f".{name}.pid{os.getpid()}."


def owner_pid(path: Path) -> int | None:
    """The pid recorded in a staging name by `staging_prefix`, or None for a name without one."""
    found = _OWNER.findall(Path(path).name)
    return int(found[-1]) if found else None


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def weights_fingerprint(module: Module) -> str:
    """sha256 over parameter names, shapes, dtypes and bytes: identifies an encoder's weights."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never a torn one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=staging_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private; a written result should read like any file the user creates.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def readable(directory: Path) -> None:
    """Give `directory` and everything under it the modes the user's own new files get (the umask's):
    writers such as safetensors (0600) and mkdtemp (0700) make them private, and an exported model or a
    pair is meant to be shared."""
    umask = _umask()
    for path in (Path(directory), *Path(directory).rglob("*")):
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~umask)


def atomic_write_text(path: Path, text: str) -> None:
    """Atomically write UTF-8 text to `path`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def remove(path: Path) -> None:
    """Remove a file or a directory tree if it exists."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.name != SEAL)


def seal(directory: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Write the seal of `directory`: `meta` plus size, mtime and sha256 of every file; returns the seal."""
    directory = Path(directory)
    files = {}
    for path in _files(directory):
        stat = path.stat()
        files[path.relative_to(directory).as_posix()] = {
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "sha256": sha256_file(path),
        }
    record = {"meta": meta, "files": files}
    atomic_write_text(directory / SEAL, json.dumps(record, indent=1, sort_keys=True))
    return record


def read_seal(directory: Path) -> dict[str, Any] | None:
    """The seal of `directory`, or None when it is missing or unreadable."""
    try:
        record = json.loads((Path(directory) / SEAL).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "files" in record else None


def check(directory: Path, *, deep: bool = False) -> str | None:
    """Why `directory` is not a complete, unmodified cache entry, or None when it is."""
    directory = Path(directory)
    if not directory.is_dir():
        return "missing"
    record = read_seal(directory)
    if record is None:
        return "not sealed (half-built or interrupted)"
    listed = record["files"]
    present = {p.relative_to(directory).as_posix() for p in _files(directory)}
    if extra := sorted(present - set(listed)):
        return f"unexpected file {extra[0]}"
    for name, info in listed.items():
        path = directory / name
        try:
            stat = path.stat()
        except FileNotFoundError:
            return f"{name} is missing"
        if stat.st_size != info["size"]:
            return f"{name} has {stat.st_size} bytes, expected {info['size']}"
        if (deep or stat.st_mtime_ns != info["mtime_ns"]) and sha256_file(path) != info["sha256"]:
            return f"{name} does not match its recorded sha256"
    return None


def size_of(directory: Path) -> int:
    """Total bytes of the files under `directory`."""
    directory = Path(directory)
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) if directory.exists() else 0


@contextlib.contextmanager
def building(final: Path, meta: dict[str, Any]) -> Iterator[Path]:
    """Yield a staging directory; on success seal it and move it to `final`, on failure leave nothing.

    Any previous `final` is replaced only after the new one is complete, so an interrupted rebuild never
    destroys a good entry's replacement halfway.
    """
    with staged(final) as staging:
        yield staging
        seal(staging, meta)


@contextlib.contextmanager
def staged(final: Path) -> Iterator[Path]:
    """Yield a staging directory; on success move it to `final` (replacing a previous one only then), on
    failure leave nothing: a directory that is either the old one or the whole new one (`building`, and a
    published site)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    prefix = staging_prefix(final.name)
    staging = Path(tempfile.mkdtemp(prefix=prefix, suffix=".building", dir=final.parent))
    try:
        yield staging
        staging.chmod(0o755)  # mkdtemp makes it private; the result should read like any directory
        if final.exists():
            trash = Path(tempfile.mkdtemp(prefix=prefix, suffix=".old", dir=final.parent))
            os.replace(final, trash / "entry")
            remove(trash)
        os.replace(staging, final)
    except BaseException:
        remove(staging)
        raise


def sweep(parent: Path, *, older_than_s: float = 3600.0, patterns: tuple[str, ...] = LEFTOVERS) -> None:
    """Remove what killed builds, fetches and writes (e.g. by SIGKILL) left under `parent`.

    A leftover whose name records a pid is removed as soon as that process is gone; one whose process
    is alive belongs to work in progress and stays. A name without a pid (made before pids were recorded)
    is removed only when old, since a young one may belong to a build running in another process.
    """
    parent = Path(parent)
    if not parent.is_dir():
        return
    now = time.time()
    for pattern in patterns:
        for leftover in parent.glob(pattern):
            pid = owner_pid(leftover)
            with contextlib.suppress(FileNotFoundError):
                stale = now - leftover.stat().st_mtime > older_than_s if pid is None else not pid_alive(pid)
                if stale:
                    remove(leftover)
