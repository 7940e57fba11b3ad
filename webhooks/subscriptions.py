"""What an administrator does with the webhooks, each audited: create a subscription (its
secret returned once), change it, make a new secret, pause and resume it, delete it, and replay
a dead delivery (one, or every one of a subscription). The operator on the CLI is the system
actor and may do the same."""

from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from peewee import IntegrityError, fn

import sealed
from access import AccessRefused
from access.api_tokens import checked_procedures
from models import (
    ActorKind,
    AuditEvent,
    DeliveryStatus,
    Event,
    EventType,
    StaffRole,
    StaffUser,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
    write_transaction,
)
from webhooks import WebhookRefused, keys

NAME_MAX = 100
URL_MAX = 500


def require_administrator(actor):
    if actor.kind == ActorKind.SYSTEM:
        return
    if actor.kind != ActorKind.STAFF or actor.staff.staff_role != StaffRole.ADMIN:
        raise WebhookRefused(_("Seul un administrateur gère les webhooks."))


def checked_url(url):
    url = (url or "").strip()
    parts = urlsplit(url)
    schemes = ("https", "http") if current_app.config["WEBHOOK_ALLOW_HTTP"] else ("https",)
    if len(url) > URL_MAX or parts.scheme not in schemes or not parts.hostname:
        if parts.scheme == "http" and parts.hostname:
            message = _("L'adresse doit commencer par https:// (le chiffrement est obligatoire).")
        else:
            message = _("Indiquez une adresse complète, par exemple https://exemple.be/webhooks.")
        raise WebhookRefused(message, field="url")
    if parts.username or parts.password:
        raise WebhookRefused(
            _("L'adresse ne peut contenir ni nom d'utilisateur ni mot de passe."), field="url"
        )
    return url


def checked_types(types):
    types = list(dict.fromkeys(t for t in types or () if t))
    unknown = [t for t in types if t not in {e.value for e in EventType}]
    if unknown:
        raise WebhookRefused(
            _("Type d'événement inconnu : %(types)s.", types=", ".join(unknown)),
            field="event_types",
        )
    return types


def checked(name, url, procedures, event_types, owner):
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise WebhookRefused(
            _("Donnez au webhook un nom de 1 à %(n)s caractères.", n=NAME_MAX), field="name"
        )
    try:
        codes = checked_procedures(procedures)
    except AccessRefused as refused:
        raise WebhookRefused(str(refused), field="procedures") from None
    if not isinstance(owner, StaffUser) or not owner.active:
        raise WebhookRefused(
            _("Choisissez le membre du personnel averti quand le webhook échoue."),
            field="owner",
        )
    return name, checked_url(url), codes, checked_types(event_types)


def last_position():
    """The feed's last position given: a new subscription receives the events after it."""
    return Event.select(fn.MAX(Event.position)).scalar() or 0


def create(actor, name, url, procedures, event_types, owner):
    """A new subscription, audited; returns (subscription, secret): the secret is shown once.
    It receives the events written from now on (the feed gives the earlier ones)."""
    require_administrator(actor)
    name, url, codes, types = checked(name, url, procedures, event_types, owner)
    secret = keys.new_secret()
    try:
        with write_transaction():
            subscription = WebhookSubscription.create(
                name=name,
                url=url,
                secret_sealed=keys.seal(secret),
                procedures=codes,
                event_types=types,
                owner=owner,
                created_by=actor.staff,
                last_position=last_position(),
            )
            AuditEvent.record(
                "webhook.created",
                actor,
                target=subscription,
                webhook=name,
                url=url,
                procedures=codes,
                event_types=types,
            )
    except IntegrityError:
        raise WebhookRefused(
            _("Un webhook porte déjà le nom « %(name)s ».", name=name), field="name"
        ) from None
    return subscription, secret


def update(actor, subscription, name, url, procedures, event_types, owner):
    """Change what the subscription receives and where; audited with what it was."""
    require_administrator(actor)
    name, url, codes, types = checked(name, url, procedures, event_types, owner)
    before = {
        "name": subscription.name,
        "url": subscription.url,
        "procedures": subscription.procedures,
        "event_types": subscription.event_types,
        "owner": subscription.owner.email,
    }
    try:
        with write_transaction():
            WebhookSubscription.update(
                name=name, url=url, procedures=codes, event_types=types, owner=owner
            ).where(WebhookSubscription.id == subscription.id).execute()
            AuditEvent.record(
                "webhook.updated",
                actor,
                target=subscription,
                webhook=name,
                before=before,
                after={
                    "name": name,
                    "url": url,
                    "procedures": codes,
                    "event_types": types,
                    "owner": owner.email,
                },
            )
    except IntegrityError:
        raise WebhookRefused(
            _("Un webhook porte déjà le nom « %(name)s ».", name=name), field="name"
        ) from None
    subscription.name, subscription.url, subscription.owner = name, url, owner
    subscription.procedures, subscription.event_types = codes, types
    return subscription


def reseal_secrets(actor):
    """Every subscription's secret sealed again under SECRET_KEY (after a rotation: the old key
    in SECRET_KEY_FALLBACKS), audited; returns (resealed, names of those no key opens: their
    secret is to be rotated)."""
    with write_transaction():
        resealed, broken = sealed.reseal_column(
            WebhookSubscription.secret_sealed, keys.PURPOSE, WebhookSubscription.name
        )
        AuditEvent.record(
            "webhook.secrets_resealed", actor, resealed=resealed, unopened=len(broken), via="cli"
        )
    return resealed, broken


def rotate_secret(actor, subscription):
    """A new secret from now on (the old one signs nothing more); returned once."""
    require_administrator(actor)
    secret = keys.new_secret()
    with write_transaction():
        WebhookSubscription.update(secret_sealed=keys.seal(secret)).where(
            WebhookSubscription.id == subscription.id
        ).execute()
        AuditEvent.record(
            "webhook.secret_rotated", actor, target=subscription, webhook=subscription.name
        )
    return secret


def pause(actor, subscription, reason=WebhookSubscription.PAUSED_BY_HAND):
    """Hold the subscription's deliveries (they wait, none is lost); False when it already was.
    The worker pauses it itself after repeated failures (the system actor)."""
    if reason == WebhookSubscription.PAUSED_BY_HAND:
        require_administrator(actor)
    with write_transaction():
        now = utcnow()
        done = (
            WebhookSubscription.update(paused_at=now, pause_reason=reason)
            .where(
                WebhookSubscription.id == subscription.id, WebhookSubscription.paused_at.is_null()
            )
            .execute()
        )
        if done:
            subscription.paused_at, subscription.pause_reason = now, reason
            AuditEvent.record(
                "webhook.paused",
                actor,
                target=subscription,
                webhook=subscription.name,
                reason=reason,
            )
    return bool(done)


def resume(actor, subscription):
    """Send again: the waiting deliveries are due at once, the failures counted from zero."""
    require_administrator(actor)
    with write_transaction():
        done = (
            WebhookSubscription.update(paused_at=None, pause_reason=None, consecutive_failures=0)
            .where(
                WebhookSubscription.id == subscription.id,
                WebhookSubscription.paused_at.is_null(False),
            )
            .execute()
        )
        if done:
            WebhookDelivery.update(next_attempt_at=utcnow()).where(
                WebhookDelivery.subscription == subscription,
                WebhookDelivery.status == DeliveryStatus.PENDING.value,
            ).execute()
            subscription.paused_at = subscription.pause_reason = None
            subscription.consecutive_failures = 0
            AuditEvent.record(
                "webhook.resumed", actor, target=subscription, webhook=subscription.name
            )
    return bool(done)


def delete(actor, subscription):
    """Remove the subscription with its deliveries and log (the audit log keeps its name)."""
    require_administrator(actor)
    with write_transaction():
        AuditEvent.record(
            "webhook.deleted",
            actor,
            target=subscription,
            webhook=subscription.name,
            url=subscription.url,
        )
        subscription.delete_instance(recursive=True)


def replay(actor, deliveries):
    """Send the dead deliveries again from their first delay, with the same webhook-id (a
    receiver that has one already knows it); returns how many were replayed."""
    require_administrator(actor)
    ids = [d.id for d in deliveries if d.state == DeliveryStatus.DEAD]
    if not ids:
        return 0
    with write_transaction():
        done = (
            WebhookDelivery.update(
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                next_attempt_at=utcnow(),
                claimed_until=None,
            )
            .where(WebhookDelivery.id.in_(ids), WebhookDelivery.status == DeliveryStatus.DEAD.value)
            .execute()
        )
        for delivery in deliveries:
            if delivery.id in ids:
                AuditEvent.record(
                    "webhook.replayed",
                    actor,
                    target=delivery.subscription,
                    webhook=delivery.subscription.name,
                    delivery=delivery.id,
                    event=delivery.event_id,
                )
    return done


def dead_letters(subscription=None):
    query = WebhookDelivery.select().where(WebhookDelivery.status == DeliveryStatus.DEAD.value)
    if subscription is not None:
        query = query.where(WebhookDelivery.subscription == subscription)
    return query.order_by(WebhookDelivery.position)
