"""The languages offered to applicants and the switcher between them."""

from urllib.parse import urlencode

from flask import current_app, request
from flask_babel import get_locale

# Each language named in itself, as a switcher shows it.
LANGUAGE_NAMES = {"fr": "Français", "de": "Deutsch", "en": "English", "nl": "Nederlands"}


def language_links():
    """(code, name, URL of this page in that language, is current) for each language offered;
    empty while only one is."""
    ready = current_app.config["LANGUAGES_READY"]
    if len(ready) < 2:
        return []
    current = str(get_locale())
    args = {k: v for k, v in request.args.items() if k != "lang"}
    return [
        (code, LANGUAGE_NAMES[code], "?" + urlencode({**args, "lang": code}), code == current)
        for code in ready
    ]
