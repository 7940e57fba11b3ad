"""One-time codes and validation links: issued, rate-limited and checked here, stored hashed.

Used by the stand-in identity provider (login codes by SMS or email) and by the portal
(validation of the professional email address).
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from models import VerificationCode, utcnow, write_transaction

MAX_ATTEMPTS = 5
RATE_WINDOW = timedelta(minutes=15)
MAX_PER_WINDOW = 5
PRO_EMAIL_PURPOSE = "pro-email"
PRO_EMAIL_TTL = timedelta(hours=24)


class CodeError(Exception):
    """A code that cannot be accepted; `str()` is the message for the user."""

    def __init__(self, reason, message):
        super().__init__(str(message))
        self.reason = reason


def _digest(*parts):
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, ":".join(parts).encode(), hashlib.sha256).hexdigest()


def token_digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def check_rate(purpose, subject, address, now):
    since = now - RATE_WINDOW
    recent = VerificationCode.select().where(
        VerificationCode.purpose == purpose, VerificationCode.created_at > since
    )
    if (
        recent.where(VerificationCode.subject == subject).count() >= MAX_PER_WINDOW
        or recent.where(VerificationCode.address == address).count() >= MAX_PER_WINDOW
    ):
        raise CodeError(
            "rate",
            _l(
                "Trop de codes demandés. Patientez %(minutes)s minutes avant d'en demander un "
                "nouveau.",
                minutes=int(RATE_WINDOW.total_seconds() // 60),
            ),
        )


def issue(purpose, subject, channel, address, ttl, with_token=False):
    """A new code (and link token) for `subject`; older ones of the same purpose stop working.

    Returns (code, token or None). Raises CodeError('rate') when too many were asked.
    """
    now = utcnow()
    code = f"{secrets.randbelow(10**6):06d}"
    token = secrets.token_urlsafe(32) if with_token else None
    with write_transaction():
        check_rate(purpose, subject, address, now)
        VerificationCode.update(invalidated_at=now).where(
            VerificationCode.purpose == purpose,
            VerificationCode.subject == subject,
            VerificationCode.used_at.is_null(),
            VerificationCode.invalidated_at.is_null(),
        ).execute()
        VerificationCode.create(
            purpose=purpose,
            subject=subject,
            channel=channel,
            address=address,
            code_hash=_digest(purpose, subject, code),
            token_hash=token_digest(token) if token else None,
            created_at=now,
            expires_at=now + ttl,
        )
    return code, token


def _consume(row, now):
    """Mark the code used, once: of two concurrent checks only one succeeds."""
    used = (
        VerificationCode.update(used_at=now)
        .where(VerificationCode.id == row.id, VerificationCode.used_at.is_null())
        .execute()
    )
    if used != 1:
        raise CodeError("used", _l("Ce code a déjà été utilisé. Demandez-en un nouveau."))
    return row


def _check_usable(row, now):
    if row.used_at is not None:
        raise CodeError("used", _l("Ce code a déjà été utilisé. Demandez-en un nouveau."))
    if row.attempts >= MAX_ATTEMPTS:
        raise CodeError("dead", _l("Trop d'essais incorrects : ce code n'est plus valable."))
    if row.expires_at <= now:
        raise CodeError("expired", _l("Ce code a expiré. Demandez-en un nouveau."))


def verify(purpose, subject, code):
    """The code row if `code` is the current one for `subject`; raises CodeError otherwise."""
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
    if current is None or not hmac.compare_digest(current.code_hash, expected):
        if any(r.invalidated_at and hmac.compare_digest(r.code_hash, expected) for r in rows):
            raise CodeError(
                "superseded",
                _l("Ce code a été remplacé par un code plus récent : utilisez le dernier reçu."),
            )
        if current is None:
            raise CodeError("none", _l("Aucun code en cours. Demandez-en un nouveau."))
        _check_usable(current, now)
        VerificationCode.update(attempts=VerificationCode.attempts + 1).where(
            VerificationCode.id == current.id
        ).execute()
        left = MAX_ATTEMPTS - current.attempts - 1
        if left <= 0:
            raise CodeError("dead", _l("Trop d'essais incorrects : ce code n'est plus valable."))
        raise CodeError(
            "wrong",
            ngettext(
                "Code incorrect. Il vous reste %(num)d essai.",
                "Code incorrect. Il vous reste %(num)d essais.",
                left,
            ),
        )
    _check_usable(current, now)
    return _consume(current, now)


def token_subject(purpose, token):
    """Who a link's token was issued for (without using it), or None for an unknown token."""
    row = VerificationCode.get_or_none(
        VerificationCode.purpose == purpose,
        VerificationCode.token_hash == token_digest(token or ""),
    )
    return row.subject if row else None


def verify_token(purpose, token):
    """The code row for a validation link's token; raises CodeError if it cannot be used."""
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
    return _consume(row, now)
