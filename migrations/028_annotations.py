"""Peewee migrations -- 028_annotations.py.

The private annotations of dossiers (dossiers/annotations.py): one row per dossier and key,
its value as text; (dossier, key) unique for the dossier page, and (key, value_text, dossier)
for the list's "equals" filter on one annotation, which stays an index read at a million
dossiers.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class DossierAnnotation(pw.Model):
        id = pw.AutoField()
        dossier = pw.ForeignKeyField(
            column_name="dossier_id",
            field="id",
            index=False,
            model=migrator.orm["dossier"],
            on_delete="CASCADE",
        )
        key = pw.CharField(max_length=64)
        value_text = pw.CharField(max_length=500)

        class Meta:
            table_name = "dossier_annotation"
            legacy_table_names = False
            indexes = [
                (("dossier", "key"), True),
                (("key", "value_text", "dossier"), False),
            ]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("dossier_annotation")
