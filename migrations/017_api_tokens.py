"""Peewee migrations -- 017_api_tokens.py.

Bearer tokens of the REST API (models.ApiToken, access/api_tokens.py): a name, the SHA-256 of
the secret (shown once), the scope, the procedures it is limited to, who made it, when it was
revoked and last used; and the API's dossier list in the order of its sync (updated_at, id), on
a partial index of the submitted dossiers like the staff list's sorts (014)."""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

SUBMITTED = pw.SQL("submitted_at IS NOT NULL")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class ApiToken(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=100, unique=True)
        secret_sha256 = pw.CharField(max_length=64, unique=True)
        prefix = pw.CharField(max_length=12)
        scope = pw.CharField(default='read', max_length=10)
        procedures = pw.TextField()
        created_by = pw.ForeignKeyField(
            column_name='created_by_id',
            field='id',
            model=migrator.orm['staff_user'],
            null=True,
            on_delete='SET NULL',
        )
        created_at = pw.DateTimeField()
        revoked_at = pw.DateTimeField(null=True)
        last_used_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "api_token"
            legacy_table_names = False
            constraints = [pw.Check("scope in ('read','process')")]

    migrator.add_index('dossier', 'updated_at', 'id', where=SUBMITTED)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.drop_index('dossier', 'updated_at', 'id')
    migrator.remove_model('api_token')
