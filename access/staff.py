"""Staff logins to the back-office: the password, then a TOTP code (RFC 6238: 6 digits, 30-second
steps, one step of tolerance either side); the lock-out after `models.MAX_FAILED_LOGINS` failures
in a row; and the audit events of each attempt.

Replay protection without a schema change: every accepted code's time step is written in the
details of its `staff.login` audit event (`{"totp_step": N}`). A code is accepted only when its
step is higher than every step recorded for that staff member in the last `REPLAY_MEMORY` (a code
is valid for at most three steps, 90 seconds, so older events cannot matter). The check and the
new audit row are written in one transaction holding the staff row's lock (SELECT ... FOR UPDATE
on PostgreSQL, the IMMEDIATE write lock on SQLite), so two processes given the same code at the
same moment accept it once: nothing lives in process memory.

The TOTP secret is kept sealed (`sealed`: encrypted under a key derived from SECRET_KEY), opened
only to check a code (`totp_secret_of`).
"""

import hmac
import time
from datetime import timedelta

import pyotp
from peewee import IntegrityError, fn

import sealed
from auth import end_session, hash_password, start_session, verify_password
from models import Actor, AuditEvent, StaffUser, UserSession, utcnow, write_transaction

TOTP_ISSUER = "Guichet"
TOTP_METHOD = "password+totp"
REPLAY_MEMORY = timedelta(minutes=5)
TOTP_PURPOSE = b"guichet totp secrets"


class LoginRefused(Exception):
    """A login step refused; `reason` is the one its audit event gives ("locked", "password",
    "inactive", "unknown_account", "totp", "totp_replayed"), or "enrolled" when another login
    saved a TOTP secret first; `locked` tells whether the account is locked now."""

    def __init__(self, reason, locked=False):
        super().__init__(reason)
        self.reason = reason
        self.locked = locked


def actor(staff):
    return Actor.staff_member(staff) if staff is not None else Actor.system()


def check_password(email, password, ip_address):
    """The active, unlocked staff member with this address and password; otherwise the failure
    is audited (and counted, for an existing account) and LoginRefused raised."""
    staff = StaffUser.get_or_none(fn.LOWER(StaffUser.email) == email.lower())
    if staff is not None and staff.is_locked(utcnow()):
        AuditEvent.record(
            "staff.login_failed", actor(staff), target=staff, ip_address=ip_address, reason="locked"
        )
        raise LoginRefused("locked", locked=True)
    if staff is not None and staff.active and verify_password(staff, password):
        return staff
    reason = "unknown_account"
    if staff is not None:
        reason = "password" if staff.active else "inactive"
    raise LoginRefused(reason, locked=count_failure(staff, reason, ip_address))


def count_failure(staff, reason, ip_address):
    """One more failed attempt for `staff` (None: no such account, nothing to count), audited;
    True if it locked the account."""
    with write_transaction():
        if staff is None:
            AuditEvent.record(
                "staff.login_failed", actor(None), ip_address=ip_address, reason=reason
            )
            return False
        locked = staff.record_failed_login(utcnow())
        AuditEvent.record(
            "staff.login_failed",
            actor(staff),
            target=staff,
            ip_address=ip_address,
            reason=reason,
            locked=locked,
        )
    return locked


def new_totp_secret():
    return pyotp.random_base32()


def totp_secret_of(staff):
    """The staff member's TOTP secret, opened; None before the enrolment. Raises
    sealed.SealBroken when no key of the app opens it (SECRET_KEY changed without keeping the
    old one in SECRET_KEY_FALLBACKS)."""
    return sealed.unseal(TOTP_PURPOSE, staff.totp_secret) if staff.totp_secret else None


def reseal_totp_secrets(actor):
    """Every TOTP secret sealed again under SECRET_KEY (after a rotation: the old key in
    SECRET_KEY_FALLBACKS), audited; returns (resealed, emails of those no key opens)."""
    with write_transaction():
        resealed, broken = sealed.reseal_column(
            StaffUser.totp_secret, TOTP_PURPOSE, StaffUser.email
        )
        AuditEvent.record(
            "staff.totp_resealed", actor, resealed=resealed, unopened=len(broken), via="cli"
        )
    return resealed, broken


def provisioning_uri(secret, staff):
    """The otpauth:// URI that an authenticator app reads from the enrolment's QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=staff.email, issuer_name=TOTP_ISSUER)


def matching_step(secret, code, now):
    """The time step whose code is `code`, within one step of `now` (what pyotp's
    `verify(code, valid_window=1)` accepts, but telling which step matched), or None."""
    totp = pyotp.TOTP(secret)
    current = int(now // totp.interval)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def last_totp_step(staff, now):
    """The highest time step accepted lately for `staff`, read from its `staff.login` events."""
    events = AuditEvent.select(AuditEvent.details).where(
        AuditEvent.action == "staff.login",
        AuditEvent.target_type == StaffUser.__name__,
        AuditEvent.target_id == str(staff.id),
        AuditEvent.created_at >= now - REPLAY_MEMORY,
    )
    return max((e.details.get("totp_step", -1) for e in events), default=-1)


def check_code(staff, secret, code, ip_address, enrolling=False, language=None, page_language=None):
    """The second step: a right code for `secret` opens the session of `staff` (saving the
    secret when `enrolling`, and `language` when one was chosen on the login pages: one of
    those offered); a wrong or replayed one counts toward the lock-out. Raises LoginRefused."""
    step = matching_step(secret, code, time.time())
    if step is None:
        raise LoginRefused("totp", locked=count_failure(staff, "totp", ip_address))
    new_secret = secret if enrolling else None
    if not complete_login(staff, step, new_secret, ip_address, language, page_language):
        locked = count_failure(staff, "totp_replayed", ip_address)
        raise LoginRefused("totp_replayed", locked=locked)


def complete_login(staff, step, new_secret, ip_address, language=None, page_language=None):
    """Open the session of `staff` for a code of time `step`, saving `new_secret` when enrolling
    (the new session also drops the pending state of the login pages), and `language` (chosen
    on the login pages, which the new session forgets) as theirs, else the language of the login
    pages (`page_language`) until they choose one. False, with nothing
    written, when a code of that step or a later one was accepted already; raises
    LoginRefused("enrolled") when another login saved a secret meanwhile."""
    now = utcnow()
    with write_transaction():
        staff = staff.lock_row()
        if new_secret and staff.totp_secret:  # before the replay check: the same step won
            raise LoginRefused("enrolled")
        if step <= last_totp_step(staff, now):
            return False
        if new_secret and not staff.save_first_totp_secret(sealed.seal(TOTP_PURPOSE, new_secret)):
            raise LoginRefused("enrolled")
        staff.record_login(now)
        if language:  # chosen on the login pages
            staff.language, staff.language_chosen = language, True
        elif page_language and not staff.language_chosen:  # the browser's, until they choose
            staff.language = page_language
        staff.save(only=[StaffUser.language, StaffUser.language_chosen])
        start_session(staff, auth_method=TOTP_METHOD)
        if new_secret:
            AuditEvent.record(
                "staff.totp_enrolled", actor(staff), target=staff, ip_address=ip_address
            )
        AuditEvent.record(
            "staff.login",
            actor(staff),
            target=staff,
            ip_address=ip_address,
            auth_method=TOTP_METHOD,
            totp_step=step,
        )
    return True


def log_out(staff, ip_address):
    """End this browser's session, audited when a staff member was logged in."""
    if staff is not None:
        AuditEvent.record("staff.logout", actor(staff), target=staff, ip_address=ip_address)
    end_session()


def create_account(actor, email, full_name, role, password):
    """A new staff account (its second factor is enrolled at the first login), audited; None
    when an account already has this address."""
    try:
        with write_transaction():
            staff = StaffUser.create(
                email=email,
                full_name=full_name.strip(),
                role=role,
                password_hash=hash_password(password),
            )
            AuditEvent.record("staff.created", actor, target=staff, role=role, via="cli")
    except IntegrityError:
        return None
    return staff


def reset_second_factor(actor, staff):
    """Forget the staff member's TOTP secret (a new enrolment at the next login) and close their
    sessions: whoever holds the old device must not keep one. Returns the sessions closed."""
    with write_transaction():
        StaffUser.update(totp_secret=None).where(StaffUser.id == staff.id).execute()
        revoked = (
            UserSession.update(revoked_at=utcnow())
            .where(UserSession.staff == staff.id, UserSession.revoked_at.is_null())
            .execute()
        )
        AuditEvent.record(
            "staff.totp_reset", actor, target=staff, via="cli", sessions_revoked=revoked
        )
    return revoked


def set_language(staff, language, languages):
    """The language of the back-office pages for `staff`, one of `languages` (those offered),
    kept for their next logins; False, with nothing written, for any other."""
    if language not in languages:
        return False
    if staff.language != language or not staff.language_chosen:
        staff.language, staff.language_chosen = language, True
        staff.save(only=[StaffUser.language, StaffUser.language_chosen])
    return True
