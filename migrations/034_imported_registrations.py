"""Peewee migrations -- 034_imported_registrations.py.

Registrations and approvals granted before Guichet, imported from the administration's own
list (`flask registrations import`): a registration number without a dossier, with the
services it covers, so that these agencies get their report reminders and their report its
sections.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("registration_number", services=pw.TextField(null=True))
    migrator.drop_not_null("registration_number", "dossier")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql("DELETE FROM registration_number WHERE dossier_id IS NULL")
    migrator.add_not_null("registration_number", "dossier")
    migrator.remove_fields("registration_number", "services")
