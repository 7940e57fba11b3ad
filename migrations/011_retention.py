"""Peewee migrations -- 011_retention.py.

Retention of dossiers (dossiers/retention.py): when a stale draft's author was warned of its
deletion, and when a closed dossier kept for its period was anonymised."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        'dossier',
        draft_warned_at=pw.DateTimeField(null=True),
        anonymised_at=pw.DateTimeField(null=True),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields('dossier', 'draft_warned_at', 'anonymised_at')
