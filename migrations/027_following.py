"""Peewee migrations -- 027_following.py.

The staff following dossiers (dossiers/following.py): the (staff, dossier) rows, unique, the
index the list's "Suivis" filter reads; each staff member's choice of emails (each message,
a daily digest, none) and when their last digest was sent. The agents the dossiers are
assigned to follow them, as `dossiers.processing.assign` does from now on, so that they keep
the emails of the company's replies they had.
"""

from contextlib import suppress
from datetime import UTC, datetime

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "staff_user",
        follow_emails=pw.CharField(default="each", max_length=10),
        digest_sent_at=pw.DateTimeField(null=True),
    )

    @migrator.create_model
    class DossierFollow(pw.Model):
        id = pw.AutoField()
        staff = pw.ForeignKeyField(
            column_name="staff_id",
            field="id",
            index=False,
            model=migrator.orm["staff_user"],
            on_delete="CASCADE",
            backref="+",
        )
        dossier = pw.ForeignKeyField(
            column_name="dossier_id",
            field="id",
            model=migrator.orm["dossier"],
            on_delete="CASCADE",
            backref="+",
        )
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "dossier_follow"
            legacy_table_names = False
            indexes = [(("staff", "dossier"), True)]

    def follow_assigned():
        """The assigned agent of each dossier follows it."""
        dossier = migrator.orm["dossier"]
        now = pw.Value(datetime.now(UTC).replace(tzinfo=None))  # models.utcnow
        assigned = dossier.select(dossier.assigned_to, dossier.id, now).where(
            dossier.assigned_to.is_null(False)
        )
        DossierFollow.insert_from(
            assigned, [DossierFollow.staff, DossierFollow.dossier, DossierFollow.created_at]
        ).execute()

    migrator.run(follow_assigned)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("dossier_follow")
    migrator.remove_fields("staff_user", "follow_emails", "digest_sent_at")
