"""Journeys of issue #3: the three means of login, activation, invitation, the email gate and
losing access at once."""

import re

import pytest
from playwright.sync_api import expect

import sources
from models import SmsMessage


def code_in(text):
    return re.search(r"\b(\d{6})\b", text).group(1)


def open_login(page, base):
    page.goto(base + "/")
    page.get_by_role("link", name="Se connecter").first.click()
    expect(page.get_by_role("heading", name="Choisissez votre moyen de connexion")).to_be_visible()


def login_eid(page, base, card="592-0000001-01", pin="1111"):
    open_login(page, base)
    page.get_by_role("link", name="Carte d'identité électronique").click()
    page.get_by_label("Carte d'identité de test").select_option(card)
    page.get_by_label("Code PIN").fill(pin)
    page.get_by_role("button", name="Se connecter").click()


def login_itsme(page, base, phone):
    open_login(page, base)
    page.get_by_role("link", name="itsme").click()
    page.get_by_label("Numéro de téléphone mobile").fill(phone)
    page.get_by_role("button", name="Envoyer la demande à l'application").click()
    page.get_by_role("button", name="Confirmer").click()


def test_login_with_each_means(live_server, browser):
    base = live_server.url

    page = browser.new_context().new_page()
    login_eid(page, base)
    expect(page.get_by_role("heading", name="Mes entreprises")).to_be_visible()
    expect(page.get_by_text("Bienvenue, Marie Dubois.")).to_be_visible()

    page = browser.new_context().new_page()
    login_itsme(page, base, "+32 470 00 00 02")
    expect(page.get_by_role("heading", name="Mes entreprises")).to_be_visible()
    expect(page.get_by_text("Bienvenue, Jean Lambert.")).to_be_visible()

    page = browser.new_context().new_page()
    open_login(page, base)
    page.get_by_role("link", name="Code de sécurité par SMS ou e-mail").click()
    page.get_by_label("Numéro de registre national").fill("05.01.01-001.13")
    page.get_by_label("SMS").check()
    page.get_by_role("button", name="Recevoir un code").click()
    sms = SmsMessage.select().order_by(SmsMessage.id.desc()).get()
    assert sms.to_phone == "+32470000003"
    page.get_by_label("Code de sécurité (6 chiffres)").fill(code_in(sms.body))
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("Bienvenue, Sofia Peeters.")).to_be_visible()

    page = browser.new_context().new_page()
    open_login(page, base)
    page.get_by_role("link", name="Code de sécurité par SMS ou e-mail").click()
    page.get_by_label("Numéro de registre national").fill("78021512312")
    page.get_by_label("E-mail").check()
    page.get_by_role("button", name="Recevoir un code").click()
    messages = live_server.wait_for_mail(lambda m: m["To"] == "luc.martin@example.test")
    mail = next(m for m in messages if m["To"] == "luc.martin@example.test")
    page.get_by_label("Code de sécurité (6 chiffres)").fill(
        code_in(mail.get_body(("plain",)).get_content())
    )
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_text("Bienvenue, Luc Martin.")).to_be_visible()


def validate_email(page, live_server, address):
    page.get_by_label("Adresse e-mail professionnelle").fill(address)
    page.get_by_role("button", name="Envoyer le code de validation").click()

    def validation(m):
        return m["To"] == address and "Validez" in m["Subject"]

    mail = [m for m in live_server.wait_for_mail(validation) if validation(m)][-1]
    page.get_by_label("Code de validation (6 chiffres)").fill(
        code_in(mail.get_body(("plain",)).get_content())
    )
    page.get_by_role("button", name="Valider").click()
    expect(page.get_by_text("Votre adresse e-mail professionnelle est validée")).to_be_visible()


@pytest.fixture
def register(live_server):
    with live_server.app.app_context():
        sources.load_sample_if_empty()


def test_activate_invite_validate_and_revoke(live_server, browser, register):
    base = live_server.url
    marie = browser.new_context().new_page()
    login_eid(marie, base)
    marie.get_by_role("link", name="Activer une entreprise").first.click()
    marie.get_by_label("Numéro d'entreprise (BCE)").fill("0566.988.259")
    marie.get_by_label("Moi-même").check()
    marie.get_by_role("button", name="Activer et désigner le gestionnaire").click()
    expect(marie.get_by_text("Agence Intérim Liège est activée")).to_be_visible()
    marie.get_by_role("button", name="Agir pour Agence Intérim Liège").click()
    validate_email(marie, live_server, "marie@agence.test")

    marie.get_by_role("link", name="Gestion des accès").click()
    marie.get_by_label("Numéro de registre national").fill("42012205181")
    marie.get_by_label("Nom", exact=True).fill("Lambert")
    marie.get_by_label("Prénom").fill("Jean")
    marie.get_by_label("Adresse e-mail").fill("jean@agence.test")
    marie.locator("#inviter ~ form").get_by_label("Encodage").check()
    marie.get_by_role("button", name="Inviter").click()
    expect(marie.get_by_text("Jean Lambert est invité(e)")).to_be_visible()
    live_server.wait_for_mail(lambda m: m["To"] == "jean@agence.test")

    jean = browser.new_context().new_page()
    login_itsme(jean, base, "+32470000002")
    jean.get_by_role("button", name="Agir pour Agence Intérim Liège").click()
    expect(jean.get_by_label("Adresse e-mail professionnelle")).to_have_value("jean@agence.test")
    validate_email(jean, live_server, "jean@agence.test")
    expect(jean.get_by_text("pour Agence Intérim Liège")).to_be_visible()

    row = marie.get_by_role("row").filter(has_text="Jean Lambert")
    marie.reload()
    row = marie.get_by_role("row").filter(has_text="Jean Lambert")
    row.get_by_label("Encodage").uncheck()
    row.get_by_role("button", name="Enregistrer les rôles de Jean Lambert").click()
    expect(marie.get_by_text("Rôles de Jean Lambert : aucun rôle")).to_be_visible()

    jean.reload()
    expect(jean.get_by_role("heading", name="Accès refusé")).to_be_visible()
