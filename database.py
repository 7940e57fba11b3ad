"""Database connection per request, schema migrations and their CLI commands, and the
`counts rebuild` command."""

import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

import click
from peewee import DatabaseError, InterfaceError, OperationalError, SqliteDatabase
from peewee_migrate import Router
from playhouse.db_url import connect

import models

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "synchronous": "normal",
}
log = logging.getLogger(__name__)
# One line per applied migration is ours to print; peewee-migrate's per-table lines are noise.
logging.getLogger("peewee_migrate").setLevel(logging.WARNING)


# What a lost or refused connection raises: a PostgreSQL server restarting (its backends
# terminated, new connections refused), a network cut, SQLite busy past its timeout. A request
# meeting one can only be answered "try again in a moment" (run.py's 503 page); its transaction
# was rolled back by the server, so nothing of it is written.
UNAVAILABLE = (OperationalError, InterfaceError)


class DatabaseUnavailable(RuntimeError):
    """The database named by DATABASE_URL cannot be reached."""


def redact(url):
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def open_database(url):
    """A peewee database for `url` (sqlite:///path or postgresql://...)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, check_same_thread=False)
    if url.startswith(("postgres://", "postgresql://")):
        return connect(url)
    raise DatabaseUnavailable(
        f"DATABASE_URL={redact(url)!r} is not supported: use sqlite:///path or postgresql://..."
    )


def check_connection(database, url):
    """Connect once, or raise DatabaseUnavailable naming DATABASE_URL."""
    try:
        database.connect(reuse_if_open=True)
        database.execute_sql("SELECT 1")
    except OperationalError as exc:
        raise DatabaseUnavailable(
            f"The database at DATABASE_URL={redact(url)} cannot be reached: {exc}".strip()
        ) from exc
    finally:
        if not database.is_closed():
            database.close()


def forget_connection():
    """Close this thread's connection whatever state a failure left it in (the server gone
    mid-transaction): the next query opens a new one, so the app reconnects by itself."""
    try:
        models.db.close()
    except DatabaseError:
        models.db.dispose()  # still marked open or in a transaction: drop it without a word


def router():
    return Router(models.db.obj, migrate_dir=str(MIGRATIONS_DIR), logger=log)


def apply_migrations():
    """Bring the schema up to date; returns the names of the migrations applied."""
    r = router()
    todo = list(r.diff)
    if todo:
        r.run()
    refresh_statistics()
    return todo


def refresh_statistics():
    """Let the query planner know the tables' sizes and spreads (ANALYZE). PostgreSQL's
    autovacuum does it too; SQLite never does it alone, and without it picks the status index
    and sorts every staff dossier for the first page of the back-office list."""
    models.db.execute_sql("ANALYZE")


def init_app(app):
    url = app.config["DATABASE_URL"]
    models.db.initialize(open_database(url))

    # Connections open on first query (peewee's autoconnect) and close with the app context,
    # so a connection the server dropped is never reused by the next request or task.
    @app.teardown_appcontext
    def _close(exc):
        if not models.db.is_closed():
            forget_connection()

    @app.cli.command("migrate")
    def migrate_command():
        """Apply pending schema migrations."""
        check_connection(models.db.obj, url)
        applied = apply_migrations()
        click.echo(f"Migrations applied: {', '.join(applied)}" if applied else "Schema up to date.")

    @app.cli.group("counts")
    def counts_group():
        """The kept counts of dossiers per procedure and status (the dashboard's)."""

    @counts_group.command("rebuild")
    def counts_rebuild_command():
        """Count the dossiers again and replace the kept counts."""
        before = models.DossierCount.kept()
        after = models.DossierCount.rebuild()
        changed = sum(1 for key in set(before) | set(after) if before.get(key) != after.get(key))
        click.echo(f"{sum(after.values())} dossier(s) counted; {changed} count(s) corrected.")

    @app.cli.command("makemigration")
    @click.argument("name")
    def makemigration_command(name):
        """Write a migration for the differences between models.py and the migrations."""
        created = router().create(name, auto=models.ALL_MODELS)
        if created:
            path = MIGRATIONS_DIR / f"{created}.py"
            # Our models use peewee's current table and index names; say so in the frozen models.
            path.write_text(
                re.sub(
                    r'^( +)table_name = (".*")$',
                    r"\1table_name = \2\n\1legacy_table_names = False",
                    path.read_text(),
                    flags=re.M,
                )
            )
            click.echo(f"Written: migrations/{created}.py")
