"""Column formatters shared by the back-office lists and detail pages."""

from flask_babel import format_datetime
from flask_babel import gettext as _


def datetime_column(view, context, model, name):
    value = getattr(model, name)
    return format_datetime(value, "short") if value else ""


def yes_no_column(view, context, model, name):
    return _("oui") if getattr(model, name) else _("non")
