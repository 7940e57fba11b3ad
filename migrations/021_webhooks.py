"""Peewee migrations -- 021_webhooks.py.

The webhooks (webhooks/): the subscriptions of the administration's systems (URL, sealed
secret, procedures, event types, owner, the feed position looked at, failures and pause), one
delivery per event and subscription (unique), and the log of every HTTP attempt.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class WebhookSubscription(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=100, unique=True)
        url = pw.CharField(max_length=500)
        secret_sealed = pw.TextField()
        procedures = pw.TextField()
        event_types = pw.TextField()
        owner = pw.ForeignKeyField(
            column_name="owner_id",
            field="id",
            model=migrator.orm["staff_user"],
            on_delete="RESTRICT",
        )
        created_by = pw.ForeignKeyField(
            column_name="created_by_id",
            field="id",
            model=migrator.orm["staff_user"],
            null=True,
            on_delete="SET NULL",
            backref="+",
        )
        created_at = pw.DateTimeField()
        last_position = pw.IntegerField(default=0)
        consecutive_failures = pw.IntegerField(default=0)
        last_success_at = pw.DateTimeField(null=True)
        paused_at = pw.DateTimeField(null=True)
        pause_reason = pw.CharField(max_length=20, null=True)

        class Meta:
            table_name = "webhook_subscription"
            legacy_table_names = False

    @migrator.create_model
    class WebhookDelivery(pw.Model):
        id = pw.AutoField()
        subscription = pw.ForeignKeyField(
            column_name="subscription_id",
            field="id",
            model=migrator.orm["webhook_subscription"],
            on_delete="CASCADE",
        )
        event = pw.ForeignKeyField(
            column_name="event_id", field="id", model=migrator.orm["event"], on_delete="CASCADE"
        )
        position = pw.IntegerField()
        status = pw.CharField(max_length=10, default="pending")
        attempts = pw.IntegerField(default=0)
        next_attempt_at = pw.DateTimeField()
        claimed_until = pw.DateTimeField(null=True)
        last_status_code = pw.IntegerField(null=True)
        last_error = pw.CharField(max_length=300, null=True)
        created_at = pw.DateTimeField()
        delivered_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "webhook_delivery"
            legacy_table_names = False
            indexes = [
                (("subscription", "event"), True),
                (("subscription", "status", "position"), False),
                (("status", "next_attempt_at"), False),
            ]

    @migrator.create_model
    class WebhookAttempt(pw.Model):
        id = pw.AutoField()
        delivery = pw.ForeignKeyField(
            column_name="delivery_id",
            field="id",
            model=migrator.orm["webhook_delivery"],
            on_delete="CASCADE",
        )
        subscription = pw.ForeignKeyField(
            column_name="subscription_id",
            field="id",
            index=False,
            model=migrator.orm["webhook_subscription"],
            on_delete="CASCADE",
        )
        attempted_at = pw.DateTimeField()
        status_code = pw.IntegerField(null=True)
        duration_ms = pw.IntegerField()
        error = pw.CharField(max_length=300, null=True)

        class Meta:
            table_name = "webhook_attempt"
            legacy_table_names = False
            indexes = [(("subscription", "attempted_at"), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("webhook_attempt")
    migrator.remove_model("webhook_delivery")
    migrator.remove_model("webhook_subscription")
