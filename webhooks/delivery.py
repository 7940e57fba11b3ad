"""The worker's side of the webhooks: hand each subscription the events it wants, once each
(`fan_out`), then send what is due (`send_due`), each subscription in a thread of its own.

A delivery is claimed (a lease, `claimed_until`) before it is sent, so that two workers never
send it at the same time. Each attempt is logged (`WebhookAttempt`) with the receiver's answer
and its time. A 2xx answer delivers it; anything else (an error code, a refused connection, no
answer within WEBHOOK_TIMEOUT_SECONDS) tries it again after the next of WEBHOOK_RETRY_DELAYS;
when they are spent it is dead (the dead letters), until an administrator replays it. After
WEBHOOK_PAUSE_AFTER failed attempts in a row the subscription is paused and its owner emailed.

A subscription's round stops at its first failure: its receiver is most likely down, and the
next round (a minute later, or at the next event) tries again, so that a broken receiver costs
one timeout per round and never delays another subscription.
"""

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta

import requests
from flask import current_app
from standardwebhooks.webhooks import Webhook

import models
import notifications
from dossiers import events
from models import (
    Actor,
    DeliveryStatus,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
    write_transaction,
)
from webhooks import keys, subscriptions

log = logging.getLogger(__name__)
FAN_OUT_BATCH = 1000  # events looked at per transaction, per subscription
ROUND_BATCH = 200  # deliveries sent per subscription and round
MAX_THREADS = 8
USER_AGENT = "Guichet-Webhooks/1"


def fan_out(batch=FAN_OUT_BATCH):
    """Make the deliveries of the events past each subscription's position (paused ones too:
    their deliveries wait); returns how many were made."""
    events.sequence_pending()
    made = 0
    for subscription_id in list(WebhookSubscription.select(WebhookSubscription.id).tuples()):
        while True:
            count, more = _fan_out_one(subscription_id[0], batch)
            made += count
            if not more:
                break
    return made


def _fan_out_one(subscription_id, batch):
    with write_transaction():
        query = WebhookSubscription.select().where(WebhookSubscription.id == subscription_id)
        subscription = (query.for_update() if models.db.for_update else query).get_or_none()
        if subscription is None:
            return 0, False
        rows = list(
            Event.select(Event.id, Event.type, Event.procedure_code, Event.position)
            .where(Event.position > subscription.last_position)
            .order_by(Event.position)
            .limit(batch)
        )
        if not rows:
            return 0, False
        now = utcnow()
        wanted = [
            {
                "subscription": subscription.id,
                "event": e.id,
                "position": e.position,
                "next_attempt_at": now,
                "created_at": now,
            }
            for e in rows
            if subscription.wants(e)
        ]
        if wanted:
            WebhookDelivery.insert_many(wanted).on_conflict_ignore().execute()
        WebhookSubscription.update(last_position=rows[-1].position).where(
            WebhookSubscription.id == subscription.id
        ).execute()
    return len(wanted), len(rows) == batch


def body_of(event):
    """The JSON body of an event (the same `data` as in the feed), as sent and signed."""
    document = {
        "type": event.type,
        "timestamp": event.created_at.isoformat() + "Z",
        "data": events.payload(event),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def signed_headers(secret, webhook_id, body, at=None):
    """The Standard Webhooks headers of a body: its id, the time of the attempt, the signature."""
    at = at or utcnow()
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.replace(tzinfo=UTC).timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


def due_subscriptions(now):
    """The subscriptions, not paused, with a delivery due."""
    return [
        row[0]
        for row in WebhookDelivery.select(WebhookDelivery.subscription)
        .join(WebhookSubscription)
        .where(
            WebhookSubscription.paused_at.is_null(),
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= now,
        )
        .distinct()
        .tuples()
    ]


def send_due():
    """Send the due deliveries of every subscription, each in its own thread; returns how many
    were delivered."""
    subscription_ids = due_subscriptions(utcnow())
    if not subscription_ids:
        return 0
    app = current_app._get_current_object()
    threads = min(MAX_THREADS, len(subscription_ids))
    with ThreadPoolExecutor(threads, thread_name_prefix="webhook") as pool:
        return sum(pool.map(lambda sid: _in_app(app, send_subscription, sid), subscription_ids))


def _in_app(app, fn, *args):
    with app.app_context():
        models.db.connect(reuse_if_open=True)
        try:
            return fn(*args)
        except Exception:
            log.exception("Webhook round of subscription %s failed", args)
            return 0
        finally:
            models.db.close()


def send_subscription(subscription_id, limit=ROUND_BATCH):
    """Send the subscription's due deliveries in feed order until one fails; returns how many
    were delivered."""
    delivered = 0
    for _i in range(limit):
        subscription = WebhookSubscription.get_or_none(WebhookSubscription.id == subscription_id)
        if subscription is None or subscription.is_paused:
            break
        delivery = claim_next(subscription)
        if delivery is None:
            break
        if not attempt(subscription, delivery):
            break
        delivered += 1
    return delivered


def claim_next(subscription):
    """The subscription's first due delivery, claimed for this worker; None when none is due."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config["WEBHOOK_TIMEOUT_SECONDS"] * 3 + 60)
    free = WebhookDelivery.claimed_until.is_null() | (WebhookDelivery.claimed_until < now)
    # read whole before writing: an update while a SQLite read is still open on this
    # connection could not take the write lock if another worker wrote meanwhile
    candidates = list(
        WebhookDelivery.select()
        .where(
            WebhookDelivery.subscription == subscription,
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= now,
            free,
        )
        .order_by(WebhookDelivery.position)
        .limit(5)
    )
    for candidate in candidates:
        taken = (
            WebhookDelivery.update(claimed_until=now + lease)
            .where(
                WebhookDelivery.id == candidate.id,
                WebhookDelivery.status == DeliveryStatus.PENDING.value,
                free,
            )
            .execute()
        )
        if taken == 1:
            return candidate
    return None


def post(subscription, delivery):
    """One HTTP call; (status code or None, error or None, milliseconds)."""
    config = current_app.config
    event = Event.get_by_id(delivery.event_id)
    body = body_of(event)
    headers = signed_headers(keys.unseal(subscription.secret_sealed), delivery.webhook_id, body)
    started = time.monotonic()
    try:
        answer = requests.post(
            subscription.url,
            data=body.encode(),
            headers=headers,
            timeout=config["WEBHOOK_TIMEOUT_SECONDS"],
            allow_redirects=False,
        )
        code, error = answer.status_code, None
        answer.close()
    except requests.Timeout:
        code, error = None, "timeout"
    except requests.RequestException as exc:
        code, error = None, f"{type(exc).__name__}: {exc}"[:300]
    return code, error, int((time.monotonic() - started) * 1000)


def attempt(subscription, delivery):
    """Send one delivery and write what came of it; True when it was delivered."""
    code, error, duration = post(subscription, delivery)
    ok = code is not None and 200 <= code < 300
    now = utcnow()
    with write_transaction():
        WebhookAttempt.create(
            delivery=delivery,
            subscription=subscription,
            attempted_at=now,
            status_code=code,
            duration_ms=duration,
            error=error if not ok else None,
        )
        if ok:
            WebhookDelivery.update(
                status=DeliveryStatus.DELIVERED.value,
                attempts=WebhookDelivery.attempts + 1,
                delivered_at=now,
                claimed_until=None,
                last_status_code=code,
                last_error=None,
            ).where(WebhookDelivery.id == delivery.id).execute()
            WebhookSubscription.update(consecutive_failures=0, last_success_at=now).where(
                WebhookSubscription.id == subscription.id
            ).execute()
            return True
        failed(subscription, delivery, code, error or f"HTTP {code}", now)
    return False


def failed(subscription, delivery, code, error, now):
    """A failed attempt: the next one after its delay, or the dead letters; the subscription
    paused when it has failed too often in a row."""
    delays = current_app.config["WEBHOOK_RETRY_DELAYS"]
    attempts = delivery.attempts + 1
    values = {
        "attempts": attempts,
        "claimed_until": None,
        "last_status_code": code,
        "last_error": error[:300],
    }
    if attempts > len(delays):
        values["status"] = DeliveryStatus.DEAD.value
        log.warning(
            "Webhook %s: delivery %s dead after %s attempts",
            subscription.name,
            delivery.id,
            attempts,
        )
    else:
        values["next_attempt_at"] = now + timedelta(seconds=delays[attempts - 1])
    WebhookDelivery.update(values).where(WebhookDelivery.id == delivery.id).execute()
    [(failures,)] = (
        WebhookSubscription.update(
            consecutive_failures=WebhookSubscription.consecutive_failures + 1
        )
        .where(WebhookSubscription.id == subscription.id)
        .returning(WebhookSubscription.consecutive_failures)
        .tuples()
        .execute()
    )
    too_many = failures >= current_app.config["WEBHOOK_PAUSE_AFTER"]
    by_failures = WebhookSubscription.PAUSED_BY_FAILURES
    if too_many and subscriptions.pause(Actor.system(), subscription, by_failures):
        notifications.webhook_paused(subscription, failures, code, error)


def run():
    """One round of the worker: fan out, then send; returns (made, delivered)."""
    if not WebhookSubscription.select().exists():
        return 0, 0
    return fan_out(), send_due()


def purge(days=None):
    """Forget the attempts and the delivered deliveries older than WEBHOOK_LOG_DAYS."""
    days = days or current_app.config["WEBHOOK_LOG_DAYS"]
    before = utcnow() - timedelta(days=days)
    with write_transaction():
        attempts = WebhookAttempt.delete().where(WebhookAttempt.attempted_at < before).execute()
        delivered = (
            WebhookDelivery.delete()
            .where(
                WebhookDelivery.status == DeliveryStatus.DELIVERED.value,
                WebhookDelivery.delivered_at < before,
            )
            .execute()
        )
    return attempts, delivered
