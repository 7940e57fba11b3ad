"""Guards of the portal: who is logged in, and which dossier they may touch."""

from functools import wraps

from flask import abort, current_app, redirect, request, url_for
from flask_babel import gettext as _

from auth import current_person
from models import Dossier, Role


def login_url():
    if current_app.config.get("DEV_LOGIN"):
        return url_for("dev.login", next=request.full_path.rstrip("?"))
    abort(401, _("La connexion n'est pas encore disponible sur cette instance."))


def person_required(view):
    """The view needs a logged-in company user; others are sent to log in."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_person() is None:
            return redirect(login_url())
        return view(*args, **kwargs)

    return wrapped


def load_dossier(dossier_id, need=Role.CONSULT):
    """The dossier if the current person holds `need` in its company, else 404.

    404 rather than 403, so that a user of another company learns nothing of the dossier.
    """
    person = current_person()
    dossier = Dossier.get_or_none(Dossier.id == dossier_id)
    if person is None or dossier is None:
        abort(404)
    membership = person.membership_in(dossier.company_id)
    if membership is None or not membership.allows(need):
        abort(404)
    return dossier
