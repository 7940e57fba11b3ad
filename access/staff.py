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
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import IntegrityError, fn

import notifications
import sealed
import verification
from access import AccessRefused
from auth import end_session, hash_password, start_session, verify_password
from models import (
    Actor,
    ActorKind,
    AuditEvent,
    StaffRole,
    StaffUser,
    UserSession,
    db,
    utcnow,
    write_transaction,
)

TOTP_ISSUER = "Guichet"
TOTP_METHOD = "password+totp"
REPLAY_MEMORY = timedelta(minutes=5)
TOTP_PURPOSE = b"guichet totp secrets"
MIN_PASSWORD_LENGTH = 12
NAME_MAX = 200
# A new account's password hash until its owner chooses one: no password verifies against it.
UNSET_HASH = "!"
LINK_PURPOSE = "staff-password"
PASSWORD_LINK_TTL = timedelta(hours=72)


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


class StaffRefused(AccessRefused):
    """A change of a staff account that is not allowed; `str()` is the message, translated."""


def require_admin(actor):
    """Staff accounts are managed by an administrator (or the CLI: the system)."""
    if actor.kind == ActorKind.SYSTEM:
        return
    if actor.kind != ActorKind.STAFF or actor.staff.staff_role != StaffRole.ADMIN:
        raise StaffRefused(_("Seul un administrateur gère les comptes du personnel."))


def normal_email(address):
    """The address written as accounts keep it (lower case); StaffRefused if it is not one."""
    try:
        result = validate_email(
            (address or "").strip(),
            check_deliverability=False,
            test_environment=current_app.config.get("EMAIL_ALLOW_TEST_DOMAINS", False),
        )
    except EmailNotValidError:
        raise StaffRefused(_("Cette adresse e-mail n'est pas valable."), field="email") from None
    return result.normalized.lower()


def create_account(actor, email, full_name, role, password=None, language=None, via="cli"):
    """A new staff account (its second factor is enrolled at the first login), audited. Without
    `password`, its owner is emailed a link (valid PASSWORD_LINK_TTL, once) to choose one, in
    `language`. StaffRefused when the address is taken or a value is not valid."""
    require_admin(actor)
    email, full_name = normal_email(email), (full_name or "").strip()
    if not full_name or len(full_name) > NAME_MAX:
        raise StaffRefused(_("Indiquez un nom de 1 à %(n)s caractères.", n=NAME_MAX), "full_name")
    if role not in set(StaffRole):
        raise StaffRefused(_("Choisissez un rôle."), field="role")
    try:
        with write_transaction():
            staff = StaffUser.create(
                email=email,
                full_name=full_name,
                role=StaffRole(role).value,
                password_hash=hash_password(password) if password else UNSET_HASH,
                language=language or "fr",
            )
            AuditEvent.record("staff.created", actor, target=staff, role=staff.role, via=via)
            if not password:
                _password_link(actor, staff)
    except IntegrityError:
        raise StaffRefused(
            _("Un compte existe déjà pour l'adresse %(email)s.", email=email), field="email"
        ) from None
    return staff


def _password_link(actor, staff):
    """The link that lets `staff` choose a password, emailed (in their transaction); older
    links stop working."""
    try:  # bounded per account and address, not per IP: an administrator may make many at once
        _code, token = verification.issue(
            LINK_PURPOSE, _subject(staff), "email", staff.email, PASSWORD_LINK_TTL, with_token=True
        )
    except verification.CodeError as error:
        raise StaffRefused(str(error)) from None
    hours = int(PASSWORD_LINK_TTL.total_seconds() // 3600)
    link_path = f"/admin/login/password/{token}?lang={staff.language}"  # the page in theirs
    notifications.staff_password_link(staff, link_path, hours)
    AuditEvent.record("staff.password_link_sent", actor, target=staff)


def _subject(staff):
    return f"staff:{staff.id}"


def send_password_link(actor, staff):
    """A new link to choose a password, emailed to an active account (the old one dies)."""
    require_admin(actor)
    with write_transaction():
        staff = staff.lock_row()
        if not staff.active:
            raise StaffRefused(_("Ce compte est désactivé : réactivez-le d'abord."))
        _password_link(actor, staff)


LINK_REFUSALS = {
    "used": _l("Ce lien a déjà servi."),
    "expired": _l("Ce lien a expiré."),
    "superseded": _l("Ce lien a été remplacé par un envoi plus récent."),
}


def password_link_owner(token):
    """The active account a password link (still usable) was sent to; StaffRefused, saying to
    ask an administrator for a new one, otherwise."""
    try:
        row = verification.usable_token(LINK_PURPOSE, token)
    except verification.CodeError as error:
        message = LINK_REFUSALS.get(error.reason, _l("Ce lien n'est pas valable."))
        raise StaffRefused(message, field="link") from None
    staff = StaffUser.get_or_none(StaffUser.id == int(row.subject.partition(":")[2]))
    if staff is None or not staff.active:
        raise StaffRefused(_("Ce compte est désactivé."), field="link")
    return staff


def set_password_from_link(token, password, confirmation, ip_address):
    """The password chosen on the page of a link (which dies with it): at least
    MIN_PASSWORD_LENGTH characters, typed twice the same; the account's sessions are closed.
    StaffRefused (`field` "link" when the link cannot be used, else "password" or
    "confirmation"), nothing written."""
    staff = password_link_owner(token)
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise StaffRefused(
            _("Choisissez un mot de passe d'au moins %(n)s caractères.", n=MIN_PASSWORD_LENGTH),
            field="password",
        )
    if password != confirmation:
        raise StaffRefused(
            _("Les deux mots de passe ne sont pas identiques : tapez-les à nouveau."),
            field="confirmation",
        )
    with write_transaction():
        staff = staff.lock_row()  # before the link's row, as a deactivation takes them
        if not staff.active:
            raise StaffRefused(_("Ce compte est désactivé."), field="link")
        try:
            verification.verify_token(LINK_PURPOSE, token)
        except verification.CodeError:
            raise StaffRefused(LINK_REFUSALS["used"], field="link") from None
        staff.password_hash, staff.failed_logins, staff.locked_until = (
            hash_password(password),
            0,
            None,
        )
        staff.save(only=[StaffUser.password_hash, StaffUser.failed_logins, StaffUser.locked_until])
        revoked = _close_sessions(staff)
        AuditEvent.record(
            "staff.password_set",
            actor(staff),
            target=staff,
            ip_address=ip_address,
            sessions_revoked=revoked,
        )
    return staff


def _close_sessions(staff):
    return (
        UserSession.update(revoked_at=utcnow())
        .where(UserSession.staff == staff.id, UserSession.revoked_at.is_null())
        .execute()
    )


def _lock_with_admins(staff):
    """`staff` read again and locked, with the active administrators (locked first, in one
    order: two administrators who demote each other at once can neither leave none nor
    deadlock)."""
    query = StaffUser.select().where(StaffUser.role == StaffRole.ADMIN.value, StaffUser.active)
    query = query.order_by(StaffUser.id)
    admins = list(query.for_update() if db.for_update else query)
    return staff.lock_row(), len(admins)


def _keep_an_admin(actor, staff, admins, own_message):
    """Refuse to take away `staff`'s administration when it is the actor's own or the last."""
    if actor.staff is not None and actor.staff.id == staff.id:
        raise StaffRefused(own_message)
    if staff.active and staff.role == StaffRole.ADMIN.value and admins <= 1:
        raise StaffRefused(_("C'est le dernier administrateur actif : nommez-en d'abord un autre."))


def change_role(actor, staff, role, via="backoffice"):
    """Give `staff` another role, audited; never one's own, nor the last active administrator's."""
    require_admin(actor)
    if role not in set(StaffRole):
        raise StaffRefused(_("Choisissez un rôle."), field="role")
    with write_transaction():
        staff, admins = _lock_with_admins(staff)
        if staff.role == role:
            return staff
        if staff.role == StaffRole.ADMIN.value:
            own = _("Vous ne pouvez pas retirer votre propre rôle d'administrateur.")
            _keep_an_admin(actor, staff, admins, own)
        previous, staff.role = staff.role, StaffRole(role).value
        staff.save(only=[StaffUser.role])
        AuditEvent.record(
            "staff.role_changed", actor, target=staff, before=previous, after=staff.role, via=via
        )
    return staff


def deactivate(actor, staff, via="backoffice"):
    """Switch the account off: its sessions are closed, its password link (if one waits) dies
    and its logins are refused; audited. Never one's own, nor the last active administrator's.
    Returns the sessions closed."""
    require_admin(actor)
    with write_transaction():
        staff, admins = _lock_with_admins(staff)
        if not staff.active:
            raise StaffRefused(_("Ce compte est déjà désactivé."))
        own = _("Vous ne pouvez pas désactiver votre propre compte.")
        _keep_an_admin(actor, staff, admins, own)
        staff.active = False
        staff.save(only=[StaffUser.active])
        revoked = _close_sessions(staff)
        verification.invalidate(LINK_PURPOSE, _subject(staff))  # a reactivation revives none
        AuditEvent.record(
            "staff.deactivated", actor, target=staff, via=via, sessions_revoked=revoked
        )
    return revoked


def reactivate(actor, staff, via="backoffice"):
    """Switch the account on again (its password and second factor as they were), audited."""
    require_admin(actor)
    with write_transaction():
        staff = staff.lock_row()
        if staff.active:
            raise StaffRefused(_("Ce compte est déjà actif."))
        staff.active, staff.failed_logins, staff.locked_until = True, 0, None
        staff.save(only=[StaffUser.active, StaffUser.failed_logins, StaffUser.locked_until])
        AuditEvent.record("staff.reactivated", actor, target=staff, via=via)
    return staff


def reset_second_factor(actor, staff, via="cli"):
    """Forget the staff member's TOTP secret (a new enrolment at the next login) and close their
    sessions: whoever holds the old device must not keep one. Returns the sessions closed."""
    require_admin(actor)
    with write_transaction():
        StaffUser.update(totp_secret=None).where(StaffUser.id == staff.id).execute()
        revoked = _close_sessions(staff)
        AuditEvent.record(
            "staff.totp_reset", actor, target=staff, via=via, sessions_revoked=revoked
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
