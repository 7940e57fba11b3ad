"""Peewee migrations -- 026_deadlines.py.

The legal deadline of a procedure (its YAML's `deadline:`, kept as
procedure_definition.deadline_days when it flags late dossiers) and its clock on each dossier:
`due_at`, `deadline_paused_at` while a complement request waits, `deadline_reminded_at` once
the agent was reminded; the closings after their due date in monthly_statistics.late; indexed with the status for the list's filters and the dashboard's
count. The versions already stored get their days from their YAML; dossiers received before
this migration keep no clock (their deadline would be a guess).
"""

from contextlib import suppress

import peewee as pw
import yaml
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "procedure_definition", deadline_days=pw.IntegerField(null=True)
    )
    migrator.add_fields(
        "dossier",
        due_at=pw.DateTimeField(null=True),
        deadline_paused_at=pw.DateTimeField(null=True),
        deadline_reminded_at=pw.DateTimeField(null=True),
    )
    migrator.add_index("dossier", "status", "due_at")
    # The closings after their due date per procedure and month (none yet: no dossier had a
    # clock before this migration).
    migrator.add_fields("monthly_statistics", late=pw.IntegerField(default=0))

    def fill_days():
        """Each stored version's days, read from its YAML (a few rows)."""
        definition = migrator.orm["procedure_definition"]
        for row_id, text in definition.select(definition.id, definition.yaml_text).tuples():
            try:
                deadline = (yaml.safe_load(text) or {}).get("deadline")
            except yaml.YAMLError:  # a draft saved before a check was added
                continue
            if isinstance(deadline, dict) and deadline.get("when_passed", "flag") == "flag":
                days = deadline.get("days")
                if isinstance(days, int) and days > 0:
                    definition.update(deadline_days=days).where(
                        definition.id == row_id
                    ).execute()

    migrator.run(fill_days)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("monthly_statistics", "late")
    migrator.drop_index("dossier", "status", "due_at")
    migrator.remove_fields("dossier", "due_at", "deadline_paused_at", "deadline_reminded_at")
    migrator.remove_fields("procedure_definition", "deadline_days")
