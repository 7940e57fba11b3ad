"""Error pages of the back-office: in French, inside the back-office's own layout and menu."""

from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

ERRORS = {
    400: (_l("Demande invalide"), _l("La demande est incomplète ou mal formée.")),
    403: (
        _l("Accès refusé"),
        _l("Votre rôle ne donne pas accès à cette page ou à cette action."),
    ),
    404: (_l("Introuvable"), _l("Cette page ou cet élément n'existe pas (ou plus).")),
    405: (_l("Action impossible"), _l("Cette page ne s'utilise pas de cette façon.")),
    409: (_l("Conflit"), _l("L'élément a changé entre-temps ; rechargez la page.")),
    413: (_l("Fichier trop volumineux"), _l("Le fichier dépasse la taille permise.")),
    429: (_l("Trop de demandes"), _l("Attendez un instant avant de réessayer.")),
    500: (
        _l("Erreur interne"),
        _l("Une erreur s'est produite de notre côté. Elle a été enregistrée."),
    ),
}


def error_page(error):
    if not isinstance(error, HTTPException):
        error = InternalServerError()
    title, message = ERRORS.get(error.code, ERRORS[500])
    if error.description != type(error).description:
        message = error.description
    index = current_app.extensions["admin"][0].index_view
    page = index.render("backoffice/error.html", title=title, message=message, code=error.code)
    return page, error.code
