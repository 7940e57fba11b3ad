"""Peewee migrations -- 019_events.py.

The event log that the administration's other systems read (models.Event, dossiers/events.py):
one row per status change, message, complement answer and access change, written in the
transaction of the change; its per-dossier sequence taken from the new counter
`dossier.event_sequence`, unique per dossier; its feed position given after the commit by the
sequencer (the one-row counter `event_position_counter`), unique, with a partial index of the
rows still waiting for theirs. No event is made for the changes before this migration.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext



def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("dossier", event_sequence=pw.IntegerField(default=0))

    @migrator.create_model
    class Event(pw.Model):
        id = pw.AutoField()
        type = pw.CharField(max_length=40)
        dossier = pw.ForeignKeyField(
            column_name="dossier_id",
            field="id",
            index=False,
            model=migrator.orm["dossier"],
            null=True,
            on_delete="RESTRICT",
        )
        company = pw.ForeignKeyField(
            column_name="company_id",
            field="id",
            model=migrator.orm["company"],
            on_delete="RESTRICT",
        )
        procedure_code = pw.CharField(max_length=40, null=True)
        sequence = pw.IntegerField(null=True)
        data = pw.TextField()
        actor_kind = pw.CharField(max_length=20)
        actor_label = pw.CharField(max_length=200, null=True)
        created_at = pw.DateTimeField()
        position = pw.IntegerField(null=True, unique=True)

        class Meta:
            table_name = "event"
            legacy_table_names = False
            indexes = [(("dossier", "sequence"), True)]

    # made with the table (the migrator's add_index of one column would also index it plainly)
    Event.add_index(Event.index(Event.id, where=Event.position.is_null()))

    @migrator.create_model
    class EventPosition(pw.Model):
        id = pw.AutoField()
        last_position = pw.IntegerField(default=0)

        class Meta:
            table_name = "event_position_counter"
            legacy_table_names = False


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("event_position_counter")
    migrator.remove_model("event")
    migrator.remove_fields("dossier", "event_sequence")
