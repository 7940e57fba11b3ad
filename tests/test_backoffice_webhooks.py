"""The webhooks' back-office pages: administrators only; a subscription made through the form
with its secret shown once; a refusal on its field with what was typed kept; pause, resume,
new secret and delete by POST with the CSRF token; the delivery log; the dead letters replayed
one by one and in bulk, audited; the pages in English and German."""

import itertools
import re

import pytest

import models
from helpers import csrf_from, login_staff, make_definition, make_dossier, make_staff, text
from models import (
    Actor,
    AuditEvent,
    DeliveryStatus,
    DossierStatus,
    StaffRole,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from webhooks import delivery, subscriptions

# Nothing listens there: the attempts that the app's immediate jobs make are refused at once.
RECEIVER = "https://127.0.0.1:9/hooks"
_names = itertools.count(1)


def subscribe(url):
    """A subscription made by an administrator through the service: (subscription, secret)."""
    owner = make_staff(StaffRole.ADMIN)
    name = f"system-{next(_names)}"
    return subscriptions.create(Actor.staff_member(owner), name, url, [], [], owner)


@pytest.fixture
def admin(client, ctx):
    staff = make_staff(StaffRole.ADMIN, full_name="Ada Admin")
    login_staff(client, staff)
    return staff


def with_deliveries(status=DossierStatus.RECEIVED):
    """A subscription with the deliveries of one dossier's events (pending, as fanned out)."""
    subscription, _secret = subscribe(RECEIVER)
    dossier = make_dossier(status)
    delivery.fan_out()
    deliveries = list(
        WebhookDelivery.select()
        .where(WebhookDelivery.subscription == subscription)
        .order_by(WebhookDelivery.position)
    )
    return subscription, dossier, deliveries


def killed(found, code=503):
    """The delivery made dead after a logged attempt that got `code`."""
    WebhookAttempt.create(
        delivery=found, subscription=found.subscription_id, status_code=code, duration_ms=87
    )
    WebhookDelivery.update(
        status=DeliveryStatus.DEAD.value, attempts=9, last_status_code=code
    ).where(WebhookDelivery.id == found.id).execute()
    return found


def webhook_pages(subscription_id):
    return [
        "/admin/webhooks/",
        "/admin/webhooks/new/",
        f"/admin/webhooks/edit/?id={subscription_id}",
        f"/admin/webhooks/details/?id={subscription_id}",
        f"/admin/webhooks/{subscription_id}/log",
        f"/admin/webhooks/delete/{subscription_id}",
        "/admin/webhooks/dead-letters/",
    ]


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.SUPERVISOR, StaffRole.HELPDESK])
def test_only_administrators_reach_the_webhook_pages(client, ctx, role):
    subscription, _secret = subscribe(RECEIVER)
    login_staff(client, make_staff(role))
    for path in webhook_pages(subscription.id):
        assert client.get(path).status_code == 403, path
    token = csrf_from(client.get("/admin/").text)
    for action in ("pause", "resume", "rotate", "delete"):
        posted = client.post(
            f"/admin/webhooks/{action}/{subscription.id}", data={"csrf_token": token}
        )
        assert posted.status_code == 403, action
    dead = killed(with_deliveries()[2][0])
    replayed = client.post(
        f"/admin/webhooks/dead-letters/replay/{dead.id}", data={"csrf_token": token}
    )
    bulk = client.post(
        "/admin/webhooks/dead-letters/action/",
        data={"csrf_token": token, "action": "replay", "rowid": [str(dead.id)]},
    )
    assert replayed.status_code == bulk.status_code == 403
    assert WebhookDelivery.get_by_id(dead.id).state == DeliveryStatus.DEAD
    assert "Webhooks" not in text(client.get("/admin/"))


def test_an_administrator_creates_a_webhook_and_sees_its_secret_once(client, admin):
    make_definition()
    form = client.get("/admin/webhooks/new/")
    assert form.status_code == 200 and "Dossier réceptionné" in text(form)
    page = client.post(
        "/admin/webhooks/new/",
        data={
            "csrf_token": csrf_from(form.text),
            "name": "archives",
            "url": RECEIVER,
            "procedures": ["enregistrement"],
            "event_types": ["dossier.received", "dossier.closed"],
            "owner": str(admin.id),
        },
    )
    secret = re.search(r'id="webhook-secret">(whsec_[\w+/=]+)<', page.text)[1]
    assert "webhook-signature" in page.text and "standardwebhooks" in page.text
    subscription = WebhookSubscription.get(name="archives")
    assert subscription.procedures == ["enregistrement"] and subscription.owner_id == admin.id
    assert subscription.event_types == ["dossier.received", "dossier.closed"]
    listing = text(client.get("/admin/webhooks/"))
    assert "archives" in listing and RECEIVER in listing and "Dossier clôturé" in listing
    assert "actif" in listing and secret not in listing
    details = client.get(f"/admin/webhooks/details/?id={subscription.id}")
    assert details.status_code == 200 and secret not in details.text
    assert AuditEvent.get(AuditEvent.action == "webhook.created").actor_staff_id == admin.id


def test_a_refused_url_is_said_on_its_field_and_the_form_kept(client, admin):
    form = client.get("/admin/webhooks/new/")
    page = client.post(
        "/admin/webhooks/new/",
        data={
            "csrf_token": csrf_from(form.text),
            "name": "statistiques",
            "url": "receiver.example/hooks",
            "event_types": ["dossier.closed"],
            "owner": str(admin.id),
        },
    )
    body = text(page)
    assert page.status_code == 200 and WebhookSubscription.select().count() == 0
    error = re.search(r'<div id="url-error" class="invalid-feedback">([^<]+)</div>', body)
    assert error and "https://exemple.be/webhooks" in error[1]
    assert 'aria-invalid="true"' in re.search(r'<input[^>]*id="url"[^>]*>', body)[0]
    assert 'value="statistiques"' in body and 'value="receiver.example/hooks"' in body
    assert re.search(r'<input[^>]*checked[^>]*value="dossier.closed"', body) or re.search(
        r'<input[^>]*value="dossier.closed"[^>]*checked', body
    )


def test_the_edit_form_calls_the_service(client, admin):
    subscription, _secret = subscribe(RECEIVER)
    other, _secret = subscribe(RECEIVER)
    form = client.get(f"/admin/webhooks/edit/?id={subscription.id}")
    assert RECEIVER in form.text
    page = client.post(
        f"/admin/webhooks/edit/?id={subscription.id}",
        data={"csrf_token": csrf_from(form.text), "name": other.name, "url": RECEIVER},
    )
    error = re.search(r'<div id="name-error" class="invalid-feedback">([^<]+)</div>', text(page))
    assert error and f"Un webhook porte déjà le nom « {other.name} »." in error[1]
    assert WebhookSubscription.get_by_id(subscription.id).name == subscription.name
    page = client.post(
        f"/admin/webhooks/edit/?id={subscription.id}",
        data={
            "csrf_token": csrf_from(form.text),
            "name": "renamed",
            "url": "https://127.0.0.1:9/other",
            "owner": str(admin.id),
        },
        follow_redirects=True,
    )
    assert "Le webhook « renamed » est modifié." in text(page)
    saved = WebhookSubscription.get_by_id(subscription.id)
    assert (saved.name, saved.url, saved.owner_id) == (
        "renamed",
        "https://127.0.0.1:9/other",
        admin.id,
    )
    assert (
        AuditEvent.get(AuditEvent.action == "webhook.updated").details["before"]["url"] == RECEIVER
    )


def test_pause_resume_new_secret_and_delete_by_post_with_the_token(client, admin):
    subscription, old_secret = subscribe(RECEIVER)
    path = f"/admin/webhooks/details/?id={subscription.id}"
    for action in ("pause", "resume", "rotate", "delete"):
        assert client.post(f"/admin/webhooks/{action}/{subscription.id}").status_code == 400
    assert not WebhookSubscription.get_by_id(subscription.id).is_paused

    token = csrf_from(client.get(path).text)
    page = client.post(
        f"/admin/webhooks/pause/{subscription.id}",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "en pause à la main, depuis le" in text(page) and "Reprendre" in text(page)
    assert WebhookSubscription.get_by_id(subscription.id).pause_reason == "manual"
    page = client.post(
        f"/admin/webhooks/resume/{subscription.id}",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert not WebhookSubscription.get_by_id(subscription.id).is_paused
    assert "Mettre en pause" in text(page)

    page = client.post(f"/admin/webhooks/rotate/{subscription.id}", data={"csrf_token": token})
    secret = re.search(r'id="webhook-secret">(whsec_[\w+/=]+)<', page.text)[1]
    assert secret != old_secret and secret not in client.get(path).text
    assert AuditEvent.select().where(AuditEvent.action == "webhook.secret_rotated").count() == 1

    confirm = client.get(f"/admin/webhooks/delete/{subscription.id}")
    assert "Supprimer le webhook « " in text(confirm)
    page = client.post(
        f"/admin/webhooks/delete/{subscription.id}",
        data={"csrf_token": csrf_from(confirm.text)},
        follow_redirects=True,
    )
    assert WebhookSubscription.get_or_none(WebhookSubscription.id == subscription.id) is None
    assert "est supprimé" in text(page)
    assert AuditEvent.select().where(AuditEvent.action == "webhook.deleted").count() == 1


def test_the_list_shows_waiting_and_dead_deliveries_and_a_pause_after_failures(client, admin):
    subscription, _dossier, deliveries = with_deliveries()
    killed(deliveries[0])
    WebhookSubscription.update(
        paused_at=utcnow(), pause_reason="failures", consecutive_failures=20
    ).where(WebhookSubscription.id == subscription.id).execute()
    listing = text(client.get("/admin/webhooks/"))
    assert f"{len(deliveries) - 1} en attente, 1 morte(s)" in listing
    assert "en pause après des échecs répétés, depuis le" in listing
    assert f"/admin/webhooks/dead-letters/?flt0_0={subscription.id}" in listing


def test_the_list_reads_the_same_number_of_queries_for_one_webhook_or_many(
    client, admin, monkeypatch
):
    database, counted = models.db.obj, []
    execute_sql = database.execute_sql

    def counting(sql, *args, **kwargs):
        counted.append(sql)
        return execute_sql(sql, *args, **kwargs)

    def queries_of_the_list():
        client.get("/admin/webhooks/")  # sessions and the like settled
        counted.clear()
        monkeypatch.setattr(database, "execute_sql", counting)
        assert client.get("/admin/webhooks/").status_code == 200
        monkeypatch.setattr(database, "execute_sql", execute_sql)
        return len(counted)

    killed(with_deliveries()[2][0])
    one = queries_of_the_list()
    for _i in range(4):
        killed(with_deliveries()[2][0])
    assert 0 < one == queries_of_the_list()


def test_the_log_shows_each_attempt_newest_first_with_its_code_and_duration(client, admin):
    subscription, dossier, deliveries = with_deliveries()
    WebhookAttempt.create(
        delivery=deliveries[0], subscription=subscription, status_code=502, duration_ms=1234
    )
    WebhookAttempt.create(
        delivery=deliveries[0], subscription=subscription, duration_ms=10001, error="timeout"
    )
    page = text(client.get(f"/admin/webhooks/{subscription.id}/log"))
    assert "HTTP 502" in page and "1234" in page and dossier.reference in page
    assert page.index("timeout") < page.index("HTTP 502")  # newest first
    assert "Dossier soumis" in page and "en attente" in page


def test_the_log_pages_by_keyset(client, admin, monkeypatch):
    monkeypatch.setattr("backoffice.webhooks.LOG_PAGE", 2)
    subscription, _dossier, deliveries = with_deliveries()
    for code in (201, 202, 203, 204, 205):
        WebhookAttempt.create(
            delivery=deliveries[0], subscription=subscription, status_code=code, duration_ms=1
        )
    seen, path = [], f"/admin/webhooks/{subscription.id}/log"
    while path:
        page = client.get(path).text
        seen += re.findall(r"HTTP (\d+)", page)
        found = re.search(r'rel="next" href="([^"]+)"', page)
        path = found[1].replace("&amp;", "&") if found else None
    assert seen == ["205", "204", "203", "202", "201"]


def test_a_dead_letter_is_listed_and_replayed_with_an_audit_row(client, admin):
    subscription, dossier, deliveries = with_deliveries()
    dead = killed(deliveries[0])
    other, _d, others = with_deliveries()
    killed(others[0], code=500)
    page = client.get(f"/admin/webhooks/dead-letters/?flt0_0={subscription.id}")
    body = text(page)
    assert page.status_code == 200 and dossier.reference in body
    rows = body.split("</thead>")[1].split("</table>")[0]
    assert subscription.name in rows and other.name not in rows
    assert "HTTP 503" in body and "Dossier soumis" in body
    form = re.search(rf'<form method="post" action="([^"]*/replay/{dead.id}[^"]*)"', page.text)
    page = client.post(
        form[1].replace("&amp;", "&"),
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=True,
    )
    assert "1 livraison(s) rejouée(s)." in text(page)
    assert WebhookDelivery.get_by_id(dead.id).state == DeliveryStatus.PENDING
    assert WebhookDelivery.get_by_id(dead.id).attempts == 0
    audit = AuditEvent.get(AuditEvent.action == "webhook.replayed")
    assert audit.details["delivery"] == dead.id and audit.actor_staff_id == admin.id


def test_the_dead_letters_are_replayed_in_bulk(client, admin):
    _subscription, _dossier, deliveries = with_deliveries()
    dead = [killed(d) for d in deliveries[:2]]
    page = client.get("/admin/webhooks/dead-letters/")
    assert (
        client.post(
            "/admin/webhooks/dead-letters/action/",
            data={"action": "replay", "rowid": [str(d.id) for d in dead]},
        ).status_code
        == 400
    )
    page = client.post(
        "/admin/webhooks/dead-letters/action/",
        data={
            "csrf_token": csrf_from(page.text),
            "action": "replay",
            "rowid": [str(d.id) for d in dead],
        },
        follow_redirects=True,
    )
    assert "2 livraison(s) rejouée(s)." in text(page)
    states = {WebhookDelivery.get_by_id(d.id).state for d in dead}
    assert states == {DeliveryStatus.PENDING}
    assert AuditEvent.select().where(AuditEvent.action == "webhook.replayed").count() == 2


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ("Delivery log", "Dead letters", "Pause")),
        ("de", ("Versandprotokoll", "Unzustellbare", "Pausieren")),
    ],
)
def test_the_webhook_pages_in_english_and_german(app, client, admin, language, words):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    subscription, _dossier, deliveries = with_deliveries()
    killed(deliveries[0])
    client.get(f"/admin/?lang={language}")
    pages = {path: client.get(path) for path in webhook_pages(subscription.id)}
    assert {path: page.status_code for path, page in pages.items()} == dict.fromkeys(pages, 200)
    assert all(f'<html lang="{language}"' in page.text for page in pages.values())
    details = text(pages[f"/admin/webhooks/details/?id={subscription.id}"])
    assert all(word in details for word in words), words
    assert "Mettre en pause" not in details
