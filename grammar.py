"""French elision before a name: "d'Agence Alpha", "de Brico SA", "d'Hélène" — the small words
a French sentence puts before a company's or a person's name.

A name takes "d'" when it starts with a vowel or a mute h. An aspirated h keeps "de" ("de
Hainaut Intérim"); the few first words listed in ASPIRATED_H are the ones met in Belgian
company names. Where the article of a name cannot be known, say "de l'entreprise X" instead.
In a language other than French the name is given as it is: the sentence around it is then a
translation, which says its own "of" or "von".
"""

import unicodedata

from flask_babel import get_locale

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


def init_app(app):
    """The Jinja filter `de_name` for every template: pages, emails, the back-office."""
    app.add_template_filter(de_name, "de_name")
