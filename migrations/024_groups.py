"""Peewee migrations -- 024_groups.py.

Groups of agents and the routing of submitted dossiers (dossiers/groups.py): the groups (one
may be the default), their members, the group of each dossier — read by the staff list's
"Mes groupes" on a partial index of (group, submitted_at, id) over the submitted dossiers, as
the list's other keys are (014, 018) — and the staff's history of each routing and move.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

SUBMITTED = pw.SQL("submitted_at IS NOT NULL")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class StaffGroup(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=100, unique=True)
        code = pw.CharField(max_length=40, unique=True)
        is_default = pw.BooleanField(default=False)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "staff_group"
            legacy_table_names = False

    @migrator.create_model
    class StaffGroupMember(pw.Model):
        id = pw.AutoField()
        group = pw.ForeignKeyField(
            column_name="group_id",
            field="id",
            index=False,
            model=migrator.orm["staff_group"],
            on_delete="CASCADE",
        )
        staff = pw.ForeignKeyField(
            column_name="staff_id",
            field="id",
            index=False,
            model=migrator.orm["staff_user"],
            on_delete="CASCADE",
        )

        class Meta:
            table_name = "staff_group_member"
            legacy_table_names = False
            indexes = [(("group", "staff"), True), (("staff", "group"), False)]

    migrator.add_fields(
        "dossier",
        group=pw.ForeignKeyField(
            column_name="group_id",
            field="id",
            index=False,
            model=migrator.orm["staff_group"],
            null=True,
            on_delete="SET NULL",
        ),
    )
    migrator.add_index("dossier", "group", "submitted_at", "id", where=SUBMITTED)

    @migrator.create_model
    class GroupChange(pw.Model):
        id = pw.AutoField()
        dossier = pw.ForeignKeyField(
            column_name="dossier_id",
            field="id",
            model=migrator.orm["dossier"],
            on_delete="CASCADE",
        )
        from_group = pw.ForeignKeyField(
            column_name="from_group_id",
            field="id",
            model=migrator.orm["staff_group"],
            null=True,
            on_delete="SET NULL",
            backref="+",
        )
        to_group = pw.ForeignKeyField(
            column_name="to_group_id",
            field="id",
            model=migrator.orm["staff_group"],
            null=True,
            on_delete="SET NULL",
            backref="+",
        )
        actor_staff = pw.ForeignKeyField(
            column_name="actor_staff_id",
            field="id",
            model=migrator.orm["staff_user"],
            null=True,
            on_delete="SET NULL",
            backref="+",
        )
        rule = pw.CharField(max_length=200, null=True)
        reason = pw.TextField(null=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "group_change"
            legacy_table_names = False
            indexes = [(("dossier", "created_at"), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("group_change")
    migrator.drop_index("dossier", "group", "submitted_at", "id")
    migrator.remove_fields("dossier", "group")
    migrator.remove_model("staff_group_member")
    migrator.remove_model("staff_group")
