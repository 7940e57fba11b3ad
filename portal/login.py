"""Login through the federal authentication service (or its stand-in) over OpenID Connect."""

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from joserfc.errors import JoseError
from requests import RequestException

import languages
from access import identity
from auth import current_person, limiter, safe_next
from portal.access import COMPANY_KEY, choose_company

bp = Blueprint("login", __name__, url_prefix="/auth")
NEXT_KEY = "login_next"


def init_app(app):
    """One OAuth registry per app: its client caches the provider's metadata and keys."""
    oauth = OAuth(app)
    app.extensions["guichet_oidc"] = oauth
    issuer = app.config.get("OIDC_ISSUER")
    if issuer:
        oauth.register(
            "fas",
            client_id=app.config["OIDC_CLIENT_ID"],
            client_secret=app.config["OIDC_CLIENT_SECRET"],
            server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": app.config["OIDC_SCOPE"],
                "code_challenge_method": "S256",
                "timeout": 15,
            },
        )
    app.register_blueprint(bp)


def provider():
    """The OIDC client of the identity provider, or None when none is configured."""
    return current_app.extensions["guichet_oidc"].create_client("fas")


def redirect_uri():
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + url_for("login.callback")


def id_token_checks():
    """What the ID token's claims must hold beyond Authlib's own checks (signature, expiry with
    two minutes' leeway, nonce, azp): our provider as `iss` and our client id among `aud`
    (Authlib checks `aud` only when told to; OIDC Core 3.1.3.7)."""
    issuer = provider().load_server_metadata()["issuer"]
    return {
        "iss": {"essential": True, "values": [issuer]},
        "aud": {"essential": True, "values": [current_app.config["OIDC_CLIENT_ID"]]},
    }


@bp.get("/login")
@limiter.limit("30 per minute")
def start():
    """Send the browser to the identity provider (PKCE, state and nonce by Authlib)."""
    if provider() is None:
        abort(503, _("La connexion n'est pas configurée sur cette instance (OIDC_ISSUER)."))
    session[NEXT_KEY] = safe_next(request.args.get("next")) or url_for("companies.index")
    return provider().authorize_redirect(redirect_uri())


@bp.get("/callback")
def callback():
    if request.args.get("error"):
        identity.login_refused(request.remote_addr, "provider_error")
        flash(_("La connexion a été annulée ou refusée. Vous pouvez réessayer."), "error")
        return redirect(url_for("home.index"))
    try:
        token = provider().authorize_access_token(claims_options=id_token_checks())
        claims = identity.login_claims(token["userinfo"], provider().userinfo(token=token))
        person = identity.person_from_claims(
            claims,
            current_app.config["LANGUAGES"],
            chosen=languages.chosen_for_visit(),
            page_language=languages.current_language(),
        )
    except (AuthlibBaseError, JoseError, RequestException, KeyError, ValueError) as exc:
        current_app.logger.warning("OIDC login refused: %s", exc)
        identity.login_refused(request.remote_addr, type(exc).__name__)
        flash(
            _("La connexion n'a pas pu être vérifiée. Recommencez avec « Se connecter »."),
            "error",
        )
        return redirect(url_for("home.index"))
    target = session.get(NEXT_KEY) or url_for("companies.index")
    id_claims = token["userinfo"]
    amr = id_claims.get("amr") or []
    again = current_person() is not None and current_person().id == person.id
    company_id = session.get(COMPANY_KEY) if again else None
    identity.log_in(
        person,
        request.remote_addr,
        auth_method=amr[0] if amr else None,
        auth_level=id_claims.get("acr"),
    )
    if company_id is not None:  # logging in again (to sign): still acting for that company
        choose_company(company_id)
    flash(_("Bienvenue, %(name)s.", name=person.full_name), "success")
    return redirect(target)


@bp.post("/logout")
def logout():
    identity.log_out(current_person(), request.remote_addr)
    flash(_("Vous êtes déconnecté."), "success")
    return redirect(url_for("home.index"))


@bp.post("/logout-everywhere")
def logout_everywhere():
    identity.log_out(current_person(), request.remote_addr, everywhere=True)
    flash(_("Vous êtes déconnecté de tous vos appareils."), "success")
    return redirect(url_for("home.index"))
