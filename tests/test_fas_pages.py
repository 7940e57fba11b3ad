"""The stand-in FAS's pages: a login page opened directly says so in words with the way back,
in the page's language; every page has `<html lang>`, a skip link and the language switcher."""

import pytest
from fas import start_login

from conftest import BASE_URL
from helpers import text

LOGIN_PAGES = [
    "/fas/login",
    "/fas/login/eid",
    "/fas/login/itsme",
    "/fas/login/itsme/confirmer",
    "/fas/login/code",
    "/fas/login/code/verifier",
]


@pytest.fixture
def trilingual(app):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    return app


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_a_login_page_opened_directly_explains_and_leads_back(client, path):
    response = client.get(path)
    page = text(response)
    assert response.status_code == 400
    assert "no_request" not in page
    assert "Aucune demande de connexion en cours" in page
    assert f'href="{BASE_URL}/"' in page and "Retour au Guichet" in page


def test_the_message_is_in_the_pages_language(trilingual, client):
    page = text(client.get("/fas/login/code?lang=de"))
    assert '<html lang="de">' in page
    assert "Keine Anmeldeanfrage" in page and "Aucune demande" not in page
    assert "Zurück zum Guichet" in page


def test_after_the_login_request_the_pages_open_as_before(client):
    start_login(client)
    assert client.get("/fas/login/code").status_code == 200
    assert client.get("/fas/login/eid").status_code == 200


def test_skip_link_lang_and_a_switcher_without_javascript(trilingual, client):
    start_login(client)
    page = text(client.get("/fas/login/eid"))
    assert '<html lang="fr">' in page
    assert '<a class="skip-link" href="#contenu">' in page and 'id="contenu"' in page
    assert 'href="/fas/login/eid?lang=de" lang="de" hreflang="de">Deutsch</a>' in page
    assert '<span aria-current="true">Français</span>' in page
    german = text(client.get("/fas/login/eid?lang=de"))
    assert '<html lang="de">' in german and "Zum Inhalt" in german
    assert "Carte d'identité de test" not in german


def test_an_authorization_refused_shows_no_english_description(client):
    response = client.get("/fas/authorize?response_type=code")
    page = text(response)
    assert response.status_code == 400
    assert "Demande de connexion refusée" in page
    assert "Missing" not in page and "client_id" not in page
