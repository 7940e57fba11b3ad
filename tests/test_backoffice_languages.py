"""The back-office in the staff member's language: the switcher on every page (links, no
JavaScript), the choice kept in the staff member's profile for their next logins, else the
browser's language; Flask-Admin's own words through its translation domain; `<html lang>`."""

import re
from pathlib import Path

import pytest

import backoffice
from helpers import csrf_from, login_staff, make_company, make_dossier, make_member, make_staff
from models import DossierStatus, StaffRole, StaffUser

# Flask-Admin's own words on the dossier list, and what its French and German catalogues make of
# them ("Chercher" is Flask-Admin's French for Search).
ADMIN_WORDS = {
    "fr": ["Liste", "Ajouter un filtre", "Avec la sélection", "Chercher"],
    "de": ["Liste", "Filter hinzufügen", "Mit Auswahl", "Suche"],
}
ENGLISH = ["Add Filter", "With selected", "Select all records", "Sort by", "Toggle navigation"]


@pytest.fixture
def trilingual(app):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    return app


def lang_of(response):
    return re.search(r'<html lang="([a-z]+)"', response.text)[1]


def switcher(response):
    """The switcher's links: {code: href}, and the language shown as current."""
    nav = re.search(r'<nav class="bo-languages".*?</nav>', response.text, re.S)[0]
    links = dict(
        (code, href.replace("&amp;", "&"))
        for href, code in re.findall(r'<a href="([^"]+)" lang="[a-z]+" hreflang="([a-z]+)"', nav)
    )
    current = re.search(r'<span aria-current="true">([^<]+)</span>', nav)[1]
    return links, current


def supervisor_with_a_dossier():
    company = make_company(name="Agence Polyglotte")
    dossier = make_dossier(DossierStatus.SUBMITTED, company=company, person=make_member(company))
    return make_staff(StaffRole.SUPERVISOR), dossier


def test_the_login_page_offers_each_language_and_follows_the_browser(trilingual, client):
    page = client.get("/admin/login/", headers={"Accept-Language": "de-BE,de;q=0.9"})
    assert lang_of(page) == "de" and "Anmeldung für das Personal" in page.text
    links, current = switcher(page)
    assert current == "Deutsch"
    assert links == {"fr": "/admin/login/?lang=fr", "en": "/admin/login/?lang=en"}
    page = client.get(links["en"], headers={"Accept-Language": "de"})
    assert lang_of(page) == "en" and "Connexion du personnel" not in page.text


def test_no_switcher_while_one_language_is_offered(app, client):
    app.config["LANGUAGES_READY"] = ("fr",)
    page = client.get("/admin/login/?lang=de", headers={"Accept-Language": "de"})
    assert lang_of(page) == "fr" and 'class="bo-languages"' not in page.text


def test_the_switcher_keeps_the_page_and_its_arguments(trilingual, client, ctx):
    staff, _dossier = supervisor_with_a_dossier()
    login_staff(client, staff)
    links, current = switcher(client.get("/admin/dossiers/?search=polyglotte&sort=1"))
    assert current == "Français"
    assert links["de"] == "/admin/dossiers/?search=polyglotte&sort=1&lang=de"


def test_a_staff_members_choice_is_saved_and_used_at_the_next_login(trilingual, app, ctx):
    staff, _dossier = supervisor_with_a_dossier()
    first = app.test_client()
    login_staff(first, staff)
    assert lang_of(first.get("/admin/", headers={"Accept-Language": "fr"})) == "fr"
    page = first.get("/admin/dossiers/?lang=de")
    assert lang_of(page) == "de" and "Akten" in page.text
    assert StaffUser.get_by_id(staff.id).language == "de"
    first.get("/admin/dossiers/?lang=xx")  # not offered: nothing changes
    assert StaffUser.get_by_id(staff.id).language == "de"

    other = app.test_client()  # another browser, another day
    assert lang_of(other.get("/admin/login/", headers={"Accept-Language": "fr"})) == "fr"
    login_staff(other, staff)
    page = other.get("/admin/", headers={"Accept-Language": "fr"})
    assert lang_of(page) == "de" and "Willkommen" in page.text


def test_a_choice_made_on_the_login_page_is_kept_at_login(trilingual, app, ctx):
    staff, _dossier = supervisor_with_a_dossier()
    client = app.test_client()
    client.get("/admin/login/?lang=en")
    login_staff(client, staff)  # the new session starts without the visit's choice
    assert StaffUser.get_by_id(staff.id).language == "en"
    assert lang_of(client.get("/admin/", headers={"Accept-Language": "de"})) == "en"


def test_until_a_staff_member_chooses_the_browsers_language_follows_them_in(trilingual, app, ctx):
    staff, _dossier = supervisor_with_a_dossier()
    german = app.test_client()
    german.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-BE,de;q=0.9"
    login_staff(german, staff)
    assert lang_of(german.get("/admin/")) == "de"
    saved = StaffUser.get_by_id(staff.id)
    assert saved.language == "de" and not saved.language_chosen
    english = app.test_client()
    english.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login_staff(english, staff)
    assert lang_of(english.get("/admin/")) == "en"


def test_logging_out_goes_back_to_the_browsers_language(trilingual, client, ctx):
    staff, _dossier = supervisor_with_a_dossier()
    login_staff(client, staff)
    page = client.get("/admin/?lang=de")
    client.post("/admin/logout/", data={"csrf_token": csrf_from(page.text)})
    assert lang_of(client.get("/admin/login/", headers={"Accept-Language": "en"})) == "en"


@pytest.mark.parametrize("language", ["fr", "de"])
def test_flask_admin_words_come_out_in_the_staff_members_language(
    trilingual, client, ctx, language
):
    staff, _dossier = supervisor_with_a_dossier()
    login_staff(client, staff)
    page = client.get(f"/admin/dossiers/?lang={language}").text
    assert all(word in page for word in ADMIN_WORDS[language]), ADMIN_WORDS[language]
    assert not [word for word in ENGLISH if word in page]
    other = ADMIN_WORDS["de" if language == "fr" else "fr"]
    assert not [w for w in other if w not in ADMIN_WORDS[language] and w in page]


PAGES = [
    "/admin/",
    "/admin/dossiers/",
    "/admin/dossiers/details/?id={dossier}",
    "/admin/companies/",
    "/admin/companies/details/?id={company}",
    "/admin/persons/",
    "/admin/memberships/",
    "/admin/outbox/",
    "/admin/audit/",
    "/admin/no-such-page/",
]


@pytest.mark.parametrize("language", ["fr", "de", "en"])
def test_every_back_office_page_says_its_language_and_offers_the_others(
    trilingual, client, ctx, language
):
    staff, dossier = supervisor_with_a_dossier()
    login_staff(client, staff)
    client.get(f"/admin/?lang={language}")
    for path in PAGES:
        page = client.get(path.format(dossier=dossier.id, company=dossier.company_id))
        assert lang_of(page) == language, path
        links, _current = switcher(page)
        assert set(links) == {"fr", "de", "en"} - {language}, path
        assert 'href="#contenu"' in page.text and 'id="contenu"' in page.text, path


def test_a_page_answering_a_post_switches_through_the_dashboard(trilingual, client, ctx):
    staff, dossier = supervisor_with_a_dossier()
    login_staff(client, staff)
    page = client.get(f"/admin/dossiers/details/?id={dossier.id}")
    refused = client.post(
        f"/admin/dossiers/complement/{dossier.id}",
        data={"csrf_token": csrf_from(page.text), "body": ""},
    )
    links, _current = switcher(refused)
    assert links["de"] == "/admin/?lang=de"


def own_texts():
    """The French source texts of the back-office's code and templates (at least two words)."""
    from babel.messages.extract import extract_from_dir

    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    texts = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        Path(backoffice.__file__).parent,
        method_map,
        keywords={"_": None, "_l": None, "gettext": None},
    ):
        for text in message if isinstance(message, tuple) else (message,):
            text = text.split("%(")[0].strip()
            if " " in text and len(text) >= 8:
                texts.add(text)
    return texts


def visible_text(html_text):
    """What a reader meets on the page: its text and the names given in attributes."""
    import html

    body = re.sub(r"<(script|style|textarea)\b.*?</\1>", "", html_text, flags=re.S)
    names = re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', body)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body) + " " + " ".join(names)))


def test_no_french_text_of_the_back_office_on_its_german_pages(trilingual, app, ctx):
    """Data aside (names, and the procedures' own texts on a dossier's answers and in the
    preview, which the definitions translate), a German page has none of its French texts."""
    from procedures import sync_builtin

    sync_builtin()
    staff, dossier = supervisor_with_a_dossier()
    texts = own_texts()
    assert len(texts) > 100
    leaks = {}

    def check(client, path):
        page = client.get(path)
        assert lang_of(page) == "de", path
        found = sorted(t for t in texts if t in visible_text(page.text))
        if found:
            leaks[path] = found

    supervisor, admin = app.test_client(), app.test_client()
    check(supervisor, "/admin/login/?lang=de")
    login_staff(supervisor, staff)
    for path in [
        "/admin/",
        "/admin/dossiers/",
        "/admin/dossiers/?search=polyglotte",
        "/admin/companies/",
        f"/admin/companies/details/?id={dossier.company_id}",
        "/admin/persons/",
        "/admin/memberships/",
        "/admin/outbox/",
        "/admin/audit/",
        "/admin/no-such-page/",
    ]:
        check(supervisor, path)
    admin.get("/admin/login/?lang=de")
    login_staff(admin, make_staff(StaffRole.ADMIN))
    for path in ["/admin/definitions/", "/admin/definitions/new-version/enregistrement"]:
        check(admin, path)
    assert not leaks
