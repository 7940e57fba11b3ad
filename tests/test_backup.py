"""Backup and restore: a real instance (demo dossiers with their PDF annexes, receipts, letters
and emails sent to a real SMTP server) backed up by the CLI and restored into a new instance,
on SQLite and, with TEST_DATABASE_URL, on PostgreSQL."""

import json
import sqlite3

import pytest
from cluster import new_database

import backups
import models
import notifications
import storage
from backups import MANIFEST
from conftest import make_config
from models import Annex, AuditEvent, Document, Dossier, OutboxMessage, OutboxStatus, StatusChange
from run import create_app
from smtp import SMTPServer


@pytest.fixture
def smtp(app):
    server = SMTPServer().start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    notifications.mail.init_app(app)
    yield server
    server.stop()


def snapshot(app):
    """What the instance holds: every dossier, annex (its bytes read back and hashed), issued
    document, history row and email."""
    with app.app_context():
        dossiers = sorted(
            (d.id, d.reference, d.status, d.company.enterprise_number, json.dumps(d.answers),
             d.decision, d.created_at, d.submitted_at, d.closed_at)
            for d in Dossier.select()
        )  # fmt: skip
        annexes = sorted(
            (a.dossier_id, a.requirement, a.original_name, a.size,
             storage.sha256_of(storage.read_verified(a.storage_key, a.sha256)))
            for a in Annex.select()
        )  # fmt: skip
        documents = sorted(
            (d.dossier_id, d.kind, d.sha256, len(storage.read_verified(d.storage_key, d.sha256)))
            for d in Document.select()
        )
        history = sorted((h.dossier_id, h.to_status, h.created_at) for h in StatusChange.select())
        emails = sorted(
            (o.message_id, o.event, o.to_email, o.subject, o.status, o.dossier_id)
            for o in OutboxMessage.select()
        )
        audit = AuditEvent.select().count()
    return {
        "dossiers": dossiers,
        "annexes": annexes,
        "documents": documents,
        "history": history,
        "emails": emails,
        "audit": audit,
    }


@pytest.fixture
def instance(app, smtp):
    """The demo instance, its emails sent (subject rendered, Message-ID on the wire) and one
    queued after the server went away."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        notifications.deliver_due()
        smtp.stop()
        notifications.login_code("late@example.test", "fr", "Late", "123456")
    with app.app_context():
        statuses = {o.status for o in OutboxMessage.select()}
        assert Annex.select().count() >= 5 and Document.select().count() >= 4
    assert {OutboxStatus.SENT.value, OutboxStatus.PENDING.value} <= statuses
    assert {m["Message-ID"] for m in smtp.messages}
    return snapshot(app)


def other_database(database_url, tmp_path):
    """A new, empty database beside the test's own: a new SQLite file, or a second
    PostgreSQL database (dropped and made again)."""
    if database_url.startswith("sqlite:///"):
        return f"sqlite:///{tmp_path / 'restored' / 'guichet.sqlite3'}"
    return new_database(database_url, "restore")


@pytest.fixture
def fresh(database_url, tmp_path):
    """Make a new instance: its own database and storage directory, nothing in them. (The
    models' database is one for the process: the first app is not used after this.)"""

    def make():
        url = other_database(database_url, tmp_path)
        models.db.close()
        return create_app(make_config(tmp_path / "restored", url))

    yield make
    if not models.db.is_closed():
        models.db.close()


def stored_keys(app):
    with app.app_context():
        return {key for key, _ in storage.get_storage().listing()}


def row_count(app):
    with app.app_context():
        tables = set(models.db.get_tables())
        return sum(m.select().count() for m in models.ALL_MODELS if m._meta.table_name in tables)


def test_a_restored_backup_has_every_dossier_annex_and_email(app, instance, fresh, tmp_path):
    backup_dir = tmp_path / "backup"
    result = app.test_cli_runner().invoke(args=["backup", str(backup_dir)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((backup_dir / MANIFEST).read_text())
    assert manifest["database"]["kind"] in ("sqlite", "postgresql")
    assert manifest["database"]["migration"].startswith("0")
    assert len(manifest["files"]) == len(instance["annexes"]) + len(instance["documents"])
    assert all(len(f["sha256"]) == 64 and f["size"] > 0 for f in manifest["files"])
    assert (backup_dir / MANIFEST).stat().st_mode & 0o077 == 0, "backups hold personal data"

    restored = fresh()
    result = restored.test_cli_runner().invoke(args=["restore", str(backup_dir)])
    assert result.exit_code == 0, result.output
    assert snapshot(restored) == instance
    assert stored_keys(restored) == {f["key"] for f in manifest["files"]}


def test_a_tampered_or_incomplete_backup_is_refused_and_nothing_restored(
    app, instance, fresh, tmp_path
):
    backup_dir = tmp_path / "backup"
    assert app.test_cli_runner().invoke(args=["backup", str(backup_dir)]).exit_code == 0
    manifest = json.loads((backup_dir / MANIFEST).read_text())
    altered, removed = manifest["files"][0]["key"], manifest["files"][1]["key"]
    path = backup_dir / "files" / altered
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1  # one bit, same size
    path.write_bytes(bytes(data))
    (backup_dir / "files" / removed).unlink()

    restored = fresh()
    result = restored.test_cli_runner().invoke(args=["restore", str(backup_dir)])
    assert result.exit_code == 1
    assert f"files/{altered}: altered" in result.output
    assert f"files/{removed}: missing" in result.output
    assert "nothing was restored" in result.output
    assert row_count(restored) == 0 and stored_keys(restored) == set()


def test_an_altered_database_dump_is_refused(app, instance, fresh, tmp_path):
    backup_dir = tmp_path / "backup"
    assert app.test_cli_runner().invoke(args=["backup", str(backup_dir)]).exit_code == 0
    manifest = json.loads((backup_dir / MANIFEST).read_text())
    with open(backup_dir / manifest["database"]["file"], "ab") as dump:
        dump.write(b"\0")
    restored = fresh()
    result = restored.test_cli_runner().invoke(args=["restore", str(backup_dir)])
    assert result.exit_code == 1 and f"{manifest['database']['file']}: altered" in result.output
    assert row_count(restored) == 0 and stored_keys(restored) == set()


def test_restore_refuses_a_non_empty_instance_unless_forced(app, instance, tmp_path):
    backup_dir = tmp_path / "backup"
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", str(backup_dir)]).exit_code == 0
    result = runner.invoke(args=["restore", str(backup_dir)])
    assert result.exit_code == 1 and "not empty" in result.output and "--force" in result.output
    with app.app_context():
        extra = storage.store(b"%PDF-1.4 not in the backup").key
        Dossier.update(answers={"changed": True}).execute()
    result = runner.invoke(args=["restore", "--force", str(backup_dir)])
    assert result.exit_code == 0, result.output
    assert snapshot(app) == instance
    assert extra not in stored_keys(app)


def test_a_backup_into_a_directory_that_is_not_empty_is_refused(app, instance, tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "something").write_text("x")
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "busy")])
    assert result.exit_code == 1 and "not an empty directory" in result.output


def test_sqlite_backup_is_online_and_consistent(tmp_path):
    """A writer holds the database in an open transaction: the backup does not wait for it and
    holds only what was committed."""
    from backups import dump_database

    path = tmp_path / "live.sqlite3"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=wal")
    writer.execute("CREATE TABLE t (v)")
    writer.execute("INSERT INTO t VALUES ('committed')")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO t VALUES ('in flight')")
    dump_database(f"sqlite:///{path}", tmp_path / "copy.sqlite3")
    writer.execute("COMMIT")
    writer.close()
    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert copy.execute("SELECT v FROM t").fetchall() == [("committed",)]
    copy.close()


def test_a_failed_database_step_takes_the_restored_files_back(
    app, instance, fresh, tmp_path, monkeypatch
):
    backup_dir = tmp_path / "backup"
    assert app.test_cli_runner().invoke(args=["backup", str(backup_dir)]).exit_code == 0
    restored = fresh()

    def broken(dump, url):
        raise backups.BackupError("pg_restore failed: the server went away")

    monkeypatch.setattr(backups, "load_database", broken)
    result = restored.test_cli_runner().invoke(args=["restore", str(backup_dir)])
    assert result.exit_code == 1 and "the server went away" in result.output
    assert stored_keys(restored) == set() and row_count(restored) == 0


def test_a_manifest_cannot_name_a_path_outside_the_storage(app, instance, fresh, tmp_path):
    backup_dir = tmp_path / "backup"
    assert app.test_cli_runner().invoke(args=["backup", str(backup_dir)]).exit_code == 0
    manifest = json.loads((backup_dir / MANIFEST).read_text())
    manifest["files"][0]["key"] = "../../../../tmp/planted"
    (backup_dir / MANIFEST).write_text(json.dumps(manifest))
    result = fresh().test_cli_runner().invoke(args=["restore", str(backup_dir)])
    assert result.exit_code == 1 and "Not a storage key" in result.output


def test_the_password_goes_by_environment_never_on_the_command_line():
    conninfo, env = backups.pg_connection("postgresql://guichet:s%40cret@db.example:5433/g")
    assert conninfo == "postgresql://guichet@db.example:5433/g" and "cret" not in conninfo
    assert env["PGPASSWORD"] == "s@cret"
    conninfo, env = backups.pg_connection("postgres://guichet@db.example/g?sslmode=require")
    assert conninfo == "postgresql://guichet@db.example/g?sslmode=require"
