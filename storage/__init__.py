"""Where annexes and generated documents are kept: a registry of storage backends.

A backend keeps bytes under a key that it draws at random (`new_key`): never derived from the
uploaded file's name or content, so a key neither leaks nor can be guessed, and two uploads of
the same file get two keys. There is no deduplication by hash: each annex owns its bytes, so
deleting one never touches another dossier's file and no reference count is needed, and nobody
can learn from the storage whether some other user already sent the same file. The SHA-256
recorded beside the key (`sha256_of`) is what proves the content.

The config's STORAGE_BACKEND picks one backend: `local` (the default: files under STORAGE_DIR,
for one server or a volume they share) or `s3` (an S3-compatible bucket, S3_BUCKET, for several
servers sharing one object store). Both use the same key format and fan-out.
"""

import hashlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from flask import current_app

from registry import Registry

DEFAULT_BACKEND = "local"
BACKENDS = Registry("storage backend", setting="STORAGE_BACKEND", default=DEFAULT_BACKEND)
register = BACKENDS.register
KEY_PATTERN = re.compile(r"[0-9a-f]{32}")
CHUNK = 1024 * 1024


def new_key():
    """A fresh random key: 128 bits as 32 lowercase hexadecimal digits."""
    return secrets.token_hex(16)


def check_key(key):
    """Return `key` if it has the form of a key we make; ValueError otherwise, so that nothing
    read from a request or a database row can name a path of its choosing."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ValueError(f"Not a storage key: {key!r}")
    return key


def sha256_of(data):
    """The SHA-256 of `data` as 64 lowercase hexadecimal digits (the `Annex.sha256` column)."""
    return hashlib.sha256(data).hexdigest()


class Storage:
    """A place for immutable blobs. Every method taking a key raises ValueError for a key that
    `check_key` refuses and FileNotFoundError (`open`, `read`) for one that is not stored."""

    id = None
    label = None
    stand_in = False

    def __init__(self, config):
        self.config = config

    def put(self, data: bytes) -> str:
        """Store `data` under a new key and return the key."""
        raise NotImplementedError

    def put_file(self, source: BinaryIO, sha256: str) -> str:
        """Store the content of the open file `source` (read from where it stands, whose
        SHA-256 is `sha256`) under a new key, without holding it all in memory where the
        backend can; return the key."""
        return self.put(source.read())

    def open(self, key: str) -> BinaryIO:
        """A binary file object reading the stored bytes; the caller closes it."""
        raise NotImplementedError

    def read(self, key: str) -> bytes:
        with self.open(key) as stored:
            return stored.read()

    def delete(self, key: str) -> None:
        """Remove the stored bytes; deleting a key that is not stored is not an error."""
        raise NotImplementedError

    def exists(self, key: str) -> bool:
        raise NotImplementedError

    def put_as(self, key: str, data: bytes) -> None:
        """Store `data` under `key` itself, replacing what it held: only for a restore, which
        brings back the keys its database rows name."""
        raise NotImplementedError

    def listing(self) -> Iterator[tuple[str, float]]:
        """(key, modification time as a POSIX timestamp) of every stored file, in no order:
        for the cleanup of files no row references (`dossiers.orphans`)."""
        raise NotImplementedError

    def sweep_temporaries(self, before: float) -> int:
        """Remove what writes interrupted by a crash left behind, last changed before the
        POSIX timestamp `before`; returns how many."""
        return 0


def init_app(app):
    from storage import local, s3  # noqa: F401  (registers the backends)

    app.extensions["storage"] = BACKENDS.select(app.config)(app.config)


def get_storage() -> Storage:
    """The current app's storage backend."""
    return current_app.extensions["storage"]


class Altered(Exception):
    """The stored bytes no longer match the SHA-256 recorded when they were stored."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    sha256: str
    size: int


def store(data):
    """Keep `data` in the current backend; its key, SHA-256 and size for the row that owns it
    (an annex, a receipt, a letter). The caller deletes the key if that row is not written."""
    return StoredFile(get_storage().put(data), sha256_of(data), len(data))


def store_file(source):
    """Like `store`, for the content of the open binary file `source`, read in chunks: a
    large file (an export) is never held whole in memory."""
    digest, size = hashlib.sha256(), 0
    source.seek(0)
    for chunk in iter(lambda: source.read(CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
    source.seek(0)
    key = get_storage().put_file(source, digest.hexdigest())
    return StoredFile(key, digest.hexdigest(), size)


def read_verified(key, sha256):
    """The stored bytes, checked against `sha256`: `Altered` (and an error in the log) when
    they differ, so that no altered file is ever served, signed or attached."""
    data = get_storage().read(key)
    if sha256_of(data) != sha256:
        current_app.logger.error("Stored file %s does not match its recorded SHA-256", key)
        raise Altered(key)
    return data
