"""Peewee migrations -- 006_person_language_chosen.py.

Whether the person chose their language (profile or switcher): the login's `prefLanguage` no
longer overrides a choice."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields('person', language_chosen=pw.BooleanField(default=False))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields('person', 'language_chosen')
