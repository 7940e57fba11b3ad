"""Column formatters shared by the back-office lists and detail pages, and what a list's cells
share on one page (ListFormats)."""

import re
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
        self.fields = simple_fields(self.pattern, locale)

    def datetime(self, value):
        """`format_datetime(value, "short")`, without reading the language and pattern again
        (and, for the patterns made of numbers only, without Babel's field by field lookup)."""
        moment = value.replace(tzinfo=UTC).astimezone(self.zone)
        if self.fields is None:
            return self.pattern.apply(moment, self.locale)
        return self.pattern.format % {name: field(moment) for name, field in self.fields}


# The fields of a short date and time that are numbers (and the AM/PM of English), written as
# Babel writes them.
NUMBER_FIELDS = {
    "d": lambda m: str(m.day),
    "dd": lambda m: f"{m.day:02d}",
    "M": lambda m: str(m.month),
    "MM": lambda m: f"{m.month:02d}",
    "y": lambda m: str(m.year),
    "yy": lambda m: f"{m.year % 100:02d}",
    "yyyy": lambda m: f"{m.year:04d}",
    "H": lambda m: str(m.hour),
    "HH": lambda m: f"{m.hour:02d}",
    "h": lambda m: str(m.hour % 12 or 12),
    "hh": lambda m: f"{m.hour % 12 or 12:02d}",
    "mm": lambda m: f"{m.minute:02d}",
}


def simple_fields(pattern, locale):
    """[(name, function of the moment)] for every field of `pattern`, or None when one of them
    is not a plain number (Babel's own `apply` then)."""
    names = re.findall(r"%\((\w+)\)s", pattern.format)
    fields = []
    for name in names:
        if name in NUMBER_FIELDS:
            fields.append((name, NUMBER_FIELDS[name]))
        elif name == "a":
            periods = locale.day_periods["format"]["abbreviated"]
            am, pm = periods["am"], periods["pm"]
            fields.append((name, lambda m, am=am, pm=pm: pm if m.hour >= 12 else am))
        else:
            return None
    return fields


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
