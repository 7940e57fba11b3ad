"""The applicant side: home, "Mes dossiers", the dossier page, health and development pages."""

from flask import render_template

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
    opinions,
    profile,
    signing,
    statistics,
    team,
    wizard,
)
from portal.access import current_membership


def status_label(code):
    return DossierStatus(code).label


def error_page(code, title, message):
    """The portal's error page, in the user's language (run.py picks the words)."""
    return render_template("errors/error.html", title=title, message=message), code


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
    app.register_blueprint(statistics.bp)
    app.register_blueprint(opinions.bp)
    login.init_app(app)
    if app.config.get("DEV_MAIL_PAGE"):
        app.register_blueprint(dev.bp)
