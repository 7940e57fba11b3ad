"""Tokens of the REST API: made by an administrator (back-office) or an operator (CLI), shown
once, kept as the SHA-256 of their secret, revoked but never deleted; and every call made with
one, in the audit log under the token's name.

A secret is `gui_` and 43 characters of `secrets.token_urlsafe(32)` (256 bits): a plain SHA-256
is enough to keep it (no salt or slow hash is needed for a random secret of that size), and it
lets a call find its token by one indexed lookup.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from peewee import IntegrityError

from access import AccessRefused
from models import (
    Actor,
    ActorKind,
    ApiScope,
    ApiToken,
    AuditEvent,
    ProcedureDefinition,
    StaffRole,
    utcnow,
    write_transaction,
)

SECRET_PREFIX = "gui_"  # noqa: S105  (not a secret: the mark of one)
NAME_MAX = 100
# `last_used_at` is written at most this often per token: every call is in the audit log
# anyway, and a busy client would otherwise write the same row on every request.
TOUCH_EVERY = timedelta(seconds=60)

# Why a presented token is refused (the `reason` of TokenRefused, and of the 401's detail).
MISSING, UNKNOWN, REVOKED = "missing", "unknown", "revoked"


class TokenRefused(Exception):
    """No usable token in a call: `reason` is MISSING, UNKNOWN or REVOKED; `token` is the
    revoked token, when it was one."""

    def __init__(self, reason, token=None):
        super().__init__(reason)
        self.reason = reason
        self.token = token


def digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret():
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def require_administrator(actor):
    """Tokens are made and revoked by an administrator, or by an operator on the CLI (the
    system actor)."""
    if actor.kind == ActorKind.SYSTEM:
        return
    if actor.kind != ActorKind.STAFF or actor.staff.staff_role != StaffRole.ADMIN:
        raise AccessRefused(_("Seul un administrateur gère les jetons d'accès à l'API."))


def checked_procedures(codes):
    """The codes, each of a procedure that exists, without repeats, in order."""
    codes = list(dict.fromkeys(c.strip() for c in codes or () if c and c.strip()))
    known = {
        row.code
        for row in ProcedureDefinition.select(ProcedureDefinition.code).where(
            ProcedureDefinition.code.in_(codes)
        )
    }
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise AccessRefused(
            _("Procédure inconnue : %(codes)s.", codes=", ".join(unknown)), field="procedures"
        )
    return codes


def create(actor, name, scope, procedures=()):
    """A new token, audited; returns (token, secret): the secret exists nowhere else, so the
    caller shows it once. AccessRefused for a name that is empty or taken, an unknown scope or
    procedure, or an actor who is not an administrator."""
    require_administrator(actor)
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise AccessRefused(
            _("Donnez au jeton un nom de 1 à %(n)s caractères.", n=NAME_MAX), field="name"
        )
    try:
        scope = ApiScope(scope)
    except ValueError:
        raise AccessRefused(_("Portée inconnue : %(scope)s.", scope=scope), field="scope") from None
    codes = checked_procedures(procedures)
    secret = new_secret()
    try:
        with write_transaction():
            token = ApiToken.create(
                name=name,
                secret_sha256=digest(secret),
                prefix=secret[:12],
                scope=scope.value,
                procedures=codes,
                created_by=actor.staff,
            )
            AuditEvent.record(
                "api_token.created",
                actor,
                target=token,
                token=token.name,
                scope=scope.value,
                procedures=codes,
            )
    except IntegrityError:
        raise AccessRefused(
            _("Un jeton porte déjà le nom « %(name)s ».", name=name), field="name"
        ) from None
    return token, secret


def revoke(actor, token):
    """Revoke the token from now on, audited; False when it was revoked already."""
    require_administrator(actor)
    with write_transaction():
        now = utcnow()
        done = (
            ApiToken.update(revoked_at=now)
            .where(ApiToken.id == token.id, ApiToken.revoked_at.is_null())
            .execute()
        )
        if done:
            token.revoked_at = now
            AuditEvent.record("api_token.revoked", actor, target=token, token=token.name)
    return bool(done)


def find(name):
    return ApiToken.get_or_none(ApiToken.name == name)


def authenticate(secret):
    """The live token whose secret this is; TokenRefused otherwise."""
    if not secret:
        raise TokenRefused(MISSING)
    token = ApiToken.get_or_none(ApiToken.secret_sha256 == digest(secret))
    # The lookup is by the digest; comparing again in constant time costs nothing.
    if token is None or not hmac.compare_digest(token.secret_sha256, digest(secret)):
        raise TokenRefused(UNKNOWN)
    if token.is_revoked:
        raise TokenRefused(REVOKED, token)
    return token


def record_refused_call(ip_address, method, path, status, reason, presented=None):
    """One `api.unauthorized` audit row for a call with no token or an unknown one: why, and
    at most the first 4 characters of what was presented, never the rest of it."""
    details = {"method": method, "path": path[:200], "status": status, "reason": reason}
    if presented:
        details["presented_start"] = presented[:4]
    with write_transaction():
        return AuditEvent.record(
            "api.unauthorized", Actor(ActorKind.API, ip_address=ip_address), **details
        )


def record_call(token, ip_address, method, path, status, target=None):
    """One `api.call` audit row naming the token (its revoked token too, for a refused call),
    and the token's last use, in one transaction."""
    now = utcnow()
    with write_transaction():
        if not token.is_revoked and (
            token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY
        ):
            ApiToken.update(last_used_at=now).where(ApiToken.id == token.id).execute()
            token.last_used_at = now
        return AuditEvent.record(
            "api.call",
            Actor.api(token, ip_address),
            target=target if target is not None else token,
            method=method,
            path=path[:200],
            status=status,
        )
