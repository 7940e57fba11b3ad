"""Peewee migrations -- 016_exports.py.

Background exports of a back-office list (dossiers/exports.py): who asked, in which format and
language, for which search, filters and sort, how far the worker is, and the stored file."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Export(pw.Model):
        id = pw.AutoField()
        staff = pw.ForeignKeyField(
            column_name='staff_id',
            field='id',
            model=migrator.orm['staff_user'],
            on_delete='CASCADE',
        )
        source = pw.CharField(max_length=40)
        format = pw.CharField(max_length=10)
        language = pw.CharField(default='fr', max_length=2)
        query_args = pw.TextField()
        status = pw.CharField(default='pending', index=True, max_length=10)
        rows_done = pw.IntegerField(default=0)
        rows_total = pw.IntegerField(null=True)
        storage_key = pw.CharField(max_length=128, null=True)
        sha256 = pw.CharField(max_length=64, null=True)
        size = pw.IntegerField(null=True)
        created_at = pw.DateTimeField(index=True)
        finished_at = pw.DateTimeField(null=True)
        error = pw.TextField(null=True)

        class Meta:
            table_name = 'export'
            legacy_table_names = False
            indexes = [(('staff', 'created_at'), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model('export')
