"""The back-office's index view: the dashboard, the staff login (password, then a TOTP code, or
the TOTP enrolment at the first login) and the logout. What each step checks and records is in
`access.staff`; this module reads the forms and renders the pages.

Login happens in two steps. A correct password only writes `{"staff_id", "at"}` under
`PENDING_KEY` in the Flask session (plus, while enrolling, the candidate TOTP secret that the page
shows anyway); the server-side session starts once the code is accepted, and the pending state
is refused after `PENDING_MINUTES`.
"""

import logging
import re
import time

import segno
from flask import flash, make_response, redirect, request, session, url_for
from flask_admin import AdminIndexView, expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Regexp

import languages
import sealed
from access import staff as staff_login
from auth import current_staff, limiter, safe_next
from backoffice import dashboard
from models import StaffUser, utcnow

log = logging.getLogger(__name__)

LOGIN_RATE = "10 per minute"
PENDING_KEY = "staff_login"
PENDING_MINUTES = 5


def flash_locked():
    flash(_("Trop d'essais : ce compte est bloqué quelques minutes."), "error")


def _digits_only(value):
    return re.sub(r"\s", "", value or "")


class StaffLoginForm(FlaskForm):
    email = EmailField(
        _l("Adresse e-mail"), validators=[DataRequired(_l("Indiquez votre adresse e-mail."))]
    )
    password = PasswordField(
        _l("Mot de passe"), validators=[DataRequired(_l("Indiquez votre mot de passe."))]
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Nouveau mot de passe"),
        validators=[DataRequired(_l("Choisissez un mot de passe."))],
    )
    confirmation = PasswordField(
        _l("Le même mot de passe, une seconde fois"),
        validators=[DataRequired(_l("Tapez le mot de passe une seconde fois."))],
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


def qr_code_svg(uri):
    """The otpauth:// URI as an inline SVG QR code (segno writes only path data and escapes the
    title, so the markup is safe)."""
    title = _("Code QR à scanner avec votre application d'authentification")
    svg = segno.make(uri, error="m").svg_inline(scale=5, title=title)
    return Markup(svg)  # noqa: S704  # nosec B704


def grouped(secret):
    """The secret in groups of four characters, easier to type by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


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
            try:
                staff = staff_login.check_password(
                    form.email.data, form.password.data, request.remote_addr
                )
            except staff_login.LoginRefused as refused:
                if refused.reason == "locked":
                    flash_locked()
                else:
                    flash(_("Adresse e-mail ou mot de passe incorrect."), "error")
            else:
                pending = {"staff_id": staff.id, "at": int(time.time())}
                if target := safe_next(
                    request.args.get("next"), within="/admin/", excluded=("/admin/log",)
                ):
                    pending["next"] = target
                session[PENDING_KEY] = pending
                return redirect(url_for(".login_code" if staff.totp_secret else ".login_enrol"))
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
        if staff.is_locked(utcnow()):
            session.pop(PENDING_KEY)
            flash_locked()
            return None
        return staff

    def second_factor(self, staff, secret, template, enrolling=False, **context):
        """The code form of both pages: a good code opens the session, a wrong or replayed one
        counts toward the lock-out."""
        form = TotpCodeForm()
        if form.validate_on_submit():
            destination = (session.get(PENDING_KEY) or {}).get("next") or url_for(".index")
            try:
                staff_login.check_code(
                    staff,
                    secret,
                    form.code.data,
                    request.remote_addr,
                    enrolling=enrolling,
                    language=languages.chosen_for_visit(),
                    page_language=languages.current_language(),
                )
            except staff_login.LoginRefused as refused:
                if refused.reason == "enrolled":
                    return redirect(url_for(".login_code"))
                if refused.locked:
                    session.pop(PENDING_KEY, None)
                    flash_locked()
                    return redirect(url_for(".login"))
                if refused.reason == "totp_replayed":
                    flash(
                        _("Ce code a déjà servi. Attendez le code suivant de votre application."),
                        "error",
                    )
                else:
                    flash(
                        _("Code incorrect. Vérifiez l'heure de votre téléphone et réessayez."),
                        "error",
                    )
            else:
                if enrolling:
                    flash(_("La double authentification est activée pour votre compte."), "success")
                return redirect(destination)
        return no_store(self.render(template, form=form, **context))

    @expose("/login/code/", methods=("GET", "POST"))
    @limiter.limit(LOGIN_RATE, methods=["POST"])
    def login_code(self):
        staff = self.pending_staff()
        if staff is None:
            return redirect(url_for(".login"))
        if not staff.totp_secret:
            return redirect(url_for(".login_enrol"))
        try:
            secret = staff_login.totp_secret_of(staff)
        except sealed.SealBroken:  # SECRET_KEY changed without its fallback: an operator's fault
            log.error("the TOTP secret of staff %s opens under no key of SECRET_KEY", staff.id)
            session.pop(PENDING_KEY, None)
            flash(
                _(
                    "Votre double authentification ne peut pas être vérifiée pour le moment : "
                    "demandez à un administrateur de la réinitialiser."
                ),
                "error",
            )
            return redirect(url_for(".login"))
        return self.second_factor(staff, secret, "backoffice/login_code.html")

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
            state = session[PENDING_KEY] = {**state, "secret": staff_login.new_totp_secret()}
        secret = state["secret"]
        return self.second_factor(
            staff,
            secret,
            "backoffice/login_enrol.html",
            enrolling=True,
            qr_code=qr_code_svg(staff_login.provisioning_uri(secret, staff)),
            secret_text=grouped(secret),
            email=staff.email,
        )

    @expose("/login/password/<token>", methods=("GET", "POST"))
    @limiter.limit(LOGIN_RATE, methods=["POST"])
    def login_password(self, token):
        """The page of the emailed link where a staff member chooses their password (a used,
        expired or replaced link says to ask an administrator for a new one)."""
        try:
            staff = staff_login.password_link_owner(token)
        except staff_login.StaffRefused as refused:
            page = self.render("backoffice/login_password_refused.html", reason=str(refused))
            return no_store(page), 410
        form = NewPasswordForm()
        if form.validate_on_submit():
            try:
                staff_login.set_password_from_link(
                    token, form.password.data, form.confirmation.data, request.remote_addr
                )
            except staff_login.StaffRefused as refused:
                if refused.field == "link":
                    page = self.render(
                        "backoffice/login_password_refused.html", reason=str(refused)
                    )
                    return no_store(page), 410
                field = getattr(form, refused.field, form.password)
                field.errors = [*field.errors, str(refused)]
            else:
                flash(
                    _(
                        "Votre mot de passe est enregistré. Connectez-vous avec votre adresse "
                        "e-mail."
                    ),
                    "success",
                )
                return redirect(url_for(".login"))
        return no_store(
            self.render(
                "backoffice/login_password.html",
                form=form,
                email=staff.email,
                min_length=staff_login.MIN_PASSWORD_LENGTH,
            )
        )

    @expose("/logout/", methods=("POST",))
    def logout(self):
        staff_login.log_out(current_staff(), request.remote_addr)
        return redirect(url_for(".login"))
