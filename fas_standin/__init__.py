"""Stand-in for the federal authentication service (FAS): a real OpenID Connect provider on
test identities, offering the FAS's three means of logging in (eID card and PIN, itsme,
one-time code by SMS or email). Development and tests only: mounted at /fas when
FAS_STANDIN_ENABLED is set, which the production config refuses."""

import hashlib

from fas_standin import provider, views


def init_app(app):
    if not app.config.get("FAS_STANDIN_ENABLED"):
        return
    if not app.config["OIDC_CLIENT_SECRET"]:
        # The stand-in and the portal share this development-only client secret.
        app.config["OIDC_CLIENT_SECRET"] = hashlib.sha256(
            ("oidc-client|" + app.config["SECRET_KEY"]).encode()
        ).hexdigest()
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN", {"authorization_code": provider.TOKEN_TTL})
    app.extensions["fas_standin"] = provider.make_server(app)
    app.register_blueprint(views.bp)
    # Server-to-server calls from the relying party carry no CSRF token.
    app.extensions["csrf"].exempt(views.token)
    app.extensions["csrf"].exempt(views.userinfo)
