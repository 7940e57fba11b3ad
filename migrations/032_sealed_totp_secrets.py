"""Peewee migrations -- 032_sealed_totp_secrets.py.

The staff's TOTP secrets kept sealed (`sealed.SealedField`: Fernet under a key derived from
SECRET_KEY) rather than in clear, so that a copy of the database gives no second factor: the
column becomes text (a sealed secret is longer than 64 characters) and the secrets already
there are sealed. Sealing needs the app's SECRET_KEY: `flask migrate` runs this within the
app; the rollback writes them in clear again.
"""

import peewee as pw
from peewee_migrate import Migrator

import sealed

PURPOSE = b"guichet totp secrets"  # models.TOTP_PURPOSE, as it was when this was written


def rewrite(migrator, change):
    staff = migrator.orm["staff_user"]
    rows = staff.select(staff.id, staff.totp_secret).where(staff.totp_secret.is_null(False))
    for row in rows.tuples():
        staff.update(totp_secret=change(row[1])).where(staff.id == row[0]).execute()


def text_column(migrator, database, field):
    """`staff_user.totp_secret` as `field`. On SQLite only the migrator's model changes: SQLite
    keeps text of any length in a VARCHAR(64) column, and changing the column would rebuild the
    table, whose DROP the foreign keys of the referencing rows follow (sessions deleted, dossiers
    unassigned, audit rows without their actor)."""
    if isinstance(database, pw.SqliteDatabase):
        migrator.orm["staff_user"]._meta.add_field("totp_secret", field)
    else:
        migrator.change_fields("staff_user", totp_secret=field)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    text_column(migrator, database, pw.TextField(null=True))

    def seal_in_clear(secret):
        if secret.startswith(sealed.SEALED_PREFIX):  # sealed already
            return secret
        return sealed.seal(PURPOSE, secret)

    migrator.run(rewrite, migrator, seal_in_clear)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.run(rewrite, migrator, lambda secret: sealed.unseal(PURPOSE, secret))
    text_column(migrator, database, pw.CharField(max_length=64, null=True))
