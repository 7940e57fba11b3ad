"""Webhooks delivered to a real HTTP receiver that checks every signature with the
`standardwebhooks` library: every event exactly once, in feed order, after being down for a
while; a slow or failing receiver retried then dead-lettered while another gets its events; a
body changed in transit refused; a subscription paused after repeated failures, its owner
emailed, its events waiting for the resumption; the status change never held back."""

from datetime import timedelta

import pytest
from receiver import FAILING, OK, SLOW, TAMPERED, Receiver
from webhook_helpers import bearer, fresh, quick_retries, rounds, subscribe, until_quiet

import notifications
from dossiers import processing
from helpers import make_definition, make_dossier, make_staff
from models import (
    Actor,
    DeliveryStatus,
    DossierStatus,
    OutboxMessage,
    WebhookAttempt,
    WebhookDelivery,
    utcnow,
)
from webhooks import delivery, subscriptions


@pytest.fixture
def receivers():
    made = []

    def make(**kwargs):
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.stop()


def feed_items(client):
    headers, items, cursor = bearer(), [], None
    while True:
        page = client.get(
            "/api/v1/events", headers=headers, query_string={"after": cursor} if cursor else {}
        ).json
        if not page["items"]:
            return items
        items += page["items"]
        cursor = page["next_cursor"]


def test_a_receiver_down_for_a_while_gets_every_event_once_in_feed_order(client, ctx, receivers):
    quick_retries(retries=20)
    receiver = receivers()
    subscription, secret = subscribe(receiver.url)
    receiver.secret = secret
    make_dossier(DossierStatus.PROCESSING)
    make_dossier(DossierStatus.RECEIVED)  # 3 + 2 events

    assert rounds(3) == [0, 0, 0]  # nothing listens: refused, tried again at each round
    attempts = list(WebhookAttempt.select().where(WebhookAttempt.subscription == subscription))
    assert len(attempts) == 3  # a round stops at its first failure: one attempt each
    assert all(a.status_code is None and a.error for a in attempts)

    receiver.start()
    until_quiet()
    feed = feed_items(client)
    assert len(feed) == 5
    assert receiver.rejected == []
    assert receiver.ids() == [f"evt_{e['id']}" for e in feed]  # each once, in feed order
    assert [payload["data"] for _id, payload in receiver.accepted] == feed
    assert receiver.accepted[0][1]["type"] == "dossier.submitted"
    deliveries = WebhookDelivery.select().where(WebhookDelivery.subscription == subscription)
    assert {d.status for d in deliveries} == {DeliveryStatus.DELIVERED.value}
    assert fresh(subscription).consecutive_failures == 0

    # Later events follow, and nothing is sent twice.
    make_dossier(DossierStatus.SUBMITTED)
    until_quiet()
    assert len(receiver.ids()) == 6 == len(set(receiver.ids()))


def test_a_slow_receiver_is_retried_then_dead_lettered_and_delays_no_other(ctx, receivers):
    quick_retries(retries=2, timeout=0.5)
    slow = receivers(slow_seconds=1.5)
    fast = receivers()
    slow_subscription, slow.secret = subscribe(slow.url)
    _fast_subscription, fast.secret = subscribe(fast.url)
    slow.start().mode = SLOW
    fast.start()
    make_dossier(DossierStatus.RECEIVED)

    delivery.run()
    assert len(fast.ids()) == 2  # in the same round as the slow receiver's timeout
    slow_call = slow.calls or None
    assert slow_call is None or fast.calls[-1][2] < slow_call[0][2]
    rounds(2)
    first = (
        WebhookDelivery.select()
        .where(WebhookDelivery.subscription == slow_subscription)
        .order_by(WebhookDelivery.position)
        .first()
    )
    assert first.state == DeliveryStatus.DEAD and first.attempts == 3
    assert first.last_error == "timeout" and first.last_status_code is None
    assert list(subscriptions.dead_letters(slow_subscription)) == [first]


def test_a_receiver_answering_500_is_retried_dead_lettered_then_replayed(ctx, receivers):
    quick_retries(retries=2)
    receiver = receivers()
    subscription, receiver.secret = subscribe(receiver.url)
    receiver.start().mode = FAILING
    make_dossier(DossierStatus.SUBMITTED)

    rounds(3)
    [dead] = subscriptions.dead_letters(subscription)
    assert dead.attempts == 3 and dead.last_status_code == 500
    log = WebhookAttempt.select().where(WebhookAttempt.delivery == dead)
    assert [a.status_code for a in log] == [500, 500, 500]
    assert all(a.duration_ms >= 0 for a in log)
    rounds(2)
    assert len(receiver.calls) == 3  # a dead letter is not sent again by itself

    receiver.mode = OK
    admin = make_staff("admin")
    assert subscriptions.replay(Actor.staff_member(admin), [dead]) == 1
    until_quiet()
    assert receiver.ids() == [dead.webhook_id]
    assert WebhookDelivery.get_by_id(dead.id).state == DeliveryStatus.DELIVERED


def test_a_body_changed_in_transit_is_refused_by_the_receiver(ctx, receivers):
    quick_retries(retries=5)
    receiver = receivers()
    subscription, receiver.secret = subscribe(receiver.url)
    receiver.start().mode = TAMPERED
    make_dossier(DossierStatus.SUBMITTED)

    rounds(2)
    assert receiver.accepted == []
    assert [why for _id, why in receiver.rejected] == ["No matching signature found"] * 2
    [pending] = WebhookDelivery.select().where(WebhookDelivery.subscription == subscription)
    assert pending.state == DeliveryStatus.PENDING and pending.last_status_code == 401

    receiver.mode = OK  # the link mended: the same event, signed again, goes through
    until_quiet()
    assert receiver.ids() == [pending.webhook_id]


def test_a_wrong_secret_is_refused(ctx, receivers):
    quick_retries()
    receiver = receivers()
    _subscription, _secret = subscribe(receiver.url)
    receiver.secret = subscriptions.keys.new_secret()  # not the subscription's
    receiver.start()
    make_dossier(DossierStatus.SUBMITTED)
    rounds(1)
    assert receiver.accepted == [] and len(receiver.rejected) == 1


def test_repeated_failures_pause_the_subscription_and_email_its_owner(ctx, receivers):
    quick_retries(retries=50, pause_after=3)
    receiver = receivers()
    owner = make_staff("supervisor", language="de")
    subscription, receiver.secret = subscribe(receiver.url, owner=owner)
    receiver.start().mode = FAILING
    make_dossier(DossierStatus.SUBMITTED)

    rounds(5)
    assert len(receiver.calls) == 3  # paused at the third failure in a row
    paused = fresh(subscription)
    assert paused.is_paused and paused.pause_reason == "failures"
    [email] = OutboxMessage.select().where(OutboxMessage.event == "webhook_paused")
    assert email.to_email == owner.email and email.language == "de"
    assert email.context["webhook"] == subscription.name and email.context["failures"] == 3
    subject, text, html = notifications.render(email)
    assert subject == f"Webhook „{subscription.name}“ nach wiederholten Fehlern pausiert"
    assert "HTTP 500" in text and f"/admin/webhooks/details/?id={subscription.id}" in html

    make_dossier(DossierStatus.RECEIVED)  # events keep coming while it is paused
    receiver.mode = OK
    rounds(2)
    assert receiver.accepted == []  # held, not lost
    assert WebhookDelivery.select().where(WebhookDelivery.subscription == subscription).count() == 3

    admin = make_staff("admin")
    assert subscriptions.resume(Actor.staff_member(admin), paused)
    until_quiet()
    assert len(receiver.ids()) == 3 == len(set(receiver.ids()))


def test_a_subscription_gets_only_its_procedures_and_types(ctx, receivers):
    quick_retries()
    receiver = receivers()
    wanted, other = make_definition(), make_definition("agrement", "AGR")
    _subscription, receiver.secret = subscribe(
        receiver.url, procedures=[wanted.code], event_types=["dossier.received"]
    )
    receiver.start()
    mine = make_dossier(DossierStatus.PROCESSING, definition=wanted)
    make_dossier(DossierStatus.PROCESSING, definition=other)
    until_quiet()
    assert [(p["type"], p["data"]["dossier_id"]) for _id, p in receiver.accepted] == [
        ("dossier.received", mine.id)
    ]


def test_a_new_subscription_starts_after_the_events_already_written(ctx, receivers):
    quick_retries()
    make_dossier(DossierStatus.SUBMITTED)
    delivery.events.sequence_pending()
    receiver = receivers()
    _subscription, receiver.secret = subscribe(receiver.url)
    receiver.start()
    later = make_dossier(DossierStatus.SUBMITTED)
    until_quiet()
    assert [p["data"]["dossier_id"] for _id, p in receiver.accepted] == [later.id]


def test_the_status_change_is_never_held_back_by_a_receiver(app, receivers):
    """With a worker queue (not run in the request), a transition commits and returns without
    calling the receiver; the worker's round then delivers it."""
    app.config["HUEY_IMMEDIATE"] = False
    from jobs import Jobs  # the app's queue, made again without the immediate mode

    jobs = app.extensions["jobs"] = Jobs(app)
    receiver = receivers(slow_seconds=3)
    with app.app_context():
        quick_retries(timeout=5)
        subscription, receiver.secret = subscribe(receiver.url)
        receiver.start().mode = SLOW
        dossier = make_dossier(DossierStatus.SUBMITTED)
        jobs.huey.flush()
    with app.app_context():
        agent = make_staff()
        processing.receive(Actor.staff_member(agent), dossier)
    assert receiver.calls == []  # the change is made and answered; nothing was sent yet
    with app.app_context():
        assert type(dossier).get_by_id(dossier.id).status == DossierStatus.RECEIVED.value
        queued = [task.name for task in jobs.huey.pending()]
        assert "deliver_webhooks" in queued
        receiver.mode = OK
        task = jobs.huey.dequeue()
        while task is not None and task.name != "deliver_webhooks":
            task = jobs.huey.dequeue()
        jobs.huey.execute(task)
        assert len(receiver.ids()) == 2
        assert subscription.id


def test_one_round_at_a_time_across_workers(app, ctx, receivers):
    """The worker's task takes a lock: a round woken while another runs leaves it to that one;
    the purge forgets the log past its days."""
    quick_retries()
    receiver = receivers()
    _subscription, receiver.secret = subscribe(receiver.url)
    receiver.start()
    make_dossier(DossierStatus.SUBMITTED)
    jobs = app.extensions["jobs"]
    with jobs.huey.lock_task("webhooks"):
        assert jobs.deliver_webhooks_once() is None
    assert receiver.accepted == []
    assert jobs.deliver_webhooks_once() == (1, 1)
    assert len(receiver.ids()) == 1
    assert delivery.purge(days=1) == (0, 0)
    long_ago = utcnow() - timedelta(days=2)
    WebhookAttempt.update(attempted_at=long_ago).execute()
    WebhookDelivery.update(delivered_at=long_ago).execute()
    assert delivery.purge(days=1) == (1, 1)
