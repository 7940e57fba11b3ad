"""The texts of a definition in several languages: where they are, what the check says about
them, and the document with every text resolved in one language.

A text is a plain string (valid when the definition declares a single language) or a mapping
from language code to text (`{fr: ..., de: ..., en: ...}`). Keys, option values, expressions
and `{placeholders}` are the same in every language."""

import copy
import re

from babel.numbers import format_decimal
from flask_babel import gettext as _

KNOWN_LANGUAGES = ("fr", "de", "en", "nl")
DEFAULT_LANGUAGES = ("fr",)

TOP_TEXTS = ("title", "description", "decision_letter")
SECTION_TEXTS = ("title", "description")
FIELD_TEXTS = ("label", "help", "placeholder", "unit", "item_label", "reason")
OPTION_TEXTS = ("label", "help")
RULE_TEXTS = ("message",)
ANNEX_TEXTS = ("label", "help", "reason")


def declared_languages(data):
    """The languages the document says it is written in (the first is its source language)."""
    languages = data.get("languages")
    if isinstance(languages, list) and languages:
        return tuple(str(code) for code in languages)
    return DEFAULT_LANGUAGES


def _in(container, keys, path):
    for key in keys:
        if isinstance(container, dict) and key in container:
            yield container, key, (*path, key)


def _fields(raw_fields, path):
    for i, raw in enumerate(raw_fields or []):
        if not isinstance(raw, dict):
            continue
        fpath = (*path, i)
        yield from _in(raw, FIELD_TEXTS, fpath)
        for oi, option in enumerate(raw.get("options") or []):
            yield from _in(option, OPTION_TEXTS, (*fpath, "options", oi))
        yield from _fields(raw.get("fields"), (*fpath, "fields"))


def text_spots(data):
    """(container, key, path) of every text a person reads in the document."""
    yield from _in(data, TOP_TEXTS, ())
    for si, section in enumerate(data.get("sections") or []):
        yield from _in(section, SECTION_TEXTS, ("sections", si))
        if isinstance(section, dict):
            yield from _fields(section.get("fields"), ("sections", si, "fields"))
    for ri, rule in enumerate(data.get("rules") or []):
        yield from _in(rule, RULE_TEXTS, ("rules", ri))
    for ai, annex in enumerate(data.get("annexes") or []):
        yield from _in(annex, ANNEX_TEXTS, ("annexes", ai))
    yield from _fields(data.get("annotations"), ("annotations",))


def _unknown(code):
    return _(
        "langue inconnue « %(code)s » (langues possibles : %(known)s)",
        code=code,
        known=", ".join(KNOWN_LANGUAGES),
    )


def language_problems(data):
    """(path, message) for each language problem: an unknown code in `languages`, a text missing
    in a declared language, a mapping with a language not declared, a plain string where
    several languages are declared."""
    problems = []
    languages = declared_languages(data)
    for i, code in enumerate(data.get("languages") or []):
        if code not in KNOWN_LANGUAGES:
            problems.append((("languages", i), _unknown(code)))
    declared = ", ".join(languages)
    for container, key, path in text_spots(data):
        value = container[key]
        problems.extend(_length_problems(key, path, value))
        if isinstance(value, str):
            if len(languages) > 1:
                problems.append(
                    (
                        path,
                        _(
                            "texte dans une seule langue : la définition est en %(languages)s, "
                            "donnez ce texte pour chacune (« %(first)s: … » sur une ligne, puis "
                            "les autres)",
                            languages=declared,
                            first=languages[0],
                        ),
                    )
                )
            continue
        for code in value:
            if code not in KNOWN_LANGUAGES:
                problems.append(((*path, code), _unknown(code)))
            elif code not in languages:
                problems.append(
                    (
                        (*path, code),
                        _(
                            "langue « %(code)s » non déclarée : la définition est en "
                            "%(languages)s (ajoutez-la à « languages » ou retirez ce texte)",
                            code=code,
                            languages=declared,
                        ),
                    )
                )
        missing = [code for code in languages if code not in value]
        if missing:
            problems.append(
                (
                    path,
                    _(
                        "texte manquant en %(missing)s (la définition est en %(languages)s)",
                        missing=", ".join(missing),
                        languages=declared,
                    ),
                )
            )
    return problems


def _length_problems(key, path, value):
    """A title of at least 3 characters, a unit of at most 30, in every language."""
    given = value.items() if isinstance(value, dict) else [(None, value)]
    for code, text in given:
        where = path if code is None else (*path, code)
        if path == ("title",) and len(text.strip()) < 3:
            yield where, _("titre trop court (au moins 3 caractères)")
        elif key == "unit" and not 1 <= len(text) <= 30:
            yield where, _("une unité a de 1 à 30 caractères")


def pick(value, language, source):
    """One text in `language`, else in the source language, else the first given."""
    if not isinstance(value, dict):
        return value
    for code in (language, source):
        if value.get(code):
            return value[code]
    return next(iter(value.values()), "")


def localized(data, language):
    """A copy of the document with every text in `language` (the source language when the
    definition is not written in it); returns (document, language used)."""
    languages = declared_languages(data)
    used = language if language in languages else languages[0]
    out = copy.deepcopy(data)
    constants = out.get("constants") or {}
    for container, key, _path in text_spots(out):
        text = pick(container[key], used, languages[0])
        container[key] = with_constants(text, constants, used)
    return out, used


def with_constants(text, constants, language):
    """`text` with each `{name}` of a constant written as its number in `language` (the other
    braces, a rule message's placeholders of answers, left as they are)."""
    if not constants or not isinstance(text, str):
        return text
    return re.sub(
        r"\{([a-z][a-z0-9_]*)\}",
        lambda m: format_decimal(constants[m[1]], locale=language) if m[1] in constants else m[0],
        text,
    )
