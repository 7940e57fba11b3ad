"""Peewee migrations -- 008_outbox_claimed_by.py.

The worker process that claimed an outbox message, so that the claims of a worker seen dead
are released at once (notifications.claims) rather than at the end of their lease."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields('outbox_message', claimed_by=pw.CharField(max_length=120, null=True))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields('outbox_message', 'claimed_by')
