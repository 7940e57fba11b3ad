"""Journeys of issue #3: the three means of login, activation, invitation, the email gate and
losing access at once."""

import re

import pytest
from playwright.sync_api import expect

import sources
from browser.words import both_languages, de_name, in_any_language, language, tr, tr_re
from models import SmsMessage

EMAIL_VALIDATED = (
    "Votre adresse e-mail professionnelle est validée. Bienvenue dans l'espace %(de_name)s."
)
VALIDATION = in_any_language("Validez votre adresse e-mail professionnelle pour %(company)s")


def code_in(text):
    return re.search(r"\b(\d{6})\b", text).group(1)


def open_login(page, base):
    """From the home page. In a journey in another language than French, the person picks it
    in the switcher (its link's `?lang=`): a test identity's own language is French, which
    would win over the browser's once logged in."""
    page.goto(base + ("/" if language() == "fr" else f"/?lang={language()}"))
    page.get_by_role("link", name=tr("Se connecter")).first.click()
    expect(
        page.get_by_role("heading", name=tr("Choisissez votre moyen de connexion"))
    ).to_be_visible()


def login_eid(page, base, card="592-0000001-01", pin="1111"):
    open_login(page, base)
    page.get_by_role("link", name=tr("Carte d'identité électronique")).click()
    page.get_by_label(tr("Carte d'identité de test")).select_option(card)
    page.get_by_label(tr("Code PIN")).fill(pin)
    page.get_by_role("button", name=tr("Se connecter")).click()


def login_itsme(page, base, phone):
    open_login(page, base)
    page.get_by_role("link", name="itsme").click()
    page.get_by_label(tr("Numéro de téléphone mobile")).fill(phone)
    page.get_by_role("button", name=tr("Envoyer la demande à l'application")).click()
    page.get_by_role("button", name=tr("Confirmer")).click()


@both_languages
def test_login_with_each_means(live_server, browser):
    base = live_server.url

    page = browser.new_context().new_page()
    login_eid(page, base)
    expect(page.get_by_role("heading", name=tr("Mes entreprises"))).to_be_visible()
    expect(page.get_by_text(tr("Bienvenue, %(name)s.", name="Marie Dubois"))).to_be_visible()

    page = browser.new_context().new_page()
    login_itsme(page, base, "+32 470 00 00 02")
    expect(page.get_by_role("heading", name=tr("Mes entreprises"))).to_be_visible()
    expect(page.get_by_text(tr("Bienvenue, %(name)s.", name="Jean Lambert"))).to_be_visible()

    page = browser.new_context().new_page()
    open_login(page, base)
    page.get_by_role("link", name=tr("Code de sécurité par SMS ou e-mail")).click()
    page.get_by_label(tr("Numéro de registre national")).fill("05.01.01-001.13")
    page.get_by_label(tr("SMS")).check()
    page.get_by_role("button", name=tr("Recevoir un code")).click()
    expect(page.get_by_label(tr("Code de sécurité (6 chiffres)"))).to_be_visible()
    sms = SmsMessage.select().order_by(SmsMessage.id.desc()).get()
    assert sms.to_phone == "+32470000003"
    phone = page.context.new_page()  # the SMS as the development gateway shows it
    phone.goto(base + "/dev/mail")
    row = phone.get_by_role("row").filter(has_text="+32470000003")
    code = code_in(row.inner_text())
    assert code == code_in(sms.body)
    phone.close()
    page.get_by_label(tr("Code de sécurité (6 chiffres)")).fill(code)
    page.get_by_role("button", name=tr("Se connecter")).click()
    expect(page.get_by_text(tr("Bienvenue, %(name)s.", name="Sofia Peeters"))).to_be_visible()

    page = browser.new_context().new_page()
    open_login(page, base)
    page.get_by_role("link", name=tr("Code de sécurité par SMS ou e-mail")).click()
    page.get_by_label(tr("Numéro de registre national")).fill("78021512312")
    page.get_by_label(tr("E-mail")).check()
    page.get_by_role("button", name=tr("Recevoir un code")).click()
    messages = live_server.wait_for_mail(lambda m: m["To"] == "luc.martin@example.test")
    mail = next(m for m in messages if m["To"] == "luc.martin@example.test")
    page.get_by_label(tr("Code de sécurité (6 chiffres)")).fill(
        code_in(mail.get_body(("plain",)).get_content())
    )
    page.get_by_role("button", name=tr("Se connecter")).click()
    expect(page.get_by_text(tr("Bienvenue, %(name)s.", name="Luc Martin"))).to_be_visible()


def validate_email(page, live_server, address):
    page.get_by_label(tr("Adresse e-mail professionnelle")).fill(address)
    page.get_by_role("button", name=tr("Envoyer le code de validation")).click()

    def validation(m):
        return m["To"] == address and VALIDATION.search(m["Subject"])

    mail = [m for m in live_server.wait_for_mail(validation) if validation(m)][-1]
    page.get_by_label(tr("Code de validation (6 chiffres)")).fill(
        code_in(mail.get_body(("plain",)).get_content())
    )
    page.get_by_role("button", name=tr("Valider")).click()
    expect(page.get_by_text(tr_re(EMAIL_VALIDATED))).to_be_visible()


@pytest.fixture
def register(live_server):
    with live_server.app.app_context():
        sources.load_sample_if_empty()


@both_languages
def test_activate_invite_validate_and_revoke(live_server, browser, register):
    base = live_server.url
    marie = browser.new_context().new_page()
    login_eid(marie, base)
    marie.get_by_role("link", name=tr("Activer une entreprise")).first.click()
    marie.get_by_label(tr("Numéro d'entreprise (BCE)")).fill("0566.988.259")
    marie.get_by_label(tr("Moi-même")).check()
    marie.get_by_role("button", name=tr("Activer et désigner le gestionnaire")).click()
    expect(
        marie.get_by_text(
            tr_re(
                "%(name)s est activée ; %(gap)s en est le gestionnaire d'accès principal.",
                name="Agence Intérim Liège",
            )
        )
    ).to_be_visible()
    marie.get_by_role("button", name=tr("Agir pour %(name)s", name="Agence Intérim Liège")).click()
    validate_email(marie, live_server, "marie@agence.test")

    marie.get_by_role("link", name=tr("Gestion des accès")).click()
    marie.get_by_label(tr("Numéro de registre national")).fill("42012205181")
    marie.get_by_label(tr("Nom"), exact=True).fill("Lambert")
    marie.get_by_label(tr("Prénom")).fill("Jean")
    marie.get_by_label(tr("Adresse e-mail")).fill("jean@agence.test")
    marie.locator("#inviter ~ form").get_by_label(tr("Encodage")).check()
    marie.get_by_role("button", name=tr("Inviter")).click()
    expect(
        marie.get_by_text(
            tr_re("%(name)s est invité(e) avec le rôle : %(roles)s.", name="Jean Lambert")
        )
    ).to_be_visible()
    live_server.wait_for_mail(lambda m: m["To"] == "jean@agence.test")

    jean = browser.new_context().new_page()
    login_itsme(jean, base, "+32470000002")
    jean.get_by_role("button", name=tr("Agir pour %(name)s", name="Agence Intérim Liège")).click()
    expect(jean.get_by_label(tr("Adresse e-mail professionnelle"))).to_have_value(
        "jean@agence.test"
    )
    validate_email(jean, live_server, "jean@agence.test")
    expect(jean.get_by_text(tr("pour") + " Agence Intérim Liège")).to_be_visible()

    row = marie.get_by_role("row").filter(has_text="Jean Lambert")
    marie.reload()
    row = marie.get_by_role("row").filter(has_text="Jean Lambert")
    row.get_by_label(tr("Encodage")).uncheck()
    row.get_by_role(
        "button", name=tr("Enregistrer les rôles %(de_name)s", de_name=de_name("Jean Lambert"))
    ).click()
    expect(
        marie.get_by_text(
            tr(
                "Rôles %(de_name)s : %(roles)s.",
                de_name=de_name("Jean Lambert"),
                roles=tr("aucun rôle"),
            )
        )
    ).to_be_visible()

    jean.reload()
    expect(jean.get_by_role("heading", name=tr("Accès refusé"))).to_be_visible()
