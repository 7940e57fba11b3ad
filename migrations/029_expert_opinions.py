"""Peewee migrations -- 029_expert_opinions.py.

The expert opinions asked on dossiers (dossiers/opinions.py): who asked whom, the question,
the deadline day, what was shared, the nonce of the link's secret (an HMAC under SECRET_KEY)
and the secret's SHA-256 (unique: the lookup of a link), the answer and its PDF; (dossier, created_at) for the dossier page, due_on for the
reminders' daily range.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class ExpertOpinion(pw.Model):
        id = pw.AutoField()
        dossier = pw.ForeignKeyField(
            column_name="dossier_id",
            field="id",
            index=False,
            model=migrator.orm["dossier"],
            on_delete="CASCADE",
            backref="+",
        )
        asked_by = pw.ForeignKeyField(
            column_name="asked_by_id",
            field="id",
            model=migrator.orm["staff_user"],
            on_delete="RESTRICT",
            backref="+",
        )
        expert_staff = pw.ForeignKeyField(
            column_name="expert_staff_id",
            field="id",
            null=True,
            model=migrator.orm["staff_user"],
            on_delete="SET NULL",
            backref="+",
        )
        expert_name = pw.CharField(max_length=200)
        expert_email = pw.CharField(max_length=254)
        language = pw.CharField(default="fr", max_length=2)
        question = pw.TextField()
        due_on = pw.DateField()
        confidential = pw.BooleanField(default=True)
        share_answers = pw.BooleanField(default=False)
        shared_annexes = pw.TextField()
        link_nonce = pw.CharField(max_length=64)
        token_hash = pw.CharField(max_length=64, unique=True)
        created_at = pw.DateTimeField()
        reminded_at = pw.DateTimeField(null=True)
        cancelled_at = pw.DateTimeField(null=True)
        answered_at = pw.DateTimeField(null=True)
        answer = pw.TextField(null=True)
        file_name = pw.CharField(max_length=255, null=True)
        file_key = pw.CharField(max_length=128, null=True)
        file_sha256 = pw.CharField(max_length=64, null=True)
        file_size = pw.IntegerField(null=True)
        file_pages = pw.IntegerField(null=True)

        class Meta:
            table_name = "expert_opinion"
            legacy_table_names = False
            indexes = [(("dossier", "created_at"), False), (("due_on",), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("expert_opinion")
