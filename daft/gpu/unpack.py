"""A GPU pack turned into a daft cache on the device: collections and negatives, model assets, wheels.

Everything is checked first (the pack is a sealed cache entry: every file against its sha256), then the
archive is extracted into the new cache root, each model asset is rebuilt with its recorded dtypes as a
sealed entry that `daft.store.assets.ensure` accepts, and the wheels are installed into a private folder that
the caller puts on the Python path. Nothing here touches the network.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from daft.core.errors import UserError
from daft.gpu.pack import CACHE_ARCHIVE, PACK_FORMAT, WEIGHTS, current_python
from daft.store import cache


def read_pack(pack: Path) -> dict[str, Any]:
    """The meta of a complete, unmodified pack made for this Python; a UserError naming what is wrong."""
    pack = Path(pack)
    if (problem := cache.check(pack, deep=True)) is not None:
        raise UserError(
            f"{pack}: not a complete GPU pack ({problem}); make it again with `python -m daft gpu-pack`"
        )
    meta = (cache.read_seal(pack) or {}).get("meta", {})
    if meta.get("format") != PACK_FORMAT:
        raise UserError(
            f"{pack}: pack format {meta.get('format')!r}, this daft reads {PACK_FORMAT}; pack again"
        )
    if meta.get("wheels") and meta.get("python") != current_python():
        raise UserError(
            f"{pack}: its wheels are for Python {meta.get('python')}, this is Python {current_python()}; "
            f"pack again with --python {current_python()}"
        )
    return meta


def unpack(pack: Path, cache_root: Path, site: Path) -> dict[str, Any]:
    """Fill the empty cache `cache_root` and the wheel folder `site` from `pack`; returns the pack's meta."""
    pack = Path(pack)
    meta = read_pack(pack)
    cache_root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(pack / CACHE_ARCHIVE, "r:xz") as tar:
        tar.extractall(cache_root, filter="data")  # refuses absolute paths, links out, devices
    for name, info in meta["assets"].items():
        _restore_model(pack / "assets" / name, cache_root / "assets" / name, info["dtypes"], name)
    wheels = [pack / "wheels" / name for name in meta.get("wheels", [])]
    if wheels:
        _install(wheels, site)
    return meta


def _restore_model(source: Path, final: Path, dtypes: dict[str, str], name: str) -> None:
    """The asset's directory with its weights back in their recorded dtypes, sealed as a cache entry."""
    import torch
    from safetensors.torch import load_file, save_file

    meta = {"asset": name, "kind": "model", "carried": "fp16 (daft.gpu.pack)"}
    with cache.building(final, meta) as out:
        shutil.copytree(source, out, dirs_exist_ok=True, ignore=shutil.ignore_patterns(WEIGHTS))
        tensors = load_file(source / WEIGHTS)
        if set(tensors) != set(dtypes):
            raise UserError(f"{source / WEIGHTS}: its tensors differ from those the pack recorded")
        restored = {
            key: tensor.to(getattr(torch, dtypes[key])).contiguous() for key, tensor in tensors.items()
        }
        save_file(restored, out / WEIGHTS, metadata={"format": "pt"})


def _install(wheels: list[Path], site: Path) -> None:
    """pip-install the wheels (no index, no dependencies) into `site`."""
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile"]
    command += ["--disable-pip-version-check", "--no-cache-dir", "--target", str(site), *map(str, wheels)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise UserError(f"installing the pack's wheels failed: {lines[-1] if lines else done.returncode}")
