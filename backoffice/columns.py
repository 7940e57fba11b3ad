"""Column formatters shared by the back-office lists and detail pages."""

from flask_babel import format_datetime
from flask_babel import gettext as _


def datetime_column(view, context, model, name):
    value = getattr(model, name)
    return format_datetime(value, "short") if value else ""


def yes_no_column(view, context, model, name):
    return _("oui") if getattr(model, name) else _("non")


def invited_column(view, context, model, name):
    """Whether the person's name came from a login, or only from the invitation."""
    if getattr(model, name):
        return _("oui")
    return _("non : invitation en attente, nom tapé par le gestionnaire d'accès")
