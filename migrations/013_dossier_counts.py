"""Peewee migrations -- 013_dossier_counts.py.

The dossiers of each procedure version in each status, kept by every change of a dossier
(models.DossierCount) so that the dashboard reads a few rows instead of counting the table;
filled here from the dossiers already there."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class DossierCount(pw.Model):
        id = pw.AutoField()
        definition = pw.ForeignKeyField(
            column_name="definition_id",
            field="id",
            model=migrator.orm["procedure_definition"],
            on_delete="CASCADE",
        )
        status = pw.CharField(max_length=20)
        n = pw.IntegerField(default=0)

        class Meta:
            table_name = "dossier_count"
            legacy_table_names = False
            indexes = [(("definition", "status"), True)]

    migrator.sql(
        "INSERT INTO dossier_count (definition_id, status, n) "
        "SELECT definition_id, status, COUNT(*) FROM dossier GROUP BY definition_id, status"
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("dossier_count")
