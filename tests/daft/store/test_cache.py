import json
import os
import time

import pytest

from daft.store import cache


def test_cache_root_honours_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DAFT_CACHE", str(tmp_path / "c"))
    assert cache.cache_root() == (tmp_path / "c").resolve()
    monkeypatch.delenv("DAFT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache.cache_root() == (tmp_path / "x" / "daft").resolve()


def test_building_seals_and_moves_into_place(tmp_path):
    final = tmp_path / "entry"
    with cache.building(final, {"what": "test"}) as out:
        (out / "a.txt").write_text("hello")
        (out / "sub").mkdir()
        (out / "sub" / "b.bin").write_bytes(b"\0" * 10)
        assert not final.exists()
    assert cache.check(final) is None
    assert cache.read_seal(final)["meta"] == {"what": "test"}
    assert set(cache.read_seal(final)["files"]) == {"a.txt", "sub/b.bin"}


def test_failed_build_leaves_nothing_and_keeps_old_entry(tmp_path):
    final = tmp_path / "entry"
    with cache.building(final, {}) as out:
        (out / "a.txt").write_text("old")
    with pytest.raises(RuntimeError), cache.building(final, {}) as out:
        (out / "a.txt").write_text("new, half")
        raise RuntimeError("killed")
    assert (final / "a.txt").read_text() == "old"
    assert cache.check(final) is None
    assert [p.name for p in tmp_path.iterdir()] == ["entry"]


def test_staged_replaces_a_folder_whole_without_a_seal(tmp_path):
    final = tmp_path / "site"
    with cache.staged(final) as out:
        (out / "old.html").write_text("old")
    with cache.staged(final) as out:
        (out / "new.html").write_text("new")
        assert (final / "old.html").is_file()  # the old folder stays until the new one is whole
    assert sorted(p.name for p in final.iterdir()) == ["new.html"]  # nothing but what was written
    assert oct(final.stat().st_mode & 0o777) == oct(0o755)


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda d: (d / "a.txt").unlink(), "missing"),
        (lambda d: (d / "a.txt").write_text("longer content"), "bytes"),
        (lambda d: (d / "extra").write_text("x"), "unexpected"),
        (lambda d: (d / cache.SEAL).unlink(), "not sealed"),
        (lambda d: (d / cache.SEAL).write_text("{broken"), "not sealed"),
    ],
)
def test_check_detects_damage(tmp_path, damage, reason):
    final = tmp_path / "entry"
    with cache.building(final, {}) as out:
        (out / "a.txt").write_text("hello")
    damage(final)
    assert reason in cache.check(final)


def test_same_size_edit_is_caught_by_rehash(tmp_path):
    final = tmp_path / "entry"
    with cache.building(final, {}) as out:
        (out / "a.txt").write_text("hello")
    (final / "a.txt").write_text("jello")  # same size, new mtime
    assert "sha256" in cache.check(final)


def test_deep_check_catches_edit_that_kept_mtime(tmp_path):
    final = tmp_path / "entry"
    with cache.building(final, {}) as out:
        (out / "a.txt").write_text("hello")
    stat = (final / "a.txt").stat()
    (final / "a.txt").write_text("jello")
    os.utime(final / "a.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert cache.check(final) is None  # the cheap check trusts size+mtime ...
    assert "sha256" in cache.check(final, deep=True)  # ... the deep one does not


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "r.json"
    cache.atomic_write_text(target, json.dumps({"v": 1}))

    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(KeyboardInterrupt):
        cache.atomic_write_text(target, json.dumps({"v": 2}))
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_sweep_removes_only_old_leftovers(tmp_path):
    old = tmp_path / ".entry.abc.building"
    young = tmp_path / ".entry.def.building"
    old.mkdir()
    young.mkdir()
    past = time.time() - 7200
    os.utime(old, (past, past))
    cache.sweep(tmp_path)
    assert not old.exists() and young.exists()


def test_sweep_removes_young_leftovers_of_dead_processes_at_once(tmp_path, dead_pid):
    killed = [
        tmp_path / f".entry.pid{dead_pid}.k1.building",
        tmp_path / f".entry.pid{dead_pid}.k2.old",
        tmp_path / f".report.json.pid{dead_pid}.k3.tmp",
        tmp_path / f".fetch.pid{dead_pid}.k4",
    ]
    running = tmp_path / f".entry.pid{os.getpid()}.r1.building"
    for path in [*killed, running]:
        path.mkdir()
    cache.sweep(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [running.name]


def test_staging_names_record_their_owner(tmp_path):
    seen = []
    with cache.building(tmp_path / "entry", {}) as out:
        seen.append(cache.owner_pid(out))
    assert seen == [os.getpid()]
    assert cache.owner_pid(tmp_path / ".x.pid12.ab12.building") == 12
    assert cache.owner_pid(tmp_path / ".x.12.ab12.building") is None
