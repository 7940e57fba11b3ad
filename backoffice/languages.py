"""The back-office's language switcher: links that work without JavaScript (`?lang=xx`, which
run.py keeps for the visit), and the choice of a logged-in staff member kept in their profile
for their next logins."""

from urllib.parse import urlencode

from flask import current_app, request, session, url_for
from flask_babel import get_locale

from access import staff as staff_accounts
from auth import current_staff

# The query argument and session key of run.py's `remember_language`.
LANGUAGE_KEY = "lang"

# Each language named in itself, as a switcher shows it.
LANGUAGE_NAMES = {"fr": "Français", "de": "Deutsch", "en": "English", "nl": "Nederlands"}


def offered():
    return current_app.config["LANGUAGES_READY"]


def staff_language_links():
    """(code, name, URL of this page in that language, is current) for each language offered;
    empty while only one is. A page answering a POST links to the dashboard instead, which a
    GET can open."""
    ready = offered()
    if len(ready) < 2:
        return []
    current = str(get_locale())
    if request.method == "GET":
        base = request.path
        args = {k: v for k, v in request.args.items() if k != LANGUAGE_KEY}
    else:
        base, args = url_for("admin.index"), {}
    return [
        (
            code,
            LANGUAGE_NAMES[code],
            f"{base}?{urlencode({**args, LANGUAGE_KEY: code})}",
            code == current,
        )
        for code in ready
    ]


def chosen_before_login():
    """The language chosen with the switcher during this visit, if any (the login pages carry
    it into the profile: the new session starts without it)."""
    chosen = session.get(LANGUAGE_KEY)
    return chosen if chosen in offered() else None


def remember_staff_language():
    """A logged-in staff member who switches language on a back-office page keeps it."""
    chosen = request.args.get(LANGUAGE_KEY)
    if chosen is None or not request.path.startswith("/admin"):
        return
    staff = current_staff()
    if staff is not None:
        staff_accounts.set_language(staff, chosen, offered())
