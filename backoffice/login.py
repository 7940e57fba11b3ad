"""The back-office's index view: the dashboard, the staff login (password, then a TOTP code, or
the TOTP enrolment at the first login) and the logout.

Login happens in two steps. A correct password only writes `{"staff_id", "at"}` under
`PENDING_KEY` in the Flask session (plus, while enrolling, the candidate TOTP secret that the page
shows anyway); the server-side session starts once the code is accepted, and the pending state
is refused after `PENDING_MINUTES`.

Replay protection without a schema change: every accepted code's time step is written in the
details of its `staff.login` audit event (`{"totp_step": N}`). A code is accepted only when its
step is higher than every step recorded for that staff member in the last `REPLAY_MEMORY` (a code
is valid for at most three steps, 90 seconds, so older events cannot matter). The check and the
new audit row are written in one transaction holding the staff row's lock (SELECT ... FOR UPDATE
on PostgreSQL, the IMMEDIATE write lock on SQLite), so two processes given the same code at the
same moment accept it once: nothing lives in process memory.
"""

import hmac
import re
import time
from datetime import timedelta

import pyotp
import segno
from flask import flash, make_response, redirect, request, session, url_for
from flask_admin import AdminIndexView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from peewee import fn
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Regexp

from auth import current_staff, end_session, limiter, start_session, verify_password
from backoffice import dashboard
from backoffice.base import audit
from models import (
    AuditEvent,
    StaffUser,
    db,
    utcnow,
    write_transaction,
)

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
LOGIN_RATE = "10 per minute"
PENDING_KEY = "staff_login"
PENDING_MINUTES = 5
TOTP_ISSUER = "Guichet"
TOTP_METHOD = "password+totp"
REPLAY_MEMORY = timedelta(minutes=5)


def _digits_only(value):
    return re.sub(r"\s", "", value or "")


class StaffLoginForm(FlaskForm):
    email = EmailField(
        _l("Adresse e-mail"), validators=[DataRequired(_l("Indiquez votre adresse e-mail."))]
    )
    password = PasswordField(
        _l("Mot de passe"), validators=[DataRequired(_l("Indiquez votre mot de passe."))]
    )


class TotpCodeForm(FlaskForm):
    code = StringField(
        _l("Code à 6 chiffres"),
        filters=[_digits_only],
        validators=[
            DataRequired(),
            Regexp(r"^\d{6}$", message=_l("Le code compte exactement 6 chiffres.")),
        ],
    )


def safe_next(target):
    """`target` if it is a back-office page of this site (the page asked before the login),
    else None: never another host, never the login pages themselves."""
    if not target or not target.startswith("/admin/") or target.startswith("/admin/log"):
        return None
    if "//" in target or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target[:500]


def check_lock(staff, now):
    return staff is not None and staff.locked_until is not None and staff.locked_until > now


# --- TOTP (RFC 6238: 6 digits, 30-second steps, one step of tolerance either side) ----------


def matching_step(secret, code, now):
    """The time step whose code is `code`, within one step of `now` (what pyotp's
    `verify(code, valid_window=1)` accepts, but telling which step matched), or None."""
    totp = pyotp.TOTP(secret)
    current = int(now // totp.interval)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def provisioning_uri(secret, staff):
    return pyotp.TOTP(secret).provisioning_uri(name=staff.email, issuer_name=TOTP_ISSUER)


def qr_code_svg(uri):
    """The otpauth:// URI as an inline SVG QR code (segno writes only path data and escapes the
    title, so the markup is safe)."""
    title = _("Code QR à scanner avec votre application d'authentification")
    svg = segno.make(uri, error="m").svg_inline(scale=5, title=title)
    return Markup(svg)  # noqa: S704


def grouped(secret):
    """The secret in groups of four characters, easier to type by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def last_totp_step(staff, now):
    """The highest time step accepted lately for `staff`, read from its `staff.login` events."""
    events = AuditEvent.select(AuditEvent.details).where(
        AuditEvent.action == "staff.login",
        AuditEvent.target_type == StaffUser.__name__,
        AuditEvent.target_id == str(staff.id),
        AuditEvent.created_at >= now - REPLAY_MEMORY,
    )
    return max((e.details.get("totp_step", -1) for e in events), default=-1)


def lock_staff_row(staff_id):
    """The staff row, locked until the transaction ends (SQLite's IMMEDIATE lock already is)."""
    query = StaffUser.select().where(StaffUser.id == staff_id)
    return (query.for_update() if db.for_update else query).get()


def count_failure(staff, reason):
    """One more failed attempt for `staff`, audited; the fifth locks the account. True if locked."""
    now = utcnow()
    with write_transaction():
        StaffUser.update(failed_logins=StaffUser.failed_logins + 1).where(
            StaffUser.id == staff.id
        ).execute()
        failures = lock_staff_row(staff.id).failed_logins
        locked = failures >= MAX_FAILED_LOGINS
        if locked:
            StaffUser.update(
                failed_logins=0, locked_until=now + timedelta(minutes=LOCK_MINUTES)
            ).where(StaffUser.id == staff.id).execute()
        audit("staff.login_failed", staff, reason=reason, locked=locked)
    return locked


def complete_login(staff, step, new_secret=None):
    """Open the session of `staff` for a code of time `step`, saving `new_secret` when enrolling
    (the new session also drops the pending state).

    Returns None, or why it was refused: "totp_replayed", or "enrolled" when another login saved
    a secret meanwhile."""
    now = utcnow()
    with write_transaction():
        lock_staff_row(staff.id)
        if step <= last_totp_step(staff, now):
            return "totp_replayed"
        if new_secret:
            saved = (
                StaffUser.update(totp_secret=new_secret)
                .where(StaffUser.id == staff.id, StaffUser.totp_secret.is_null())
                .execute()
            )
            if saved != 1:
                return "enrolled"
        StaffUser.update(failed_logins=0, last_login_at=now).where(
            StaffUser.id == staff.id
        ).execute()
        start_session(staff, auth_method=TOTP_METHOD)
        if new_secret:
            audit("staff.totp_enrolled", staff)
        audit("staff.login", staff, auth_method=TOTP_METHOD, totp_step=step)
    return None


def no_store(body):
    """A page that must not stay in any cache (it may show a TOTP secret)."""
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


class StaffIndexView(AdminIndexView):
    """Dashboard, login (password, then TOTP code or enrolment) and logout of the back-office."""

    @expose("/")
    def index(self):
        staff = current_staff()
        if staff is None:
            return redirect(url_for(".login"))
        return self.render("backoffice/index.html", staff=staff, **dashboard.context(staff))

    @expose("/login/", methods=("GET", "POST"))
    @limiter.limit(LOGIN_RATE, methods=["POST"])
    def login(self):
        form = StaffLoginForm()
        if form.validate_on_submit():
            session.pop(PENDING_KEY, None)
            now = utcnow()
            staff = StaffUser.get_or_none(fn.LOWER(StaffUser.email) == form.email.data.lower())
            if check_lock(staff, now):
                audit("staff.login_failed", staff, reason="locked")
                flash(_("Trop d'essais : ce compte est bloqué quelques minutes."), "error")
            elif staff and staff.active and verify_password(staff, form.password.data):
                pending = {"staff_id": staff.id, "at": int(time.time())}
                if target := safe_next(request.args.get("next")):
                    pending["next"] = target
                session[PENDING_KEY] = pending
                return redirect(url_for(".login_code" if staff.totp_secret else ".login_enrol"))
            else:
                if staff:
                    count_failure(staff, "password" if staff.active else "inactive")
                else:
                    audit("staff.login_failed", reason="unknown_account")
                flash(_("Adresse e-mail ou mot de passe incorrect."), "error")
        return self.render("backoffice/login.html", form=form)

    def pending_staff(self):
        """The staff member whose password was accepted less than PENDING_MINUTES ago, or None
        (with a message saying why when there was one)."""
        state = session.get(PENDING_KEY)
        if not isinstance(state, dict):
            return None
        staff = StaffUser.get_or_none(StaffUser.id == state.get("staff_id"))
        age = time.time() - state.get("at", 0)
        if not 0 <= age <= PENDING_MINUTES * 60:
            session.pop(PENDING_KEY)
            flash(_("Délai dépassé : saisissez à nouveau votre mot de passe."), "warning")
            return None
        if staff is None or not staff.active:
            session.pop(PENDING_KEY)
            return None
        if check_lock(staff, utcnow()):
            session.pop(PENDING_KEY)
            flash(_("Trop d'essais : ce compte est bloqué quelques minutes."), "error")
            return None
        return staff

    def second_factor(self, staff, secret, template, enrolling=False, **context):
        """The code form of both pages: a good code opens the session, a wrong or replayed one
        counts toward the lock-out."""
        form = TotpCodeForm()
        if form.validate_on_submit():
            destination = (session.get(PENDING_KEY) or {}).get("next") or url_for(".index")
            step = matching_step(secret, form.code.data, time.time())
            if step is None:
                refused = "totp"
            else:
                refused = complete_login(staff, step, new_secret=secret if enrolling else None)
            if refused is None:
                if enrolling:
                    flash(_("La double authentification est activée pour votre compte."), "success")
                return redirect(destination)
            if refused == "enrolled":
                return redirect(url_for(".login_code"))
            if count_failure(staff, refused):
                session.pop(PENDING_KEY, None)
                flash(_("Trop d'essais : ce compte est bloqué quelques minutes."), "error")
                return redirect(url_for(".login"))
            if refused == "totp_replayed":
                flash(
                    _("Ce code a déjà servi. Attendez le code suivant de votre application."),
                    "error",
                )
            else:
                flash(
                    _("Code incorrect. Vérifiez l'heure de votre téléphone et réessayez."), "error"
                )
        return no_store(self.render(template, form=form, **context))

    @expose("/login/code/", methods=("GET", "POST"))
    @limiter.limit(LOGIN_RATE, methods=["POST"])
    def login_code(self):
        staff = self.pending_staff()
        if staff is None:
            return redirect(url_for(".login"))
        if not staff.totp_secret:
            return redirect(url_for(".login_enrol"))
        return self.second_factor(staff, staff.totp_secret, "backoffice/login_code.html")

    @expose("/login/enrol/", methods=("GET", "POST"))
    @limiter.limit(LOGIN_RATE, methods=["POST"])
    def login_enrol(self):
        staff = self.pending_staff()
        if staff is None:
            return redirect(url_for(".login"))
        if staff.totp_secret:
            return redirect(url_for(".login_code"))
        state = session[PENDING_KEY]
        if "secret" not in state:
            state = session[PENDING_KEY] = {**state, "secret": pyotp.random_base32()}
        secret = state["secret"]
        return self.second_factor(
            staff,
            secret,
            "backoffice/login_enrol.html",
            enrolling=True,
            qr_code=qr_code_svg(provisioning_uri(secret, staff)),
            secret_text=grouped(secret),
            email=staff.email,
        )

    @expose("/logout/", methods=("POST",))
    def logout(self):
        if current_staff() is not None:
            audit("staff.logout", current_staff())
        end_session()
        return redirect(url_for(".login"))
