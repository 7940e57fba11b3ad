"""Composition root: `create_app` wires the models, the shared layer, portal, back-office and API.

`python run.py` serves the embedded default (with the worker in-process);
`flask --app run ...` runs the CLI commands (migrate, seed-demo, worker, procedures, backup).
"""

import os
import secrets
import sys
from pathlib import Path

from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import Babel, get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix

import antivirus
import api
import auth
import backoffice
import backups
import database
import demo
import fas_standin
import jobs
import languages
import logs
import models
import notifications
import portal
import procedures
import security_headers
import sms
import sources
import storage
from access import identity
from access import staff as staff_accounts
from backoffice import errors as backoffice_errors
from backoffice import staff_cli
from config import Config, ConfigError, load_config
from documents import seal
from dossiers import registrations, statistics

csrf = CSRFProtect()


LANGUAGE_KEY = languages.LANGUAGE_KEY


def remember_language():
    """`?lang=de` on any page chooses the language for the rest of the visit (the switcher's
    links), and for the pages and emails of the person or staff member logged in; a language
    that is not offered is ignored."""
    chosen = request.args.get(LANGUAGE_KEY)
    ready = current_app.config["LANGUAGES_READY"]
    if chosen in ready and not api.is_api_path(request.path):
        session[LANGUAGE_KEY] = chosen
        person = auth.current_person()
        if person is not None:
            identity.choose_language(person, chosen)
        staff = auth.current_staff()
        if staff is not None:
            staff_accounts.set_language(staff, chosen, ready)


def select_locale():
    """The language of the page, among those offered (`LANGUAGES_READY`): the one chosen with
    the switcher, else the person's or the staff member's own, else the browser's, else French
    (the service's first language). A language is offered once its catalogue is complete: a
    partial translation would mix languages on one page. The REST API follows the caller's
    Accept-Language alone (it has no session)."""
    ready = current_app.config["LANGUAGES_READY"]
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    if api.is_api_path(request.path):
        return request.accept_languages.best_match(ready) or default
    if session.get(LANGUAGE_KEY) in ready:
        return session[LANGUAGE_KEY]
    account = auth.current_person()
    if account is None:
        account = auth.current_staff()
    if account is not None and account.language in ready:
        return account.language
    return request.accept_languages.best_match(ready) or default


# Error pages: one wording for the portal and the back-office (each draws its own layout).
ERRORS = {
    400: (
        _l("Requête invalide"),
        _l("La requête n'a pas pu être traitée. Rechargez la page et réessayez."),
    ),
    401: (_l("Connexion nécessaire"), _l("Connectez-vous pour accéder à cette page.")),
    403: (_l("Accès refusé"), _l("Vous n'avez pas les droits nécessaires pour cette page.")),
    404: (_l("Page introuvable"), _l("Cette page n'existe pas ou vous n'y avez pas accès.")),
    405: (_l("Méthode non autorisée"), _l("Cette action n'est pas possible sur cette page.")),
    409: (_l("Conflit"), _l("Une autre modification a eu lieu entre-temps. Rechargez la page.")),
    413: (_l("Fichier trop volumineux"), _l("Le fichier envoyé dépasse la taille autorisée.")),
    429: (
        _l("Trop de demandes"),
        _l("Vous avez fait trop de demandes en peu de temps. Patientez une minute et réessayez."),
    ),
    500: (
        _l("Erreur interne"),
        _l(
            "Une erreur s'est produite de notre côté. Elle a été enregistrée ; réessayez plus tard."
        ),
    ),
    503: (
        _l("Service momentanément indisponible"),
        _l(
            "Le service est momentanément indisponible. Réessayez dans quelques instants : ce "
            "qui n'a pas été confirmé à l'écran n'a pas été enregistré."
        ),
    ),
}
# Seconds a client (or a load balancer) is asked to wait after a 503.
RETRY_AFTER_SECONDS = 30

# A form whose CSRF token is missing or no longer matches the session (Flask-WTF's own words
# are English and technical).
CSRF_FAILED = (
    _l("Formulaire expiré"),
    _l(
        "Le formulaire envoyé n'est plus valable (la session a peut-être pris fin). "
        "Rechargez la page, puis recommencez."
    ),
)


def instance_secret_key(instance_path):
    """The development secret key kept in the instance folder, made on first start."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def create_app(config=None):
    """Build the application; `config` is a Config object, a config name, or None (GUICHET_ENV).

    What development needs in the instance folder (secret key, seal) is made here, once."""
    cfg = config if isinstance(config, Config) else load_config(config)
    app = Flask(__name__, instance_path=cfg.INSTANCE_DIR, static_folder=None)
    app.config.from_object(cfg)
    os.makedirs(app.instance_path, exist_ok=True)
    if app.config["INSTANCE_DEFAULTS"] and not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
    if hops := app.config["PROXY_FIX_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    logs.configure()

    Babel(app, locale_selector=select_locale)
    languages.install_template_gettext(app)
    app.before_request(remember_language)
    app.add_template_global(get_locale)
    app.add_template_global(languages.language_switcher)
    app.add_template_filter(languages.short_date)
    app.add_template_filter(languages.amount)
    app.add_template_filter(languages.de_name)
    security_headers.init_app(app)
    csrf.init_app(app)
    seal.init_app(app)
    database.init_app(app)
    backups.init_app(app)
    auth.init_app(app)
    notifications.init_app(app)
    jobs.init_app(app)
    sms.init_app(app)
    storage.init_app(app)
    antivirus.init_app(app)
    procedures.init_app(app)
    sources.init_app(app)
    demo.init_app(app)
    fas_standin.init_app(app)
    portal.init_app(app)
    backoffice.init_app(app)
    staff_cli.init_app(app)
    api.init_app(app)
    statistics.init_app(app)
    registrations.init_app(app)

    def error_page(error):
        """One wording for both sides; each side draws the page in its own layout. Under the
        API's prefix, an error is answered as problem details (JSON) instead of a page."""
        if api.is_api_path(request.path):
            return api.error_response(error)
        if isinstance(error, HTTPException) and error.response is not None:
            return error.response  # a page drawn for this case (a refused reply keeps its text)
        if isinstance(error, CSRFError):
            title, message = CSRF_FAILED
        else:
            if not isinstance(error, HTTPException):
                error = InternalServerError()
            title, message = ERRORS.get(error.code, ERRORS[500])
            if error.description != type(error).description:
                message = error.description  # a message written for this case
        side = backoffice_errors if request.path.startswith("/admin") else portal
        return side.error_page(error.code, title, message)

    def database_unavailable(error):
        """The database was lost or refused the connection (see database.UNAVAILABLE): logged,
        the broken connection dropped, and the 503 page drawn without the database — the
        account cannot be read, so the page is an anonymous visitor's, in the language of the
        visit (the switcher's choice in the session cookie, else the browser's)."""
        current_app.logger.error(
            "Database unavailable on %s %s: %s", request.method, request.path, error
        )
        database.forget_connection()
        g._login_user = auth.login_manager.anonymous_user()  # Flask-Login's per-request user
        response = current_app.make_response(error_page(ServiceUnavailable()))
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    for code in ERRORS:
        app.register_error_handler(code, error_page)
    app.register_error_handler(CSRFError, error_page)
    for exception in database.UNAVAILABLE:
        app.register_error_handler(exception, database_unavailable)

    return app


def main():
    """Serve the embedded default on PORT (5000), with the job worker in this process."""
    try:
        app = create_app()
        database.check_connection(models.db.obj, app.config["DATABASE_URL"])
    except (ConfigError, database.DatabaseUnavailable) as exc:
        print(f"Guichet cannot start: {exc}", file=sys.stderr)
        return 1
    consumer = None
    if app.config["WORKER_IN_PROCESS"]:
        consumer = app.extensions["jobs"].start_in_process()
    port = int(os.environ.get("PORT", "5000"))
    print(f"Guichet on http://127.0.0.1:{port}/  (back-office: /admin, health: /healthz)")
    try:
        app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
