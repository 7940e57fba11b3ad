"""Peewee migrations -- 020_api_actors.py.

Who made a change through the REST API: the token of a status change (`status_change.
actor_token_id`) and of a message to the company (`message.author_token_id`), so that the
history and the thread name the administration's system that acted, as they name a staff
member. Both empty for the rows before this migration (none was made through the API).
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "status_change",
        actor_token=pw.ForeignKeyField(
            column_name="actor_token_id",
            field="id",
            model=migrator.orm["api_token"],
            null=True,
            on_delete="SET NULL",
        ),
    )
    migrator.add_fields(
        "message",
        author_token=pw.ForeignKeyField(
            column_name="author_token_id",
            field="id",
            model=migrator.orm["api_token"],
            null=True,
            on_delete="SET NULL",
        ),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("message", "author_token")
    migrator.remove_fields("status_change", "actor_token")
