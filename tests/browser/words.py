"""The interface's words in the language the journey runs in: journeys name buttons, links and
labels by their French source text, `tr` gives what the page shows (the project's catalogue)."""

import re
from functools import cache
from pathlib import Path

import pytest
from babel.support import Translations

TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
LOCALES = {"fr": "fr-BE", "de": "de-BE", "en": "en-GB"}
_current = ["fr"]

# The main journeys run in both of the service's first languages (the `lang` fixture).
both_languages = pytest.mark.parametrize("lang", ["fr", "de"])


def set_language(lang):
    _current[0] = lang


def language():
    return _current[0]


@cache
def _catalogue(lang):
    return Translations.load(str(TRANSLATIONS), [lang])


def _translate(msgid, lang):
    catalogue = _catalogue("de" if lang == "fr" else lang)
    if msgid not in catalogue._catalog:  # in French too: a journey's text must stay the source's
        raise KeyError(f"not a text of the catalogue (a journey names texts by msgid): {msgid!r}")
    return msgid if lang == "fr" else catalogue.gettext(msgid)


def de_name(name):
    """A name after "de" as `languages.de_name` writes it in the journey's language."""
    import languages

    return languages.de_name(name, french=language() == "fr")


def tr(msgid, **values):
    """`msgid` (French) as the page shows it in the journey's language, `values` filled in."""
    text = _translate(msgid, language())
    return text % values if values else text


def tr_re(msgid, **values):
    """A regex of `msgid` as shown in the journey's language: the `values` given filled in,
    the other placeholders matching any text."""
    return _pattern(_translate(msgid, language()), values)


def in_any_language(msgid, **values):
    """A regex of `msgid` in French, German or English (an email goes in its recipient's
    language, which need not be the browser's)."""
    texts = [_translate(msgid, lang) for lang in ("fr", "de", "en")]
    return re.compile("|".join(_pattern(t, values).pattern for t in texts))


def _pattern(text, values):
    parts = re.split(r"(%\(\w+\)s)", text)
    pattern = ""
    for part in parts:
        name = re.fullmatch(r"%\((\w+)\)s", part)
        if name is None:
            pattern += re.escape(part)
        elif name.group(1) in values:
            pattern += re.escape(str(values[name.group(1)]))
        else:
            pattern += ".+?"
    return re.compile(pattern)


def trn(singular, plural, num):
    """The plural form for `num`, as ngettext with `%(num)d`."""
    if language() == "fr":
        text = singular if num < 2 else plural
    else:
        catalogue = _catalogue(language())
        if (singular, 0) not in catalogue._catalog:
            raise KeyError(f"not a plural text of the catalogue: {singular!r}")
        text = catalogue.ngettext(singular, plural, num)
    return text % {"num": num}
