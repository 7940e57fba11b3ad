"""Peewee migrations -- 007_name_confirmed.py.

Whether a person's name comes from a login (the identity provider's claims) or only from the
access manager who invited them by national number: until their first login, they are shown as
invited, with the typed name marked as not yet confirmed."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields('person', name_confirmed=pw.BooleanField(default=True))
    migrator.sql(
        "UPDATE person SET name_confirmed = FALSE WHERE id NOT IN "
        "(SELECT person_id FROM login_identity)"
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields('person', 'name_confirmed')
