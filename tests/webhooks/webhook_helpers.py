"""Helpers of the webhooks' tests (call them inside an app context, `ctx`)."""

import itertools

from flask import current_app

from access import api_tokens
from helpers import make_staff
from models import Actor, StaffRole, WebhookSubscription
from webhooks import delivery, subscriptions

_names = itertools.count(1)


def bearer():
    """The header of a new read token (the feed's reader)."""
    _token, secret = api_tokens.create(Actor.system(), f"reader-{next(_names)}", "read", [])
    return {"Authorization": f"Bearer {secret}"}


def subscribe(url, procedures=(), event_types=(), owner=None):
    """A subscription made by an administrator through the service: (subscription, secret)."""
    admin = make_staff(StaffRole.ADMIN)
    return subscriptions.create(
        Actor.staff_member(admin),
        f"system-{next(_names)}",
        url,
        list(procedures),
        list(event_types),
        owner or admin,
    )


def quick_retries(retries=3, pause_after=100, timeout=0.5):
    """Attempts again at once (the back-off's delays set to nothing), `retries` times."""
    config = current_app.config
    config["WEBHOOK_RETRY_DELAYS"] = [0.0] * retries
    config["WEBHOOK_PAUSE_AFTER"] = pause_after
    config["WEBHOOK_TIMEOUT_SECONDS"] = timeout


def rounds(n):
    """`n` rounds of the worker; what each delivered."""
    return [delivery.run()[1] for _i in range(n)]


def until_quiet(limit=50):
    """Rounds until one delivers nothing."""
    for _i in range(limit):
        if not delivery.run()[1]:
            return
    raise AssertionError("the webhooks never went quiet")


def fresh(subscription):
    return WebhookSubscription.get_by_id(subscription.id)
