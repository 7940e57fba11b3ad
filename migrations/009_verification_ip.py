"""Peewee migrations -- 009_verification_ip.py.

The IP address each one-time code was asked from, so that sending is bounded per address of
the requester as well as per person and per phone or email address."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields('verification_code', ip_address=pw.CharField(max_length=45, null=True))
    migrator.add_index('verification_code', 'ip_address', 'created_at')


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.drop_index('verification_code', 'ip_address', 'created_at')
    migrator.remove_fields('verification_code', 'ip_address')
