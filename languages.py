"""The languages Guichet speaks: the switcher shared by the portal, the stand-in FAS and the
back-office, and dates and amounts written as each language writes them (Babel's CLDR data).

A language is offered (`LANGUAGES_READY`) once its catalogue and the procedures are complete;
`LANGUAGES` lists those the project knows."""

import functools
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlencode

from babel.numbers import format_currency
from flask import current_app, request, session
from flask_babel import force_locale, format_date, get_locale, get_translations
from flask_babel import gettext as _
from jinja2 import pass_eval_context
from markupsafe import Markup

# The query argument of the switcher's links, and the session key that keeps the choice.
LANGUAGE_KEY = "lang"

# Each language named in itself, as a switcher shows it.
LANGUAGE_NAMES = {"fr": "Français", "de": "Deutsch", "en": "English", "nl": "Nederlands"}

# A date in a form or a table, as Belgians write it in each language (CLDR's "short" pattern
# for German and English has a two-digit year, and American order for English).
SHORT_DATE = {"fr": "dd/MM/y", "de": "dd.MM.y", "en": "d MMM y", "nl": "d/MM/y"}


# The operators' commands (`flask ...`) speak one language: their help, their output, and the
# messages of the services they call.
OPERATOR_LANGUAGE = "en"


def operator_command(function):
    """A CLI command whose translated messages (definition problems, refusals of a service) come
    out in the operators' language."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        with force_locale(OPERATOR_LANGUAGE):
            return function(*args, **kwargs)

    return run


def current_language():
    return str(get_locale() or "fr")


def language_links(after_post=None):
    """(code, name, URL of this page in that language, is current) for each language offered;
    empty while only one is. A page answering a POST links to `after_post` when given (a page
    a GET can open), else to its own address."""
    ready = current_app.config["LANGUAGES_READY"]
    if len(ready) < 2:
        return []
    current = current_language()
    if request.method != "GET" and after_post:
        base, args = after_post, {}
    else:
        base = request.path
        args = {k: v for k, v in request.args.items() if k != LANGUAGE_KEY}
    return [
        (
            code,
            LANGUAGE_NAMES[code],
            f"{base}?{urlencode({**args, LANGUAGE_KEY: code})}",
            code == current,
        )
        for code in ready
    ]


# The switcher as every layout shows it (portal, FAS, back-office): links, no JavaScript.
SWITCHER = """<nav class="{{ nav_class }}" aria-label="{{ label }}">
  <ul{% if list_class %} class="{{ list_class }}"{% endif %}>
    {% for code, name, url, current in links %}
    <li>{% if current %}<span aria-current="true">{{ name }}</span>{% else %}<a href="{{ url }}" \
lang="{{ code }}" hreflang="{{ code }}">{{ name }}</a>{% endif %}</li>
    {% endfor %}
  </ul>
</nav>"""


def switcher_template():
    """The switcher compiled once per app (autoescaped, as Flask's templates): compiling it
    took a third of the time of a portal page."""
    template = current_app.extensions.get("language_switcher")
    if template is None:
        template = current_app.jinja_env.from_string(SWITCHER)
        current_app.extensions["language_switcher"] = template
    return template


def language_switcher(nav_class="languages", list_class="", after_post=None):
    """The switcher's HTML for a layout (nothing while one language is offered)."""
    links = language_links(after_post)
    if not links:
        return ""
    return switcher_html(tuple(links), _("Langue"), nav_class, list_class)


@functools.lru_cache(maxsize=1024)
def switcher_html(links, label, nav_class, list_class):
    """The switcher drawn once for these links and words (every page of a kind draws the same)."""
    html = switcher_template().render(
        links=links, label=label, nav_class=nav_class, list_class=list_class
    )
    return Markup(html)  # noqa: S704  # nosec B704: the template escaped every value


def install_template_gettext(app):
    """The templates' `_()`, `gettext` and `ngettext`, from the catalogue of the current language
    (`force_locale` included) kept per language for the process. They work as Jinja's
    "newstyle" ones (the text escaped where the template is, always %-formatted) with fewer
    steps: Flask-Babel's look the request's context up three times a text, and Jinja's `_`
    goes through two more calls; the texts took two fifths of the time of a portal page."""
    catalogues = {}

    def translations():
        locale = get_locale()
        if locale is None:  # outside a request or task: Flask-Babel's empty catalogue
            return get_translations()
        key = str(locale)
        catalogue = catalogues.get(key)
        if catalogue is None:
            catalogue = catalogues[key] = get_translations()
        return catalogue

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: translations().ugettext(s),
        ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n),
    )

    @pass_eval_context
    def gettext(eval_ctx, string, **variables):
        # The catalogue of the language now, on every call: a macro file imported without
        # context is rendered once and kept by Jinja, so its evaluation context outlives the
        # page (and the language) it was first drawn for.
        text = translations().ugettext(string)
        if eval_ctx.autoescape:  # as Jinja's: the catalogue's text is trusted, the values escaped
            text = Markup(text)  # noqa: S704  # nosec B704
        return text % variables

    app.jinja_env.globals.update(_=gettext, gettext=gettext)


def chosen_for_visit():
    """The language chosen with the switcher during this visit, if it is offered (a login
    carries it into the new session and the profile)."""
    chosen = session.get(LANGUAGE_KEY)
    return chosen if chosen in current_app.config["LANGUAGES_READY"] else None


def short_date(value):
    """`02/12/2026`, `02.12.2026`, `2 Dec 2026` for a date (or an ISO date text); "" for none."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, SHORT_DATE.get(current_language(), SHORT_DATE["fr"]))


def amount(value, currency="EUR"):
    """`1 234,50 €`, `1.234,50 €`, `€1,234.50`: an amount in the current language (Belgian
    conventions for French and German)."""
    language = current_language()
    locale = f"{language}_BE" if language in ("fr", "de", "nl") else language
    return format_currency(Decimal(str(value)), currency, locale=locale)


# --- French elision before a name: "d'Agence Alpha", "de Brico SA", "d'Hélène" ------------------
# A name takes "d'" when it starts with a vowel or a mute h. An aspirated h keeps "de" ("de
# Hainaut Intérim"); the few first words listed in ASPIRATED_H are the ones met in Belgian
# company names. Where the article of a name cannot be known, say "de l'entreprise X" instead.
# In a language other than French the name is given as it is: the sentence around it is then a
# translation, which says its own "of" or "von".

VOWELS = set("aeiouy")
ASPIRATED_H = {
    "hainaut",
    "halle",
    "hall",
    "hamme",
    "hasselt",
    "haut",
    "haute",
    "hauts",
    "hêtre",
    "héros",
    "herstal",
    "hollande",
    "hongrie",
    "huy",
    "hêtres",
}


def starts_with_vowel_sound(name):
    """True when French elides before `name` (a vowel, or a mute h)."""
    text = (name or "").strip()
    if not text:
        return False
    first = unicodedata.normalize("NFKD", text[0]).encode("ascii", "ignore").decode().lower()
    if first in VOWELS:
        return True
    if first == "h":
        word = text.split()[0].strip("'’-").lower()
        return word not in ASPIRATED_H
    return False


def de_name(name, french=None):
    """ "d'Agence Alpha" or "de Brico SA" in French; the bare name in another language."""
    if french is None:
        locale = get_locale()
        french = locale is None or locale.language == "fr"
    if not french:
        return name
    return f"d'{name}" if starts_with_vowel_sound(name) else f"de {name}"
