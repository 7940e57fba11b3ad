"""Files on the local disk under STORAGE_DIR, for a single server or a shared volume.

A key `0a1b...` lives at `STORAGE_DIR/0a/1b/0a1b...`: two fanned-out levels keep directories
small. A file is written to a temporary name in its final directory, synced, then renamed into
place, so that a reader sees the whole file or none of it. Files are 0o600 and directories
0o700: only the application's user reads them. Temporary names start with `.tmp-`, a form no
key has, so a crash leaves nothing that `open` would serve.
"""

import os
import shutil
import tempfile
from pathlib import Path

from flask_babel import lazy_gettext as _l

from storage import KEY_PATTERN, Storage, check_key, new_key, register

FILE_MODE = 0o600
DIR_MODE = 0o700


@register("local", label=_l("Fichiers sur le disque local (STORAGE_DIR)"))
class LocalStorage(Storage):
    def __init__(self, config):
        super().__init__(config)
        self.root = Path(config["STORAGE_DIR"])

    def path(self, key):
        """Where `key` is stored; ValueError for a key of the wrong form."""
        check_key(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, data):
        key = new_key()
        self.put_as(key, data)
        return key

    def put_as(self, key, data):
        self.write(key, lambda stored: stored.write(data))

    def put_file(self, source, sha256):
        key = new_key()
        self.write(key, lambda stored: shutil.copyfileobj(source, stored))
        return key

    def write(self, key, fill):
        """Write the file of `key` whole or not at all: `fill(file)` writes its bytes."""
        path = self.path(key)
        # Level by level: `parents=True` gives the levels above the last the umask's mode.
        self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        for directory in (path.parent.parent, path.parent):
            directory.mkdir(mode=DIR_MODE, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(descriptor, "wb") as stored:
                fill(stored)
                stored.flush()
                os.fsync(stored.fileno())
            os.chmod(temporary, FILE_MODE)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        _sync_directory(path.parent)

    def open(self, key):
        # O_NOFOLLOW: a symbolic link planted in the store is refused, not followed.
        descriptor = os.open(self.path(key), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        return os.fdopen(descriptor, "rb")

    def delete(self, key):
        self.path(key).unlink(missing_ok=True)

    def exists(self, key):
        return self.path(key).is_file()

    def files(self, pattern):
        """The files under the two fanned-out levels whose name matches the glob `pattern`."""
        return self.root.glob(f"??/??/{pattern}") if self.root.is_dir() else iter(())

    def listing(self):
        for path in self.files("?" * 32):
            if KEY_PATTERN.fullmatch(path.name) and path.is_file():
                yield path.name, path.lstat().st_mtime

    def sweep_temporaries(self, before):
        removed = 0
        for path in self.files(".tmp-*"):
            if path.lstat().st_mtime < before:
                path.unlink(missing_ok=True)
                removed += 1
        return removed


def _sync_directory(directory):
    """Make the rename itself durable, not only the file's bytes."""
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
