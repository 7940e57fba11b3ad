"""Peewee migrations -- 025_statistics.py.

The statistics per procedure and month (models.MonthlyStatistics): dossiers submitted, closed
and their decisions, and the histogram of processing days from which the median and the 90th
percentile are read (models.MonthlyProcessingDays), both kept by every transition. The
dossiers already there are counted by `flask --app run statistics rebuild` (run it once after
this migration: the months and days are Brussels time, which SQL reads differently on SQLite
and PostgreSQL).
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class MonthlyStatistics(pw.Model):
        id = pw.AutoField()
        procedure_code = pw.CharField(max_length=64)
        month = pw.DateField()
        submitted = pw.IntegerField(default=0)
        closed = pw.IntegerField(default=0)
        granted = pw.IntegerField(default=0)
        refused = pw.IntegerField(default=0)
        dismissed = pw.IntegerField(default=0)

        class Meta:
            table_name = "monthly_statistics"
            legacy_table_names = False
            indexes = [(("procedure_code", "month"), True)]

    @migrator.create_model
    class MonthlyProcessingDays(pw.Model):
        id = pw.AutoField()
        procedure_code = pw.CharField(max_length=64)
        month = pw.DateField()
        days = pw.IntegerField()
        n = pw.IntegerField(default=0)

        class Meta:
            table_name = "monthly_processing_days"
            legacy_table_names = False
            indexes = [(("procedure_code", "month", "days"), True)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("monthly_processing_days")
    migrator.remove_model("monthly_statistics")
