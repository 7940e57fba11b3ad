"""Peewee migrations -- 014_list_and_search.py.

The staff dossier list at a million dossiers (dossiers/keyset.py, dossiers/search.py):

- one partial index per sort of the list, (key, id) over the submitted dossiers only
  (WHERE submitted_at IS NOT NULL), replacing the plain index of submitted_at whose drafts'
  NULLs came first in a descending read;
- PostgreSQL: `pg_trgm` GIN indexes on the folded names of companies and persons (words found
  anywhere in a name), `text_pattern_ops` indexes for the prefixes of references and enterprise
  numbers (the database's collation is not C);
- SQLite: FTS5 `trigram` tables over the same folded names, kept by triggers.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

SUBMITTED = pw.SQL("submitted_at IS NOT NULL")
NAMED = ("company", "person")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.drop_index('dossier', 'submitted_at')
    migrator.change_fields('dossier', submitted_at=pw.DateTimeField(null=True))
    for column in ('submitted_at', 'reference', 'status'):
        migrator.add_index('dossier', column, 'id', where=SUBMITTED)

    if isinstance(database, pw.SqliteDatabase):
        for table in NAMED:
            migrator.sql(
                f"CREATE VIRTUAL TABLE {table}_search USING fts5(search_name, "
                f"content='{table}', content_rowid='id', tokenize='trigram')"
            )
            migrator.sql(
                f"CREATE TRIGGER {table}_search_insert AFTER INSERT ON {table} BEGIN "
                f"INSERT INTO {table}_search (rowid, search_name) "
                "VALUES (new.id, new.search_name); END"
            )
            migrator.sql(
                f"CREATE TRIGGER {table}_search_delete AFTER DELETE ON {table} BEGIN "
                f"INSERT INTO {table}_search ({table}_search, rowid, search_name) "
                "VALUES ('delete', old.id, old.search_name); END"
            )
            migrator.sql(
                f"CREATE TRIGGER {table}_search_update AFTER UPDATE OF search_name ON {table} "
                f"BEGIN INSERT INTO {table}_search ({table}_search, rowid, search_name) "
                "VALUES ('delete', old.id, old.search_name); "
                f"INSERT INTO {table}_search (rowid, search_name) "
                "VALUES (new.id, new.search_name); END"
            )
            migrator.sql(f"INSERT INTO {table}_search ({table}_search) VALUES ('rebuild')")
    else:
        migrator.sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table in NAMED:
            migrator.sql(
                f"CREATE INDEX {table}_search_name_trgm ON {table} "
                "USING gin (search_name gin_trgm_ops)"
            )
        migrator.sql(
            "CREATE INDEX dossier_reference_prefix ON dossier (reference text_pattern_ops) "
            "WHERE submitted_at IS NOT NULL"
        )
        migrator.sql(
            "CREATE INDEX company_enterprise_number_prefix "
            "ON company (enterprise_number text_pattern_ops)"
        )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if isinstance(database, pw.SqliteDatabase):
        for table in NAMED:
            for trigger in ('insert', 'delete', 'update'):
                migrator.sql(f"DROP TRIGGER IF EXISTS {table}_search_{trigger}")
            migrator.sql(f"DROP TABLE IF EXISTS {table}_search")
    else:
        for name in (*(f"{t}_search_name_trgm" for t in NAMED), "dossier_reference_prefix",
                     "company_enterprise_number_prefix"):
            migrator.sql(f"DROP INDEX IF EXISTS {name}")
    for column in ('submitted_at', 'reference', 'status'):
        migrator.drop_index('dossier', column, 'id')
    migrator.change_fields('dossier', submitted_at=pw.DateTimeField(index=True, null=True))
