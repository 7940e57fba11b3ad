"""Database connections per request (from a pool), prepared queries, schema migrations and
their CLI commands, and the `counts rebuild` command."""

import logging
import re
from pathlib import Path
from urllib.parse import urlsplit

import click
from peewee import Database, DatabaseError, InterfaceError, OperationalError, SqliteDatabase
from peewee_migrate import Router
from playhouse.db_url import connect
from playhouse.pool import MaxConnectionsExceeded, PooledDatabase, PooledSqliteDatabase

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
# was rolled back by the server, so nothing of it is written. So is every connection of the pool
# in use for longer than DATABASE_POOL_WAIT_SECONDS.
UNAVAILABLE = (OperationalError, InterfaceError, MaxConnectionsExceeded)


class DatabaseUnavailable(RuntimeError):
    """The database named by DATABASE_URL cannot be reached."""


def redact(url):
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def open_database(url, pool=None):
    """A peewee database for `url` (sqlite:///path or postgresql://...). With `pool` (a dict
    of size, stale_seconds, wait_seconds), PostgreSQL connections are kept open for the next
    request or task of the process: `close()` returns a connection to the pool, one that the
    server dropped or that is older than stale_seconds is closed instead, and each is checked
    with a round trip as it is taken out again (peewee's PooledPostgresqlDatabase). SQLite's
    are kept too: a new one reads the whole schema and sets its pragmas (0.6 ms, more than a
    page's queries)."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        if not pool:
            return SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, check_same_thread=False)
        return PooledSqliteDatabase(
            str(path),
            pragmas=SQLITE_PRAGMAS,
            check_same_thread=False,
            max_connections=pool["size"],
            stale_timeout=pool["stale_seconds"],
            timeout=pool["wait_seconds"],
        )
    if url.startswith(("postgres://", "postgresql://")):
        if not pool:
            return connect(url)
        scheme, rest = url.split("://", 1)
        return connect(
            f"{scheme}+pool://{rest}",
            max_connections=pool["size"],
            stale_timeout=pool["stale_seconds"],
            timeout=pool["wait_seconds"],
        )
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
    mid-transaction): the next query opens a new one, so the app reconnects by itself. A pooled
    connection goes back to the pool only when it is still sound."""
    try:
        models.db.close()
    except DatabaseError:  # still marked open or in a transaction: drop it without a word
        database = models.db.obj
        if isinstance(database, PooledDatabase) and not database.is_closed():
            # out of the pool and closed (what PooledDatabase.manual_close does, which would
            # refuse as close() did)
            database._close(database.connection(), close_conn=True)
        Database.dispose(database)  # this thread's state only: a pool's dispose() forgets all


def create_if_missing(url):
    """Create the PostgreSQL database of `url` when its server does not have it yet (a bench's
    or a test worker's own database)."""
    import psycopg2  # PostgreSQL's driver: only where a PostgreSQL URL is given

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    connection = psycopg2.connect(parts._replace(path="/postgres").geturl())
    connection.autocommit = True  # CREATE DATABASE refuses to run in a transaction
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


def close_all():
    """Close every connection of this process, the idle ones of the pool too (a test's app
    done, a process about to end)."""
    database = models.db.obj
    if isinstance(database, PooledDatabase):
        database.close_all()
    elif database is not None and not database.is_closed():
        database.close()


# What a peewee cursor wrapper holds of one cursor; the rest is how it reads the query's columns.
CURSOR_STATE = {"cursor", "count", "index", "initialized", "populated", "row_cache"}


class Prepared:
    """A SELECT whose SQL peewee builds once per process and kind of database, then runs with
    new values: a page's few fixed queries (the session and its account, the memberships)
    cost peewee more to write out, and to map its columns to models, than the database takes
    to answer them.

    `build(*values)` makes the query; each value must be an int or a str, which peewee hands to
    the database as it is (ids, hashes). Calling the Prepared runs the query and returns its
    rows as the query itself would (model instances, joined ones included)."""

    def __init__(self, build):
        self.build = build
        # kind of database and of values → [query, sql, where each parameter comes from, how
        # peewee reads the columns (once it has read a row)]
        self.shapes = {}

    def shape(self, database, kinds):
        key = (type(database), kinds)
        if key not in self.shapes:
            # Distinct values of the right types stand for the real ones; each is found again
            # among the parameters peewee wrote, the others are constants of the query.
            probes = [
                -(10**12) - n if kind is int else f"\0probe{n}\0" for n, kind in enumerate(kinds)
            ]
            query = self.build(*probes)
            sql, params = query.sql()
            sources = []
            for value in params:
                n = next(
                    (n for n, p in enumerate(probes) if type(p) is type(value) and p == value), None
                )
                sources.append((n, None) if n is not None else (None, value))
            missing = set(range(len(probes))) - {n for n, _value in sources}
            if missing:
                raise ValueError(f"values {sorted(missing)} are not parameters of the query")
            self.shapes[key] = [query, sql, sources, None]
        return self.shapes[key]

    def __call__(self, *values):
        kinds = tuple(type(v) for v in values)
        if any(kind not in (int, str) for kind in kinds):
            raise TypeError(f"prepared queries take ints and strings, not {kinds}")
        database = models.db.obj
        shape = self.shape(database, kinds)
        query, sql, sources, reading = shape
        params = [values[n] if n is not None else constant for n, constant in sources]
        rows = query._get_cursor_wrapper(database.execute_sql(sql, params))
        if reading is not None:  # the same SQL gives the same columns
            rows.__dict__.update(reading)
            rows.initialized = True
        result = list(rows)
        if reading is None and rows.initialized:
            shape[3] = {k: v for k, v in vars(rows).items() if k not in CURSOR_STATE}
        return result


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
    config = app.config
    url = config["DATABASE_URL"]
    pool = {
        "size": config["DATABASE_POOL_SIZE"],
        "stale_seconds": config["DATABASE_POOL_STALE_SECONDS"],
        "wait_seconds": config["DATABASE_POOL_WAIT_SECONDS"],
    }
    models.db.initialize(open_database(url, pool=pool if pool["size"] > 0 else None))

    # Connections open on first query (peewee's autoconnect) and close with the app context
    # (back to the pool on PostgreSQL), so a connection the server dropped is never reused by
    # the next request or task.
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
