"""Pages and endpoints of the stand-in FAS."""

from datetime import datetime, timedelta

from authlib.oauth2 import OAuth2Error
from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, SelectField, StringField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired

import notifications
import sms
import verification
from auth import current_actor, limiter
from fas_standin import identities
from fas_standin.provider import FasUser, issuer, public_jwks
from models import FasCardState, utcnow

bp = Blueprint(
    "fas", __name__, url_prefix="/fas", template_folder="templates", static_folder="static"
)
PENDING = "fas_pending"  # the authorization request waiting for the user to log in
USER = "fas_user"  # who just logged in at the stand-in, for that one request
MAX_PINS = 3
CODE_TTL = timedelta(minutes=10)
PURPOSE = "fas-login"


def server():
    return current_app.extensions["fas_standin"]


def logged_in(identity, method):
    """Remember the login for the pending authorization request and go back to it."""
    session[USER] = {"nrn": identity.national_number, "method": method, "at": utcnow().isoformat()}
    return redirect(session.get(PENDING) or url_for(".login"))


@bp.get("/.well-known/openid-configuration")
def discovery():
    base = issuer()
    return jsonify(
        issuer=base,
        authorization_endpoint=base + "/authorize",
        token_endpoint=base + "/token",
        userinfo_endpoint=base + "/userinfo",
        jwks_uri=base + "/jwks",
        response_types_supported=["code"],
        grant_types_supported=["authorization_code"],
        subject_types_supported=["public"],
        id_token_signing_alg_values_supported=["RS256"],
        scopes_supported=["openid", "profile", "egovnrn"],
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
        code_challenge_methods_supported=["S256"],
        claims_supported=["sub", "egovNRN", "surname", "givenName", "mail", "prefLanguage"],
    )


@bp.get("/jwks")
def jwks():
    return jsonify(public_jwks())


def relying_party():
    """Where a person who reached the stand-in by mistake goes back to: the portal."""
    return (current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/") + "/"


# The pages of a login, which make sense only while a site waits for one.
LOGIN_PAGES = {
    "fas.login",
    "fas.login_eid",
    "fas.login_itsme",
    "fas.itsme_confirm",
    "fas.login_code",
    "fas.login_code_verify",
}


@bp.before_request
def login_requested():
    """A login page opened directly (a bookmark, the back button after logging in): say so in
    words, with the way back, instead of a form that would lead nowhere."""
    if request.endpoint in LOGIN_PAGES and not session.get(PENDING):
        return render_template("fas/no_request.html", back=relying_party()), 400
    return None


@bp.get("/authorize")
def authorize():
    try:
        server().get_consent_grant(end_user=None)
    except OAuth2Error as exc:
        # The error code only: OAuth's descriptions are English, for the relying party's logs.
        current_app.logger.warning("FAS authorization refused: %s", exc.description)
        return render_template("fas/error.html", error=exc.error, back=relying_party()), 400
    pending = session.get(USER)
    if pending is None or session.get(PENDING) != request.full_path:
        session[PENDING] = request.full_path
        session.pop(USER, None)
        return redirect(url_for(".login"))
    session.pop(USER)
    session.pop(PENDING, None)
    user = FasUser(pending["nrn"], pending["method"], datetime.fromisoformat(pending["at"]))
    return server().create_authorization_response(grant_user=user)


@bp.post("/token")
def token():
    return server().create_token_response()


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    return server().create_endpoint_response("userinfo")


@bp.get("/login")
def login():
    return render_template("fas/login.html")


class EidForm(FlaskForm):
    card = SelectField(_l("Carte d'identité de test"))
    pin = PasswordField(_l("Code PIN"), validators=[DataRequired()])


@bp.route("/login/eid", methods=["GET", "POST"])
def login_eid():
    form = EidForm()
    form.card.choices = [
        SelectChoice(i.card, f"{i.full_name} — {i.card}") for i in identities.all_identities()
    ]
    if form.validate_on_submit():
        identity = identities.by_card(form.card.data)
        state, _created = FasCardState.get_or_create(card_number=identity.card)
        if state.blocked_at:
            flash(_("Cette carte est bloquée après trois codes PIN erronés."), "error")
        elif form.pin.data != identity.pin:
            state.failed_pins += 1
            if state.failed_pins >= MAX_PINS:
                state.blocked_at = utcnow()
                flash(_("Code PIN erroné. La carte est maintenant bloquée."), "error")
            else:
                flash(
                    _(
                        "Code PIN erroné. Il reste %(n)s essai(s) avant le blocage de la carte.",
                        n=MAX_PINS - state.failed_pins,
                    ),
                    "error",
                )
            state.save()
        else:
            state.failed_pins = 0
            state.save()
            return logged_in(identity, "eid")
    return render_template("fas/eid.html", form=form)


class ItsmeForm(FlaskForm):
    phone = StringField(_l("Numéro de téléphone mobile"), validators=[DataRequired()])


@bp.route("/login/itsme", methods=["GET", "POST"])
def login_itsme():
    form = ItsmeForm()
    if form.validate_on_submit():
        try:
            phone = sms.normalize_phone(form.phone.data)
        except ValueError:
            form.phone.errors.append(_("Ce numéro de téléphone n'est pas valable."))
        else:
            identity = identities.by_phone(phone)
            if identity is None:
                form.phone.errors.append(_("Aucun compte itsme de test pour ce numéro."))
            else:
                session["fas_itsme"] = identity.national_number
                return redirect(url_for(".itsme_confirm"))
    return render_template("fas/itsme.html", form=form)


@bp.route("/login/itsme/confirmer", methods=["GET", "POST"])
def itsme_confirm():
    identity = identities.by_national_number(session.get("fas_itsme", ""))
    if identity is None:
        return redirect(url_for(".login_itsme"))
    if request.method == "POST":
        session.pop("fas_itsme")
        if request.form.get("decision") == "approve":
            return logged_in(identity, "itsme")
        flash(_("Connexion refusée dans l'application itsme."), "error")
        return redirect(url_for(".login"))
    return render_template("fas/itsme_confirm.html", identity=identity)


class CodeRequestForm(FlaskForm):
    national_number = StringField(_l("Numéro de registre national"), validators=[DataRequired()])
    channel = RadioField(
        _l("Recevoir le code par"),
        choices=[SelectChoice("sms", _l("SMS")), SelectChoice("email", _l("E-mail"))],
        default="sms",
    )


class CodeForm(FlaskForm):
    code = StringField(_l("Code de sécurité (6 chiffres)"), validators=[DataRequired()])


def send_code(identity, channel):
    address = identity.phone if channel == "sms" else identity.email
    try:
        code, _token = verification.issue(
            PURPOSE,
            identity.national_number,
            channel,
            address,
            CODE_TTL,
            ip_address=request.remote_addr,
        )
    except verification.CodeError as exc:
        verification.audit_send_refused(current_actor(), PURPOSE, channel, exc)
        raise
    text = _("Votre code de sécurité FAS (simulation) : %(code)s. Valable 10 minutes.", code=code)
    if channel == "sms":
        sms.send(address, text)
    else:
        notifications.login_code(address, identity.language, identity.full_name, code)
    return address


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def login_code():
    form = CodeRequestForm()
    if form.validate_on_submit():
        number = "".join(c for c in form.national_number.data if c.isdigit())
        identity = identities.by_national_number(number)
        if identity is None:
            form.national_number.errors.append(_("Aucune identité de test pour ce numéro."))
        else:
            try:
                send_code(identity, form.channel.data)
            except verification.CodeError as exc:
                flash(str(exc), "error")
            except sms.SmsError:
                current_app.logger.exception("SMS gateway failure")
                flash(
                    _("L'envoi du SMS a échoué. Réessayez dans un instant ou choisissez l'e-mail."),
                    "error",
                )
            else:
                session["fas_code_nrn"] = identity.national_number
                session["fas_code_channel"] = form.channel.data
                return redirect(url_for(".login_code_verify"))
    return render_template("fas/code_request.html", form=form)


@bp.route("/login/code/verifier", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def login_code_verify():
    identity = identities.by_national_number(session.get("fas_code_nrn", ""))
    if identity is None:
        return redirect(url_for(".login_code"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            verification.verify(
                PURPOSE, identity.national_number, form.code.data, actor=current_actor()
            )
        except verification.CodeError as exc:
            form.code.errors.append(str(exc))
        else:
            session.pop("fas_code_nrn")
            return logged_in(identity, session.pop("fas_code_channel", "sms"))
    return render_template(
        "fas/code_verify.html", form=form, channel=session.get("fas_code_channel", "sms")
    )
