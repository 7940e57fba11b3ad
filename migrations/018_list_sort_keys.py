"""Peewee migrations -- 018_list_sort_keys.py.

The staff list sorted by procedure or by agent at a million dossiers: the procedure's title and
the assigned agent's name copied on the dossier (kept by Dossier.save and Dossier.assign), so
that each sort reads a partial index of (key, id) over the submitted dossiers, as the other
sorts do (014), instead of joining and sorting every row.
"""

import peewee as pw
from peewee_migrate import Migrator

SUBMITTED = pw.SQL("submitted_at IS NOT NULL")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        'dossier',
        procedure_title=pw.CharField(max_length=300, null=True),
        agent_name=pw.CharField(max_length=200, null=True),
    )
    migrator.sql(
        "UPDATE dossier SET procedure_title = (SELECT title FROM procedure_definition "
        "WHERE procedure_definition.id = dossier.definition_id)"
    )
    migrator.sql(
        "UPDATE dossier SET agent_name = (SELECT full_name FROM staff_user "
        "WHERE staff_user.id = dossier.assigned_to_id) WHERE assigned_to_id IS NOT NULL"
    )
    for column in ('procedure_title', 'agent_name'):
        migrator.add_index('dossier', column, 'id', where=SUBMITTED)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for column in ('procedure_title', 'agent_name'):
        migrator.drop_index('dossier', column, 'id')
    migrator.remove_fields('dossier', 'procedure_title', 'agent_name')
