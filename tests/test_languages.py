"""Which language a page is in: the switcher's choice, else the person's, else the browser's,
else French; only languages that are offered (LANGUAGES_READY)."""

import pytest

from access import identity
from helpers import login_person, make_person, national_number
from models import Person

NN = national_number(7)


@pytest.fixture
def bilingual(app):
    app.config["LANGUAGES_READY"] = ("fr", "de")
    return app


def lang_of(response):
    return response.text.split('<html lang="', 1)[1].split('"', 1)[0]


def test_only_french_and_no_switcher_while_one_language_is_offered(app, client):
    app.config["LANGUAGES_READY"] = ("fr",)
    page = client.get("/?lang=de", headers={"Accept-Language": "de"})
    assert lang_of(page) == "fr"
    assert 'hreflang="de"' not in page.text


def test_browser_language_then_switcher_choice(bilingual, client):
    assert lang_of(client.get("/", headers={"Accept-Language": "de-BE,de;q=0.9"})) == "de"
    assert lang_of(client.get("/", headers={"Accept-Language": "en, nl;q=0.5"})) == "fr"
    page = client.get("/")
    assert 'hreflang="de"' in page.text and 'aria-current="true">Français' in page.text
    assert lang_of(client.get("/?lang=de")) == "de"
    assert lang_of(client.get("/")) == "de", "the choice holds for the visit"
    assert lang_of(client.get("/?lang=xx")) == "de", "an unknown language is ignored"
    assert lang_of(client.get("/?lang=fr")) == "fr"


def test_the_persons_language_when_nothing_was_chosen(bilingual, client, app):
    with app.app_context():
        person = make_person(language="de")
        login_person(client, person)
    assert lang_of(client.get("/", headers={"Accept-Language": "fr"})) == "de"
    assert lang_of(client.get("/?lang=fr")) == "fr"


@pytest.mark.parametrize(
    "code, words", [("de", ["Anmelden", "Zum Inhalt"]), ("en", ["Sign in", "Skip to main content"])]
)
def test_the_compiled_catalogues_translate_the_pages(app, client, code, words):
    app.config["LANGUAGES_READY"] = ("fr", code)
    page = client.get(f"/?lang={code}").text
    assert all(word in page for word in words)
    assert "Se connecter" not in page


def test_the_switchers_choice_is_kept_in_the_persons_profile(bilingual, client, app):
    with app.app_context():
        person = make_person(language="fr")
        login_person(client, person)
    assert lang_of(client.get("/?lang=de")) == "de"
    with app.app_context():
        saved = Person.get_by_id(person.id)
        assert saved.language == "de" and saved.language_chosen


def test_the_logins_language_counts_until_the_person_chooses(bilingual, app):
    claims = {"iss": "https://fas.test", "sub": "s-1", "egovNRN": NN}
    with app.app_context():
        person = identity.person_from_claims({**claims, "prefLanguage": "DE"}, ("fr", "de"))
        assert person.language == "de", "the login's prefLanguage when nothing was chosen"
        identity.update_preferences(person, "fr", False)
        again = identity.person_from_claims({**claims, "prefLanguage": "de"}, ("fr", "de"))
        assert again.id == person.id and again.language == "fr", "the person's choice holds"


@pytest.mark.parametrize(
    "code, words",
    [("de", "Feld kann nicht länger als 5 Zeichen sein"), ("fr", "ne peut pas contenir plus")],
)
def test_wtforms_own_messages_in_nested_forms_follow_the_page(bilingual, code, words):
    """A row of a group and an address are forms nested in the page's form: WTForms' own
    messages there are in the page's language too."""
    from werkzeug.datastructures import MultiDict
    from wtforms import StringField
    from wtforms.validators import Length

    from portal.forms_builder import ItemForm
    from procedures.fields import AddressForm

    row = type("Row", (ItemForm,), {"name": StringField("Nom", [Length(max=5)])})
    with bilingual.test_request_context(f"/?lang={code}"):
        bilingual.preprocess_request()
        form = row(MultiDict({"name": "trop long"}))
        address = AddressForm(MultiDict({"postcode": "1" * 30}))
        assert not form.validate() and not address.validate()
        assert words in form.name.errors[0]
        assert address.postcode.errors[0] != "Field cannot be longer than 20 characters."


@pytest.mark.parametrize(
    "code, address, date_text, amount_text",
    [
        ("fr", "Rue de Fer 1 bte 2, 5000 Namur", "02/12/2026", "1\u202f250,50\xa0€"),
        ("de", "Rue de Fer 1 Bf. 2, 5000 Namur", "02.12.2026", "1.250,50\xa0€"),
        ("en", "Rue de Fer 1 box 2, 5000 Namur", "2 Dec 2026", "€1,250.50"),
    ],
)
def test_answers_are_written_as_the_language_writes_them(
    app, code, address, date_text, amount_text
):
    from procedures import display, fields

    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    with app.test_request_context(f"/?lang={code}"):
        app.preprocess_request()
        assert display.format_address("Rue de Fer", "1", "2", "5000", "Namur") == address
        assert fields.get("date").display("2026-12-02", None, []) == date_text
        assert fields.get("amount").display("1250.50", None, []) == amount_text


def test_the_choice_made_before_logging_in_holds_after(bilingual, client):
    """Logging in starts a new session (never the old one reused) but keeps the visit's
    language: the person chose it on the home page, before the FAS."""
    from fas import MARIE_CARD, MARIE_PIN, finish, follow, post_form

    assert lang_of(client.get("/?lang=de")) == "de"
    follow(client, client.get("/auth/login"))
    response = post_form(client, "/fas/login/eid", {"card": MARIE_CARD, "pin": MARIE_PIN})
    page, _ = follow(client, finish(client, response))
    assert "Willkommen, Marie Dubois." in page.text, "logged in, and the page is German"
    assert lang_of(page) == "de"


def test_without_a_choice_or_prefLanguage_the_login_pages_language_is_kept(bilingual, app):
    claims = {"iss": "https://fas.test", "sub": "s-2", "egovNRN": national_number(8)}
    with app.app_context():
        person = identity.person_from_claims(claims, ("fr", "de"), page_language="de")
        assert person.language == "de" and not person.language_chosen
        chosen = identity.person_from_claims(claims, ("fr", "de"), chosen="fr", page_language="de")
        assert chosen.language == "fr" and chosen.language_chosen


def test_the_templates_texts_follow_the_language_in_force(app):
    """The templates' `_()` reads the catalogue of the language of the moment: the page's, or
    the one forced for an email written during the request, then the page's again."""
    from flask import render_template_string
    from flask_babel import force_locale

    page = '{{ _("Accueil") }} {{ ngettext("%(num)d dossier", "%(num)d dossiers", 2) }}'
    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        german = render_template_string(page)
        with force_locale("en"):
            english = render_template_string(page)
        assert render_template_string(page) == german
    with app.test_request_context("/"):
        assert render_template_string(page).startswith("Accueil ")
    assert german.startswith("Startseite ") and english.startswith("Home ")


def test_a_page_that_writes_an_email_in_another_language_keeps_its_own(app):
    from flask import render_template_string
    from flask_babel import force_locale

    def english_email():
        with force_locale("en"):
            return render_template_string('{{ _("Accueil") }}')

    app.jinja_env.globals["english_email"] = english_email
    page = '{{ _("Accueil") }}|{{ english_email() }}|{{ _("Accueil") }}'
    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        assert render_template_string(page) == "Startseite|Home|Startseite"
