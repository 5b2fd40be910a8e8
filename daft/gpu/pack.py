"""The GPU pack: everything a grid needs that the device machine cannot fetch, in one folder that travels.

That machine has no network, no Java and no faiss, and takes at most 64 MiB of working tree and carried
folders together. The pack holds, as one sealed cache entry (`daft.store.cache`, verified there file by file):
- `assets/<model>/`: each model asset the recipes name, its weights rounded to fp16 (half the bytes; the
  device restores the recorded dtypes, so training starts from fp32 weights within fp16 rounding);
- `cache.tar.xz`: the built collections and the hard negatives of every recipe, as they lie in this
  machine's cache (`collections/<name>/`, `bm25/<corpus>/runs/negatives-*.json`: `daft.training.negatives`
  reads them there without BM25);
- `wheels/`: the pinned wheels of the packages evaluation needs that the device lacks (ir-measures and
  pytrec-eval-terrier, for its Python).
The seal's meta records the grid, the Python the wheels are for, each asset's tensor dtypes and the sizes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daft import collections
from daft.collections.registry import BUILTINS, collection_dir
from daft.core.errors import UserError
from daft.core.progress import console
from daft.gpu.grid import Job, jobs
from daft.store import assets, cache
from daft.store.assets import Artifact, PipFetcher

PACK_FORMAT = 1
LIMIT_BYTES = 64 * 2**20  # what may travel to the device: working tree and carried folders together
WEIGHTS = "model.safetensors"
CACHE_ARCHIVE = "cache.tar.xz"
FP16_MAX = 65504.0  # the largest finite float16

_PLATFORMS = (
    "manylinux_2_28_x86_64",
    "manylinux_2_24_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux2014_x86_64",
)
_IR_MEASURES = Artifact(
    "ir-measures==0.4.3",
    "ir_measures-0.4.3-py3-none-any.whl",
    "3d8b3b5283e4a77df85f9f6c8a1c2c99a7421b78fa014ef97f2ddab3037d3dcf",
    61311,
)
# Per Python version of the machine that runs the grid (3.12 on the device; 3.11 for the smoke test here).
WHEELS: dict[str, tuple[Artifact, ...]] = {
    "3.12": (
        _IR_MEASURES,
        Artifact(
            "pytrec-eval-terrier==0.5.11",
            "pytrec_eval_terrier-0.5.11-cp312-cp312-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
            "49d471ea922ee0b86b8c4413b0f3669ef193b7df21652acca711b4f325bfa2e5",
            304737,
        ),
    ),
    "3.11": (
        _IR_MEASURES,
        Artifact(
            "pytrec-eval-terrier==0.5.11",
            "pytrec_eval_terrier-0.5.11-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
            "c0c122b9a54e2b5466a494e7719c43b6be082b8a34ce4f928e238835d496c277",
            304048,
        ),
    ),
}


@dataclass(frozen=True)
class Needs:
    """What the recipes of a grid read from the cache: model assets, built-in collections, negatives."""

    models: tuple[str, ...]
    collections: tuple[str, ...]
    negatives: tuple[
        tuple[str, str, int, int, float, float, int], ...
    ]  # collection, split, k, depth, k1, b, seed


def needs(grid: Sequence[Job], root: Path) -> Needs:
    """Read every recipe of `grid` (relative to `root`) with its overrides and collect what it needs."""
    from daft.training.recipe import load_recipe

    models: dict[str, None] = {}
    names: dict[str, None] = {}
    negatives: dict[tuple[str, str, int, int, float, float, int], None] = {}
    for job in grid:
        recipe = load_recipe(root / job.recipe, job.overrides)
        for side in ("query", "doc"):
            model = recipe.encoder(side).model
            if model is None or model not in assets.ASSETS or assets.ASSETS[model].kind != "model":
                raise UserError(
                    f"{job.recipe}: the {side} encoder must be a model asset to be packed, got {model!r}"
                )
            models.setdefault(model)
        data, neg = recipe.data, recipe.negatives
        if data.collection not in BUILTINS:
            raise UserError(
                f"{job.recipe}: [data] collection must be built in to be packed, got {data.collection}"
            )
        names.setdefault(data.collection)
        if neg.k:
            key = (data.collection, data.train_split, neg.k, neg.depth, neg.k1, neg.b, recipe.recipe.seed)
            negatives.setdefault(key)
    return Needs(tuple(models), tuple(names), tuple(negatives))


def pack(
    directory: Path,
    grid: str,
    *,
    root: Path,
    python: str = "3.12",
    limit: int = LIMIT_BYTES,
) -> dict[str, Any]:
    """Write the pack of `grid` into `directory` (replaced only once complete); returns its meta.

    Refuses (UserError, nothing written) when the pack and the working tree of `root` together exceed `limit`.
    """
    if python not in WHEELS:
        raise UserError(f"no pinned wheels for Python {python}; known: {', '.join(WHEELS)}")
    directory = Path(directory).resolve()
    if directory.exists() and cache.read_seal(directory) is None and any(directory.iterdir()):
        raise UserError(f"{directory}: exists and is not a GPU pack; choose an empty or new folder")
    started = time.perf_counter()
    wanted = needs(jobs(grid), root)
    meta: dict[str, Any] = {"format": PACK_FORMAT, "grid": grid, "python": python, "assets": {}}
    with cache.building(directory, meta) as staging:
        for name in wanted.models:
            with console.status(f"pack: {name} as fp16"):
                meta["assets"][name] = _pack_model(assets.ensure(name), staging / "assets" / name)
        meta["cache"] = _pack_cache(wanted, staging / CACHE_ARCHIVE)
        meta["wheels"] = [_fetch_wheel(artifact, python, staging / "wheels") for artifact in WHEELS[python]]
        sizes = {
            "assets": cache.size_of(staging / "assets"),
            "cache": (staging / CACHE_ARCHIVE).stat().st_size,
            "wheels": cache.size_of(staging / "wheels"),
        }
        sizes["pack"] = sum(sizes.values())
        # The pack itself and its staging folder (the staging name does not match .gitignore) never count twice.
        sizes["tree"] = tree_size(root, exclude=(directory, staging))
        sizes["total"], sizes["limit"] = sizes["pack"] + sizes["tree"], limit
        meta["sizes"] = sizes
        meta["seconds"] = round(time.perf_counter() - started, 1)
        report(directory, sizes)
        if sizes["total"] > limit:
            raise UserError(
                f"{directory}: the pack ({_mib(sizes['pack'])}) and the working tree of {root} "
                f"({_mib(sizes['tree'])}) make {_mib(sizes['total'])}, over the {_mib(limit)} that may travel"
            )
    return meta


def _pack_model(source: Path, out: Path) -> dict[str, Any]:
    """Copy a model asset with its weights in fp16; returns the original dtypes and the rounding error."""
    import torch
    from safetensors.torch import load_file, save_file

    shutil.copytree(source, out, ignore=shutil.ignore_patterns(cache.SEAL, WEIGHTS))
    tensors = load_file(source / WEIGHTS)
    dtypes = {key: str(tensor.dtype).removeprefix("torch.") for key, tensor in tensors.items()}
    halves, error = {}, 0.0
    for key, tensor in tensors.items():
        if tensor.dtype not in (torch.float32, torch.float64, torch.bfloat16):
            halves[key] = tensor
            continue
        if tensor.abs().max().item() > FP16_MAX:
            raise UserError(
                f"{source / WEIGHTS}: {key} holds values beyond float16's range; it cannot travel"
            )
        halves[key] = tensor.to(torch.float16).contiguous()
        error = max(error, (halves[key].double() - tensor.double()).abs().max().item())
    save_file(halves, out / WEIGHTS, metadata={"format": "pt"})
    return {"dtypes": dtypes, "max_abs_rounding": error}


def _pack_cache(wanted: Needs, archive: Path) -> list[str]:
    """Build the collections and negatives here (the project's own code and cache), archive them; members."""
    from daft.training.negatives import hard_negatives, negatives_path

    root = cache.cache_root()
    members = []
    for name in wanted.collections:
        with console.status(f"pack: collection {name}"):
            collections.load(name)
        members.append(collection_dir(name).relative_to(root))
    for name, split, k, depth, k1, b, seed in wanted.negatives:
        collection = collections.load(name)
        hard_negatives(collection, split, k=k, depth=depth, k1=k1, b=b, seed=seed)
        path = negatives_path(collection, split, k=k, depth=depth, k1=k1, b=b, seed=seed)
        members.append(path.relative_to(root))
    with (
        console.status(f"pack: compressing {len(members)} cache entries"),
        tarfile.open(archive, "w:xz", preset=6) as tar,
    ):
        for member in members:
            tar.add(root / member, arcname=member.as_posix())
    return [member.as_posix() for member in members]


def _fetch_wheel(artifact: Artifact, python: str, out: Path) -> str:
    """Download (once, verified against its pin) a wheel for `python` on the device's platform; copy it here."""
    platforms = [arg for platform in _PLATFORMS for arg in ("--platform", platform)]
    fetcher = PipFetcher(
        pip_args=("--only-binary=:all:", "--python-version", python, "--implementation", "cp", *platforms)
    )
    saved = assets.download(f"GPU pack wheel {artifact.requirement}", artifact, fetcher)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(saved, out / artifact.filename)
    return artifact.filename


def tree_size(root: Path, *, exclude: Sequence[Path] = ()) -> int:
    """Bytes of the working tree that travels with `root`: tracked and untracked-but-not-ignored files."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        raise UserError(f"{root}: not a git working tree (the travelling files are git's)") from None
    total = 0
    for name in filter(None, listed.decode("utf-8", "surrogateescape").split("\0")):
        path = Path(root) / name
        if any(path.resolve().is_relative_to(Path(folder).resolve()) for folder in exclude):
            continue
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total


def report(directory: Path, sizes: dict[str, int]) -> None:
    """One line per part and the total against the limit."""
    parts = ", ".join(f"{key} {_mib(sizes[key])}" for key in ("assets", "cache", "wheels"))
    console.print(
        f"pack {directory}: {parts}; pack {_mib(sizes['pack'])} + working tree {_mib(sizes['tree'])} = "
        f"{_mib(sizes['total'])} of {_mib(sizes['limit'])}",
        highlight=False,
    )


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def current_python() -> str:
    """This interpreter's version as the wheels are keyed (e.g. 3.11)."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"
