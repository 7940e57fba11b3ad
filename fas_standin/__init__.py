"""Stand-in for the federal authentication service (FAS): a real OpenID Connect provider on
test identities, offering the three means of the seed (eID card and PIN, itsme, one-time code
by SMS or email). Development and tests only: mounted at /fas when FAS_STANDIN_ENABLED is set,
which the production config refuses."""

from fas_standin import provider, views


def init_app(app):
    if not app.config.get("FAS_STANDIN_ENABLED"):
        return
    app.config.setdefault("OAUTH2_TOKEN_EXPIRES_IN", {"authorization_code": provider.TOKEN_TTL})
    app.extensions["fas_standin"] = provider.make_server(app)
    app.register_blueprint(views.bp)
    csrf = app.extensions.get("csrf")
    if csrf is not None:  # server-to-server calls from the relying party carry no CSRF token
        csrf.exempt(views.token)
        csrf.exempt(views.userinfo)
