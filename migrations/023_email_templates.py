"""Peewee migrations -- 023_email_templates.py.

The email texts edited by administrators (notifications.texts): one row per saved version of
an event's email in one language (or a return to the shipped text), the latest in force.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class EmailTemplate(pw.Model):
        id = pw.AutoField()
        event = pw.CharField(max_length=40)
        language = pw.CharField(max_length=2)
        subject = pw.CharField(max_length=300, null=True)
        body = pw.TextField(null=True)
        is_default = pw.BooleanField(default=False)
        author = pw.ForeignKeyField(
            column_name="author_id",
            field="id",
            model=migrator.orm["staff_user"],
            null=True,
            on_delete="SET NULL",
        )
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "email_template"
            legacy_table_names = False
            indexes = [(("event", "language", "id"), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("email_template")
