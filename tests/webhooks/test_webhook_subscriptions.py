"""The administrators' services of the webhooks: what a subscription may be (its URL, name,
procedures, event types, owner), who may manage it, its secret kept sealed and shown once,
pause, resume, delete and replay, each audited."""

import pytest
from standardwebhooks.webhooks import Webhook
from webhook_helpers import subscribe

from helpers import make_definition, make_staff
from models import Actor, AuditEvent, StaffRole, WebhookSubscription
from webhooks import WebhookRefused, delivery, keys, subscriptions


def admin_actor():
    return Actor.staff_member(make_staff(StaffRole.ADMIN))


def test_the_secret_is_shown_once_and_kept_sealed(ctx, app):
    subscription, secret = subscribe("https://archive.example.be/hooks")
    assert secret.startswith("whsec_")
    row = WebhookSubscription.get_by_id(subscription.id)
    assert secret not in row.secret_sealed and secret[6:] not in row.secret_sealed
    assert keys.unseal(row.secret_sealed) == secret
    app.config["SECRET_KEY"] = "another key"
    with pytest.raises(ValueError):
        keys.unseal(row.secret_sealed)


def test_signed_headers_verify_with_the_library(ctx):
    secret = keys.new_secret()
    body = '{"type":"dossier.received"}'
    headers = delivery.signed_headers(secret, "evt_1", body)
    assert Webhook(secret).verify(body, headers) == {"type": "dossier.received"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://archive.example.be/"}, "url"),
        ({"url": "archive.example.be"}, "url"),
        ({"url": "https://user:pw@archive.example.be/"}, "url"),
        ({"url": "https://x.be/" + "a" * 500}, "url"),
        ({"name": "  "}, "name"),
        ({"name": "n" * 101}, "name"),
        ({"procedures": ["nope"]}, "procedures"),
        ({"event_types": ["dossier.deleted"]}, "event_types"),
        ({"owner": None}, "owner"),
    ],
)
def test_a_bad_subscription_is_refused_with_its_field(ctx, change, field):
    owner = make_staff(StaffRole.ADMIN)
    values = {
        "name": "archive",
        "url": "https://archive.example.be/hooks",
        "procedures": [],
        "event_types": [],
        "owner": owner,
    } | change
    with pytest.raises(WebhookRefused) as refused:
        subscriptions.create(Actor.staff_member(owner), **values)
    assert refused.value.field == field and str(refused.value)
    assert WebhookSubscription.select().count() == 0


def test_plain_http_is_refused_where_it_is_not_allowed(ctx, app):
    app.config["WEBHOOK_ALLOW_HTTP"] = False
    owner = make_staff(StaffRole.ADMIN)
    with pytest.raises(WebhookRefused, match="https://") as refused:
        subscriptions.create(
            Actor.staff_member(owner), "archive", "http://archive.example.be/", [], [], owner
        )
    assert refused.value.field == "url"


def test_only_an_administrator_manages_webhooks(ctx):
    subscription, _secret = subscribe("https://archive.example.be/hooks")
    for role in (StaffRole.AGENT, StaffRole.SUPERVISOR, StaffRole.HELPDESK):
        actor = Actor.staff_member(make_staff(role))
        with pytest.raises(WebhookRefused):
            subscriptions.create(actor, "x", "https://x.be/", [], [], actor.staff)
        with pytest.raises(WebhookRefused):
            subscriptions.pause(actor, subscription)
        with pytest.raises(WebhookRefused):
            subscriptions.rotate_secret(actor, subscription)
        with pytest.raises(WebhookRefused):
            subscriptions.delete(actor, subscription)


def test_a_name_is_taken_once(ctx):
    subscription, _secret = subscribe("https://archive.example.be/hooks")
    actor = admin_actor()
    with pytest.raises(WebhookRefused, match=subscription.name) as refused:
        subscriptions.create(actor, subscription.name, "https://x.be/", [], [], actor.staff)
    assert refused.value.field == "name"


def test_every_change_is_audited(ctx):
    make_definition()
    actor = admin_actor()
    subscription, secret = subscriptions.create(
        actor, "archive", "https://archive.example.be/hooks", ["enregistrement"], [], actor.staff
    )
    subscriptions.update(
        actor,
        subscription,
        "archive-2",
        "https://archive.example.be/v2",
        [],
        ["dossier.closed"],
        actor.staff,
    )
    assert WebhookSubscription.get_by_id(subscription.id).event_types == ["dossier.closed"]
    new_secret = subscriptions.rotate_secret(actor, subscription)
    assert new_secret != secret
    row = WebhookSubscription.get_by_id(subscription.id)
    assert keys.unseal(row.secret_sealed) == new_secret
    assert subscriptions.pause(actor, subscription) is True
    assert subscriptions.pause(actor, subscription) is False
    assert subscriptions.resume(actor, subscription) is True
    assert subscriptions.resume(actor, subscription) is False
    subscriptions.delete(actor, subscription)
    assert WebhookSubscription.select().count() == 0
    actions = [
        e.action
        for e in AuditEvent.select()
        .where(AuditEvent.action.startswith("webhook."))
        .order_by(AuditEvent.id)
    ]
    assert actions == [
        "webhook.created",
        "webhook.updated",
        "webhook.secret_rotated",
        "webhook.paused",
        "webhook.resumed",
        "webhook.deleted",
    ]
    assert all(new_secret not in str(e.details) for e in AuditEvent.select())
