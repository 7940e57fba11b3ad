"""Column formatters shared by the back-office lists and detail pages, and what a list's cells
share on one page (ListFormats)."""

import time
from datetime import UTC

from babel.dates import parse_pattern
from flask import current_app, g
from flask_babel import format_datetime, get_locale, get_timezone
from flask_babel import gettext as _
from markupsafe import Markup

from models import DossierStatus


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


def status_tag(state):
    """A dossier status as a tag: its name, in the colour of that status."""
    return Markup('<span class="tag tag-{}">{}</span>').format(state.value, state.label)


class ListFormats:
    """What every cell of a page would compute again, computed once per request: the tag of
    each status, the titles of the procedure versions, the date pattern of the language in
    Brussels time, the address of the detail page."""

    def __init__(self):
        self.status = {s.value: status_tag(s) for s in DossierStatus}
        self.titles = {}
        self.details = None  # (return url, detail page, its query string): see reference_link
        locale, self.zone = get_locale(), get_timezone()
        glue = locale.datetime_formats["short"]
        self.pattern = parse_pattern(
            glue.replace("{1}", locale.date_formats["short"].pattern).replace(
                "{0}", locale.time_formats["short"].pattern
            )
        )
        self.locale = locale

    def datetime(self, value):
        """`format_datetime(value, "short")`, without reading the language and pattern again."""
        moment = value.replace(tzinfo=UTC).astimezone(self.zone)
        return self.pattern.apply(moment, self.locale)


def list_formats():
    if "dossier_list_formats" not in g:
        g.dossier_list_formats = ListFormats()
    return g.dossier_list_formats


# How long a list's filter options (procedures, agents) are kept by a process before being read
# again: a new version or a new agent shows in the filters of every node within this time.
OPTIONS_SECONDS = 30


def kept_options(name, read):
    """`read()` for the current language, kept OPTIONS_SECONDS by this app (two queries less
    on each page of the list; `forget_options` after a change made here)."""
    kept = current_app.extensions.setdefault("list_options", {})
    key, now = (name, str(get_locale())), time.monotonic()
    found = kept.get(key)
    if found is None or found[0] <= now:
        found = kept[key] = (now + OPTIONS_SECONDS, read())
    return found[1]


def forget_options():
    current_app.extensions.get("list_options", {}).clear()
