"""Peewee migrations -- 022_labels_notes.py.

The staff's own marks on dossiers (dossiers/labels.py, dossiers/notes.py): the labels of each
procedure (name unique per procedure, a colour of the palette), the labels set on dossiers
((label, dossier) unique: the index the list's filter reads, and one by dossier for its page),
and the private notes with the texts each edit replaced.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Label(pw.Model):
        id = pw.AutoField()
        procedure_code = pw.CharField(max_length=64)
        name = pw.CharField(max_length=50)
        colour = pw.CharField(max_length=20)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "label"
            legacy_table_names = False
            indexes = [(("procedure_code", "name"), True)]

    @migrator.create_model
    class DossierLabel(pw.Model):
        id = pw.AutoField()
        label = pw.ForeignKeyField(
            column_name="label_id",
            field="id",
            index=False,
            model=migrator.orm["label"],
            on_delete="CASCADE",
        )
        dossier = pw.ForeignKeyField(
            column_name="dossier_id",
            field="id",
            model=migrator.orm["dossier"],
            on_delete="CASCADE",
        )
        set_by = pw.ForeignKeyField(
            column_name="set_by_id",
            field="id",
            model=migrator.orm["staff_user"],
            null=True,
            on_delete="SET NULL",
            backref="+",
        )
        set_at = pw.DateTimeField()

        class Meta:
            table_name = "dossier_label"
            legacy_table_names = False
            indexes = [(("label", "dossier"), True)]

    @migrator.create_model
    class PrivateNote(pw.Model):
        id = pw.AutoField()
        dossier = pw.ForeignKeyField(
            column_name="dossier_id",
            field="id",
            index=False,
            model=migrator.orm["dossier"],
            on_delete="CASCADE",
        )
        author = pw.ForeignKeyField(
            column_name="author_id",
            field="id",
            model=migrator.orm["staff_user"],
            on_delete="RESTRICT",
            backref="+",
        )
        body = pw.TextField()
        created_at = pw.DateTimeField()
        edited_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "private_note"
            legacy_table_names = False
            indexes = [(("dossier", "created_at"), False)]

    @migrator.create_model
    class PrivateNoteVersion(pw.Model):
        id = pw.AutoField()
        note = pw.ForeignKeyField(
            column_name="note_id",
            field="id",
            model=migrator.orm["private_note"],
            on_delete="CASCADE",
        )
        body = pw.TextField()
        written_at = pw.DateTimeField()
        replaced_at = pw.DateTimeField()

        class Meta:
            table_name = "private_note_version"
            legacy_table_names = False


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("private_note_version")
    migrator.remove_model("private_note")
    migrator.remove_model("dossier_label")
    migrator.remove_model("label")
