"""The staff side: Flask-Admin over the same Peewee models, at /admin, for staff accounts only."""

from flask import Blueprint
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from backoffice.access import StaffIndexView
from backoffice.dossiers import DossierView
from models import Dossier

bp = Blueprint("backoffice", __name__, template_folder="templates")


def init_app(app):
    app.register_blueprint(bp)
    admin = Admin(
        app,
        name="Guichet — back-office",
        url="/admin",
        index_view=StaffIndexView(name=_l("Tableau de bord"), url="/admin"),
        theme=Bootstrap4Theme(base_template="backoffice/master.html"),
    )
    admin.add_view(
        DossierView(Dossier, name=_l("Dossiers"), endpoint="admin_dossiers", url="dossiers")
    )
    return admin
