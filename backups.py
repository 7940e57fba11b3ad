"""Backup and restore of an instance: the database and every stored file, with a manifest.

`flask --app run backup DEST` writes a directory: the database (SQLite's online backup API,
consistent while the app runs; `pg_dump --format=custom` for PostgreSQL), a copy of every stored
file under its key, and `manifest.json` (written last: a backup without it is unfinished) with
the creation time, the database kind, the migration level and each file's SHA-256 and size.

`flask --app run restore SRC` checks the whole backup before it touches anything (every file
present, of its size and SHA-256; a migration level this code knows) and refuses a database or
storage that is not empty unless `--force`. It writes the files first, then the database in one
step (SQLite's backup API, `pg_restore --single-transaction`); when the database step fails the
files it wrote are removed again, so nothing is left half-restored. It then applies the
migrations the backup's level lacks.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404
from pathlib import Path
from urllib.parse import unquote, urlsplit

import click

import database
import models
import storage
from models import utcnow

MANIFEST = "manifest.json"
FORMAT = 1
FILES = "files"
DUMPS = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
CHUNK = 1 << 20


class BackupError(Exception):
    """A backup or a restore that cannot be done; `str()` says why, for the operator."""


def database_kind(url):
    return "sqlite" if url.startswith("sqlite:///") else "postgresql"


def sqlite_path(url):
    return Path(url.removeprefix("sqlite:///"))


def pg_connection(url):
    """(conninfo without the password, environment with PGPASSWORD): the password never
    appears in a command line that `ps` shows."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username
        parts = parts._replace(netloc=f"{user}@{netloc}" if user else netloc)
    return parts._replace(scheme="postgresql").geturl(), env


def pg_tool(name):
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client of the server's major "
            "version (postgresql-client)."
        )
    return path


def run_pg(arguments, env):
    # The tool's path from shutil.which, our own options, no shell.
    result = subprocess.run(  # noqa: S603  # nosec B603
        arguments, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{Path(arguments[0]).name} failed: {result.stderr.strip()}")


def migration_level():
    done = database.router().done
    return done[-1] if done else None


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _private_file(path):
    path.touch(mode=0o600)
    path.chmod(0o600)
    return path


# --- backup -----------------------------------------------------------------------------------


def dump_database(url, target):
    if database_kind(url) == "sqlite":
        source = sqlite3.connect(sqlite_path(url))
        copy = sqlite3.connect(_private_file(target))
        try:
            with copy:
                source.backup(copy)
        finally:
            copy.close()
            source.close()
        return
    conninfo, env = pg_connection(url)
    _private_file(target)
    run_pg([pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}", conninfo], env)


def copy_files(target):
    """Every stored file under its key in `target`; their manifest entries."""
    backend = storage.get_storage()
    target.mkdir(mode=0o700)
    entries = []
    for key in sorted(key for key, _ in backend.listing()):
        digest, size = hashlib.sha256(), 0
        with backend.open(key) as stored, open(_private_file(target / key), "wb") as copy:
            while chunk := stored.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                copy.write(chunk)
        entries.append({"key": key, "sha256": digest.hexdigest(), "size": size})
    return entries


def backup(dest, url):
    """Write a backup of the database at `url` and of the stored files into `dest` (a new or
    empty directory); returns the manifest."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory.")
    created = not dest.exists()
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        kind = database_kind(url)
        dump = dest / DUMPS[kind]
        level = migration_level()
        created_at = utcnow().isoformat() + "Z"
        # The database first: a file stored after its snapshot is only an extra copy.
        dump_database(url, dump)
        files = copy_files(dest / FILES)
        manifest = {
            "format": FORMAT,
            "created_at": created_at,
            "database": {
                "kind": kind,
                "migration": level,
                "file": dump.name,
                "sha256": sha256_file(dump),
                "size": dump.stat().st_size,
            },
            "files": files,
        }
        text = json.dumps(manifest, indent=2, sort_keys=True)
        _private_file(dest / MANIFEST).write_text(text + "\n", encoding="utf-8")
    except BaseException:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        else:
            for child in dest.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        raise
    return manifest


# --- restore ----------------------------------------------------------------------------------


def read_manifest(src):
    path = Path(src) / MANIFEST
    if not path.is_file():
        raise BackupError(f"{src} has no {MANIFEST}: not a backup, or an unfinished one.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        kind = manifest["database"]["kind"]
        files = manifest["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{path} is not a valid manifest ({exc}).") from exc
    if manifest.get("format") != FORMAT or kind not in DUMPS:
        raise BackupError(f"{path}: unknown backup format or database kind.")
    for entry in files:
        try:
            storage.check_key(entry.get("key"))
        except (ValueError, AttributeError) as exc:
            raise BackupError(f"{path}: {exc}.") from exc
    return manifest


def verify(src, manifest):
    """Every problem of the backup at `src`: a missing file, a size or SHA-256 that differs."""
    src = Path(src)
    db = manifest["database"]
    expected = [(src / DUMPS[db["kind"]], db["sha256"], db["size"])]
    expected += [(src / FILES / e["key"], e["sha256"], e["size"]) for e in manifest["files"]]
    problems = []
    for path, sha256, size in expected:
        name = path.relative_to(src)
        if not path.is_file() or path.is_symlink():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != size or sha256_file(path) != sha256:
            problems.append(f"{name}: altered (its size or SHA-256 is not the manifest's)")
    return problems


def database_rows():
    """How many rows the current database holds in Guichet's tables (0 for a new one)."""
    tables = set(models.db.get_tables())
    return sum(m.select().count() for m in models.ALL_MODELS if m._meta.table_name in tables)


def check_target(manifest, url, force):
    kind = manifest["database"]["kind"]
    if kind != database_kind(url):
        raise BackupError(
            f"The backup holds a {kind} database; DATABASE_URL is {database_kind(url)}."
        )
    level = manifest["database"]["migration"]
    if level is not None and level not in database.router().todo:
        raise BackupError(
            f"The backup's schema is at migration {level}, which this version of Guichet does "
            "not know: restore it with the version that made it."
        )
    if force:
        return
    rows, stored = database_rows(), next(iter(storage.get_storage().listing()), None)
    if rows or stored:
        raise BackupError(
            "The target instance is not empty "
            f"({rows} row(s) in the database, {'some' if stored else 'no'} stored file(s)): "
            "restore into a new instance, or pass --force to replace what it holds."
        )


def load_database(dump, url):
    models.db.close()
    if database_kind(url) == "sqlite":
        source = sqlite3.connect(dump)
        target = sqlite3.connect(sqlite_path(url))
        try:
            with target:
                source.backup(target)  # one step: the target holds all of it or none
        finally:
            target.close()
            source.close()
        return
    conninfo, env = pg_connection(url)
    run_pg(
        [
            pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={conninfo}",
            str(dump),
        ],
        env,
    )


def restore(src, url, force=False):
    """Bring the backup at `src` into this instance (database at `url`, the app's storage);
    returns the manifest. Raises BackupError, having changed nothing, when it cannot."""
    manifest = read_manifest(src)
    problems = verify(src, manifest)
    if problems:
        raise BackupError(
            "The backup is damaged; nothing was restored:\n  " + "\n  ".join(problems)
        )
    check_target(manifest, url, force)
    backend = storage.get_storage()
    before = {key for key, _ in backend.listing()}
    written = []
    try:
        for entry in manifest["files"]:
            data = (Path(src) / FILES / entry["key"]).read_bytes()
            if storage.sha256_of(data) != entry["sha256"]:  # changed since it was verified
                raise BackupError(f"{FILES}/{entry['key']}: altered during the restore.")
            backend.put_as(entry["key"], data)
            if entry["key"] not in before:
                written.append(entry["key"])
        load_database(Path(src) / DUMPS[manifest["database"]["kind"]], url)
    except BaseException:
        for key in written:
            backend.delete(key)
        raise
    for key in before - {e["key"] for e in manifest["files"]}:
        backend.delete(key)  # --force: what the replaced instance held alone
    with models.db.connection_context():
        database.apply_migrations()
    return manifest


def init_app(app):
    def fail(exc):
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(1)

    @app.cli.command("backup")
    @click.argument("dest", type=click.Path(file_okay=False))
    def backup_command(dest):
        """Back up the database and the stored files into DEST (a new directory)."""
        try:
            manifest = backup(dest, app.config["DATABASE_URL"])
        except BackupError as exc:
            fail(exc)
        db = manifest["database"]
        click.echo(
            f"Backup written to {dest}: {db['kind']} database at migration {db['migration']}, "
            f"{len(manifest['files'])} file(s)."
        )

    @app.cli.command("restore")
    @click.argument("src", type=click.Path(exists=True, file_okay=False))
    @click.option("--force", is_flag=True, help="Replace a database or storage that is not empty.")
    def restore_command(src, force):
        """Restore a backup made by `backup` into this instance (stop the app first)."""
        try:
            manifest = restore(src, app.config["DATABASE_URL"], force=force)
        except BackupError as exc:
            fail(exc)
        click.echo(
            f"Restored {src} (made {manifest['created_at']}): "
            f"{len(manifest['files'])} file(s) and the {manifest['database']['kind']} database."
        )
