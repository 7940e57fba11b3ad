"""The applicant side: home, "Mes dossiers", the dossier page, health and development pages."""

from flask import render_template
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from models import DossierStatus
from portal import (
    annexes,
    companies,
    dev,
    dossiers,
    followup,
    gate,
    health,
    home,
    login,
    profile,
    signing,
    team,
    wizard,
)
from portal.access import current_membership

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
}


def status_label(code):
    return DossierStatus(code).label


def error_page(error):
    """A clean page in the user's language; the JSON health endpoint keeps its own body."""
    if not isinstance(error, HTTPException):
        error = InternalServerError()
    title, message = ERRORS.get(error.code, ERRORS[500])
    if error.description != type(error).description:
        message = error.description
    return render_template("errors/error.html", title=title, message=message), error.code


def init_app(app):
    app.add_template_global(status_label)
    app.add_template_global(current_membership)
    app.register_blueprint(home.bp)
    app.register_blueprint(dossiers.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(companies.bp)
    app.register_blueprint(gate.bp)
    app.register_blueprint(team.bp)
    app.register_blueprint(wizard.bp)
    app.register_blueprint(annexes.bp)
    app.register_blueprint(signing.bp)
    app.register_blueprint(followup.bp)
    app.register_blueprint(profile.bp)
    login.init_app(app)
    if app.config.get("DEV_MAIL_PAGE"):
        app.register_blueprint(dev.bp)
