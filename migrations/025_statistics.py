"""Peewee migrations -- 025_statistics.py.

The statistics per procedure and month (models.MonthlyStatistics): dossiers submitted, closed
and their decisions, and the histogram of processing days from which the median and the 90th
percentile are read (models.MonthlyProcessingDays), both kept by every transition; filled here
from the dossiers already there, in Python (months and days are Brussels time, which SQLite's
SQL cannot read), as `flask --app run statistics rebuild` counts them.
"""

from contextlib import suppress
from datetime import UTC
from zoneinfo import ZoneInfo

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

    brussels = ZoneInfo("Europe/Brussels")
    columns = {"granted": "granted", "refused": "refused", "no_follow_up": "dismissed"}

    def day(moment):  # models.brussels_day, as it was when this migration was written
        return moment.replace(tzinfo=UTC).astimezone(brussels).date()

    def fill_statistics():
        """Each submitted dossier in the month of its submission, each closed one in the month
        of its closing with its decision and its days (models.MonthlyStatistics.recount)."""
        dossier, definition = migrator.orm["dossier"], migrator.orm["procedure_definition"]
        months, days = {}, {}
        query = (
            dossier.select(
                dossier.id,
                definition.code,
                dossier.submitted_at,
                dossier.closed_at,
                dossier.decision,
            )
            .join(definition, on=(dossier.definition == definition.id))
            .where(dossier.submitted_at.is_null(False))
            .order_by(dossier.id)
            .limit(10_000)
        )
        last = 0
        while True:
            rows = list(query.where(dossier.id > last).tuples())
            for _id, code, submitted_at, closed_at, decision in rows:
                counts = months.setdefault((code, day(submitted_at).replace(day=1)), {})
                counts["submitted"] = counts.get("submitted", 0) + 1
                if closed_at is not None and decision:
                    month = day(closed_at).replace(day=1)
                    counts = months.setdefault((code, month), {})
                    for name in ("closed", columns[decision]):
                        counts[name] = counts.get(name, 0) + 1
                    key = (code, month, (day(closed_at) - day(submitted_at)).days)
                    days[key] = days.get(key, 0) + 1
            if len(rows) < 10_000:
                break
            last = rows[-1][0]
        rows = [{"procedure_code": c, "month": m, **n} for (c, m), n in months.items()]
        for start in range(0, len(rows), 500):
            MonthlyStatistics.insert_many(rows[start : start + 500]).execute()
        rows = [
            {"procedure_code": c, "month": m, "days": d, "n": n} for (c, m, d), n in days.items()
        ]
        for start in range(0, len(rows), 500):
            MonthlyProcessingDays.insert_many(rows[start : start + 500]).execute()

    migrator.run(fill_statistics)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("monthly_processing_days")
    migrator.remove_model("monthly_statistics")
