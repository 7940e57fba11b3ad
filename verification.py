"""One-time codes and validation links: issued, rate-limited and checked here, stored hashed.

Used by the stand-in identity provider (login codes by SMS or email) and by the portal
(validation of the professional email address).

A code dies after MAX_ATTEMPTS wrong tries, counted in the database by a conditional update
(`attempts = attempts + 1 WHERE attempts < MAX_ATTEMPTS`, checked by its row count): however
many guesses arrive at once, on SQLite or PostgreSQL, at most MAX_ATTEMPTS are ever compared.
Sending is bounded per person, per address and per requesting IP address; each wrong try is a
`code.failed` audit row and each refused send a `code.send_refused` one (never the code).
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from models import Actor, AuditEvent, VerificationCode, utcnow, write_transaction

MAX_ATTEMPTS = 5
RATE_WINDOW = timedelta(minutes=15)
MAX_PER_WINDOW = 5
# An office behind one address may hold several people asking at once: a wider bound.
MAX_PER_IP_WINDOW = 20
PRO_EMAIL_PURPOSE = "pro-email"
PRO_EMAIL_TTL = timedelta(hours=24)


class CodeError(Exception):
    """A code that cannot be accepted; `str()` is the message for the user."""

    def __init__(self, reason, message):
        super().__init__(str(message))
        self.reason = reason
        self.row = None  # the code it is about, for the audit row


def _digest(*parts):
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, ":".join(parts).encode(), hashlib.sha256).hexdigest()


def token_digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def check_rate(purpose, subject, address, ip_address, now):
    """Refuse a new code when this person or this address had MAX_PER_WINDOW of this purpose,
    or this IP address MAX_PER_IP_WINDOW of any purpose, in the last RATE_WINDOW."""
    since = now - RATE_WINDOW
    recent = VerificationCode.select().where(VerificationCode.created_at > since)
    same = recent.where(VerificationCode.purpose == purpose)
    if (
        same.where(VerificationCode.subject == subject).count() >= MAX_PER_WINDOW
        or same.where(VerificationCode.address == address).count() >= MAX_PER_WINDOW
        or (
            ip_address
            and recent.where(VerificationCode.ip_address == ip_address).count() >= MAX_PER_IP_WINDOW
        )
    ):
        raise CodeError(
            "rate",
            _l(
                "Trop de codes demandés. Patientez %(minutes)s minutes avant d'en demander un "
                "nouveau.",
                minutes=int(RATE_WINDOW.total_seconds() // 60),
            ),
        )


def audit_send_refused(actor, purpose, channel, error):
    """The `code.send_refused` audit row of a refused send (written by the caller once its
    transaction is over, so that the refusal's rollback keeps it)."""
    AuditEvent.record(
        "code.send_refused",
        actor or Actor.system(),
        purpose=purpose,
        channel=channel,
        reason=error.reason,
    )


def issue(purpose, subject, channel, address, ttl, with_token=False, ip_address=None):
    """A new code (and link token) for `subject`, asked from `ip_address`; older ones of the
    same purpose stop working. The code is six digits drawn from `secrets`, kept as an HMAC.

    Returns (code, token or None). Raises CodeError('rate') when too many were asked (the caller
    records it with `audit_send_refused`).
    """
    now = utcnow()
    code = f"{secrets.randbelow(10**6):06d}"
    token = secrets.token_urlsafe(32) if with_token else None
    with write_transaction():
        check_rate(purpose, subject, address, ip_address, now)
        invalidate(purpose, subject, now)
        VerificationCode.create(
            purpose=purpose,
            subject=subject,
            channel=channel,
            address=address,
            ip_address=ip_address,
            code_hash=_digest(purpose, subject, code),
            token_hash=token_digest(token) if token else None,
            created_at=now,
            expires_at=now + ttl,
        )
    return code, token


def invalidate(purpose, subject, now=None):
    """Stop the codes and links of `purpose` not used yet for `subject` (a newer one sent, or
    its account switched off)."""
    VerificationCode.update(invalidated_at=now or utcnow()).where(
        VerificationCode.purpose == purpose,
        VerificationCode.subject == subject,
        VerificationCode.used_at.is_null(),
        VerificationCode.invalidated_at.is_null(),
    ).execute()


def _consume(row, now, by_code=True):
    """Mark the code used, once, while it is still alive: of two concurrent checks only one
    succeeds, and a typed code none after its last wrong try was counted (a link's token,
    32 random bytes, is not killed by wrong codes)."""
    alive = [
        VerificationCode.id == row.id,
        VerificationCode.used_at.is_null(),
        VerificationCode.invalidated_at.is_null(),
        VerificationCode.expires_at > now,
    ]
    if by_code:
        alive.append(VerificationCode.attempts < MAX_ATTEMPTS)
    if VerificationCode.update(used_at=now).where(*alive).execute() != 1:
        fresh = VerificationCode.get_by_id(row.id)
        if fresh.invalidated_at is not None and fresh.used_at is None:
            raise CodeError(
                "superseded",
                _l("Ce code a été remplacé par un code plus récent : utilisez le dernier reçu."),
            )
        _check_usable(fresh, now)
        raise CodeError("used", _l("Ce code a déjà été utilisé. Demandez-en un nouveau."))
    return row


def _check_usable(row, now):
    if row.used_at is not None:
        raise CodeError("used", _l("Ce code a déjà été utilisé. Demandez-en un nouveau."))
    if row.attempts >= MAX_ATTEMPTS:
        raise CodeError("dead", _l("Trop d'essais incorrects : ce code n'est plus valable."))
    if row.expires_at <= now:
        raise CodeError("expired", _l("Ce code a expiré. Demandez-en un nouveau."))


def _count_wrong_try(row):
    """One more wrong try on `row`, counted by the database only while the code is alive; the
    tries left after it, or None when the code was dead (or used) and the try not counted."""
    counted = (
        VerificationCode.update(attempts=VerificationCode.attempts + 1)
        .where(
            VerificationCode.id == row.id,
            VerificationCode.attempts < MAX_ATTEMPTS,
            VerificationCode.used_at.is_null(),
        )
        .execute()
    )
    if counted != 1:
        return None
    attempts = VerificationCode.select(VerificationCode.attempts).where(
        VerificationCode.id == row.id
    )
    return MAX_ATTEMPTS - attempts.scalar()


def verify(purpose, subject, code, actor=None):
    """The code row if `code` is the current one for `subject`; raises CodeError otherwise,
    after recording a `code.failed` audit row for `actor` (the system when None)."""
    try:
        return _verify(purpose, subject, code)
    except CodeError as error:
        AuditEvent.record(
            "code.failed",
            actor or Actor.system(),
            target=error.row,
            purpose=purpose,
            reason=error.reason,
        )
        raise


def _verify(purpose, subject, code):
    now = utcnow()
    code = (code or "").strip().replace(" ", "")
    rows = list(
        VerificationCode.select()
        .where(VerificationCode.purpose == purpose, VerificationCode.subject == subject)
        .order_by(VerificationCode.created_at.desc(), VerificationCode.id.desc())
        .limit(10)
    )
    current = next((r for r in rows if r.invalidated_at is None), None)
    expected = _digest(purpose, subject, code)
    try:
        if current is not None and hmac.compare_digest(current.code_hash, expected):
            _check_usable(current, now)
            return _consume(current, now)
        if any(r.invalidated_at and hmac.compare_digest(r.code_hash, expected) for r in rows):
            raise CodeError(
                "superseded",
                _l("Ce code a été remplacé par un code plus récent : utilisez le dernier reçu."),
            )
        if current is None:
            raise CodeError("none", _l("Aucun code en cours. Demandez-en un nouveau."))
        _check_usable(current, now)
        left = _count_wrong_try(current)
        dead = _l("Trop d'essais incorrects : ce code n'est plus valable.")
        if left is None:  # another guess took the last try meanwhile
            _check_usable(VerificationCode.get_by_id(current.id), now)
            raise CodeError("dead", dead)
        if left == 0:  # this wrong try was the last one counted
            raise CodeError("wrong", dead)
        raise CodeError(
            "wrong",
            ngettext(
                "Code incorrect. Il vous reste %(num)d essai.",
                "Code incorrect. Il vous reste %(num)d essais.",
                left,
            ),
        )
    except CodeError as error:
        error.row = current
        raise


def token_subject(purpose, token):
    """Who a link's token was issued for (without using it), or None for an unknown token."""
    row = VerificationCode.get_or_none(
        VerificationCode.purpose == purpose,
        VerificationCode.token_hash == token_digest(token or ""),
    )
    return row.subject if row else None


def verify_token(purpose, token):
    """The code row for a validation link's token, used up; raises CodeError if it cannot be
    used."""
    return _consume(usable_token(purpose, token), utcnow(), by_code=False)


def usable_token(purpose, token):
    """The code row for a validation link's token that can still be used (without using it);
    raises CodeError otherwise."""
    now = utcnow()
    row = VerificationCode.get_or_none(
        VerificationCode.purpose == purpose,
        VerificationCode.token_hash == token_digest(token or ""),
    )
    if row is None:
        raise CodeError("none", _l("Ce lien de validation n'est pas valable."))
    if row.invalidated_at is not None:
        raise CodeError(
            "superseded",
            _l("Ce lien a été remplacé par un envoi plus récent : utilisez le dernier."),
        )
    if row.used_at is not None:
        raise CodeError("used", _l("Ce lien a déjà été utilisé."))
    if row.expires_at <= now:
        raise CodeError("expired", _l("Ce lien a expiré. Demandez un nouvel envoi."))
    return row
