"""The storage registry and the local backend: keys, round trips, atomic writes, permissions."""

import os
import stat
import time
from pathlib import Path

import pytest

import storage
from storage import KEY_PATTERN, Storage, get_storage, register, sha256_of
from storage.local import LocalStorage

CONTENT = b"%PDF-1.7 statuts de la SRL Exemple"


@pytest.fixture
def store(tmp_path):
    return LocalStorage({"STORAGE_DIR": str(tmp_path / "storage")})


def stored_files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_round_trip(store):
    key = store.put(CONTENT)
    assert store.exists(key)
    assert store.read(key) == CONTENT
    with store.open(key) as stored:
        assert stored.read() == CONTENT
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(FileNotFoundError):
        store.read(key)
    store.delete(key)  # deleting again is not an error


def test_keys_are_random_and_unrelated_to_content(store):
    first, second = store.put(CONTENT), store.put(CONTENT)
    assert first != second
    for key in (first, second):
        assert KEY_PATTERN.fullmatch(key)
        assert key not in sha256_of(CONTENT)
        assert key.encode() not in CONTENT
    store.delete(first)
    assert store.read(second) == CONTENT


def test_layout_and_permissions(store):
    key = store.put(CONTENT)
    path = store.root / key[:2] / key[2:4] / key
    assert stored_files(store.root) == [path]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (store.root, path.parent.parent, path.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_failed_write_leaves_nothing(store, monkeypatch):
    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        store.put(CONTENT)
    assert stored_files(store.root) == []


def test_a_write_cut_short_never_appears_under_its_key(store, monkeypatch):
    """Killed while writing: what is left is a `.tmp-` file, never listed nor served, and
    swept once old."""
    written = []
    real_fsync = os.fsync

    def killed(descriptor):
        written.append(descriptor)
        raise KeyboardInterrupt  # not an OSError: as abrupt as it gets inside Python

    monkeypatch.setattr(os, "fsync", killed)
    monkeypatch.setattr(Path, "unlink", lambda *a, **k: None)  # the clean-up dies with it
    with pytest.raises(KeyboardInterrupt):
        store.put(CONTENT)
    monkeypatch.setattr(os, "fsync", real_fsync)
    monkeypatch.undo()
    [left] = stored_files(store.root)
    assert left.name.startswith(".tmp-") and written
    assert list(store.listing()) == []
    assert store.sweep_temporaries(before=left.stat().st_mtime) == 0, "young: kept"
    assert store.sweep_temporaries(before=left.stat().st_mtime + 1) == 1
    assert stored_files(store.root) == []


def test_listing_names_every_stored_key_with_its_time(store):
    keys = {store.put(CONTENT), store.put(CONTENT)}
    listed = dict(store.listing())
    assert set(listed) == keys
    assert all(abs(mtime - time.time()) < 60 for mtime in listed.values())
    assert list(LocalStorage({"STORAGE_DIR": str(store.root / "none")}).listing()) == []


@pytest.mark.parametrize(
    "key",
    [
        "",
        "..",
        "../../etc/passwd",
        "0123456789abcdef0123456789abcde/",
        "ab/cd/0123456789abcdef0123456789abcdef",
        "/srv/0123456789abcdef0123456789abcdef",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef\n",
        "0123456789abcdef0123456789abcde",
        "statuts.pdf",
        None,
        b"0123456789abcdef0123456789abcdef",
    ],
)
@pytest.mark.parametrize("method", ["open", "read", "delete", "exists"])
def test_malformed_keys_are_refused(store, key, method):
    with pytest.raises(ValueError, match="Not a storage key"):
        getattr(store, method)(key)


def test_symbolic_link_is_not_followed(store, tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(b"not an annex")
    key = store.put(CONTENT)
    path = store.root / key[:2] / key[2:4] / key
    path.unlink()
    path.symlink_to(secret)
    with pytest.raises(OSError):
        store.read(key)


def test_sha256_of():
    assert sha256_of(b"abc") == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_duplicate_backend_id_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        register("local")(type("OtherLocal", (Storage,), {}))
    assert storage.BACKENDS["local"] is LocalStorage


def test_init_app_picks_the_configured_backend(app, ctx):
    storage.init_app(app)
    backend = get_storage()
    assert isinstance(backend, LocalStorage)
    assert str(backend.root) == app.config["STORAGE_DIR"]
    assert backend.read(backend.put(CONTENT)) == CONTENT


def test_init_app_refuses_an_unknown_backend(app):
    app.config["STORAGE_BACKEND"] = "floppy"
    with pytest.raises(RuntimeError, match="STORAGE_BACKEND='floppy' is unknown"):
        storage.init_app(app)


def test_an_open_file_is_stored_whole_in_chunks(store, tmp_path):
    """`put_file` (a background export's file) copies from the file object as it reads it."""
    data = CONTENT * 5000
    with open(tmp_path / "export.csv", "w+b") as source:
        source.write(data)
        source.seek(0)
        key = store.put_file(source, sha256_of(data))
    assert store.read(key) == data and dict(store.listing()).keys() == {key}
