"""The browser harness's language check (tests/browser/harness.py), without a browser: a German
page that still shows a French text of its templates is caught, data is not."""

import html
import re

from browser.harness import catalogue, french_left, msgid_pattern, template_msgids


def visible_text(response):
    body = response.get_data(as_text=True).split("<body", 1)[1]
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_a_french_text_left_on_a_german_page_is_found():
    de = catalogue("de")
    page = "Willkommen, Marie Dubois. Se connecter Mes entreprises"
    assert french_left(page, {"Se connecter", "Mes entreprises", "Accueil"}, de) == [
        "Mes entreprises",
        "Se connecter",
    ]


def test_an_untranslated_catalogue_entry_is_found():
    page = "Bitte wählen Sie. Une phrase oubliée par les traducteurs, %s fois."
    assert french_left(page, {"Une phrase oubliée par les traducteurs, %(n)s fois."}, {}) == [
        "Une phrase oubliée par les traducteurs, %(n)s fois."
    ]


def test_placeholders_match_any_value_and_short_or_same_texts_are_ignored():
    de = catalogue("de")
    assert french_left("Bienvenue, Sofia Peeters.", {"Bienvenue, %(name)s."}, de)
    assert french_left("OK Non itsme", {"OK", "Non", "itsme"}, {"Non": "Nein"}) == []
    assert msgid_pattern("Nom") is None


def test_a_one_word_text_counts_only_where_it_stands_alone():
    translations = {"Obligatoire": "Pflicht"}
    data = ["Obligatoire car l'agence est établie à l'étranger."]
    assert french_left(" ".join(data), {"Obligatoire"}, translations, data) == []
    tag = ["Obligatoire — 1/2"]
    assert french_left(" ".join(tag), {"Obligatoire"}, translations, tag) == ["Obligatoire"]


def test_the_msgids_of_a_page_include_its_layout(app):
    ids = template_msgids(app.jinja_env, "fas/login.html")
    assert "Choisissez votre moyen de connexion" in ids  # the page's own
    assert "Service fédéral d'authentification" in ids  # its layout's


def test_a_real_german_page_passes_and_fails_once_a_text_is_untranslated(app, client):
    app.config["LANGUAGES_READY"] = ("fr", "de")
    ids = template_msgids(app.jinja_env, "portal/home.html")
    de = catalogue("de")
    page = visible_text(client.get("/?lang=de"))
    assert french_left(page, ids, de) == []
    assert "Se connecter" in ids and "Anmelden" in page

    untranslated = {**de, "Se connecter": ""}  # as if the German msgstr were missing
    french_page = page.replace("Anmelden", "Se connecter")
    assert french_left(french_page, ids, untranslated) == ["Se connecter"]
