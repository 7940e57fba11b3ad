"""Peewee migrations -- 031_running_deadlines.py.

The staff list's "Délai légal" filters (late, due within 7 days) at a million dossiers: a
partial index of (submitted_at, id, due_at) over the running clocks only (submitted, in
instruction, not paused), read newest first like the list's other keys (014) with the due date
checked in the index. The late are the older dossiers, so a read of the (submitted_at, id)
index went through every recent dossier to reach them (59,000 rows in the bench's million:
250 ms), and the (status, due_at) index (026) gave them all to sort; the dashboard's count of
the late dossiers reads this index alone, without the table.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

RUNNING = pw.SQL(
    "submitted_at IS NOT NULL AND status IN ('received', 'processing') "
    "AND deadline_paused_at IS NULL"
)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_index("dossier", "submitted_at", "id", "due_at", where=RUNNING)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.drop_index("dossier", "submitted_at", "id", "due_at")
