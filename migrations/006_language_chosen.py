"""Peewee migrations -- 006_language_chosen.py.

Whether the person or staff member chose their language (profile or switcher): the login's
`prefLanguage` or the browser's language no longer override a choice."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields('person', language_chosen=pw.BooleanField(default=False))
    migrator.add_fields('staff_user', language_chosen=pw.BooleanField(default=False))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields('staff_user', 'language_chosen')
    migrator.remove_fields('person', 'language_chosen')
