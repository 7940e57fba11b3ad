"""Peewee migrations -- 010_annex_scan.py.

Where each annex stands with the virus scanner (pending, clean, infected, error), when it was
scanned and what the scanner said. Annexes stored before are pending: the periodic scan looks
at them once, and until then they are in quarantine like every new one."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        'annex',
        scan_status=pw.CharField(max_length=10, default='pending', index=True),
        scanned_at=pw.DateTimeField(null=True),
        scan_detail=pw.CharField(max_length=200, null=True),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields('annex', 'scan_status', 'scanned_at', 'scan_detail')
