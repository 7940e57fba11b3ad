"""A person whose login says `prefLanguage: de`, in a browser set to French: after the login
every page is German, and so are the emails and the sealed receipt."""

import io
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from browser import words
from browser.filler import fill_dossier
from browser.test_identity import login_eid
from browser.test_procedures import CASES, agency_with_signer, sign_and_submit, start_procedure
from browser.words import tr
from models import Dossier, DossierStatus, Person
from procedures import definition_of
from procedures.prefill import context as prefill_context

JULIE = {"card": "592-0000009-09", "pin": "9999"}  # fas_standin/identities.yaml: language de


@pytest.fixture
def julies_agency(live_server):
    return agency_with_signer(
        live_server,
        national_number="88100940282",
        surname="Lemaire",
        given_name="Julie",
        login_email="julie@agence.test",
    )


@pytest.mark.parametrize("lang", ["de"])
def test_a_german_login_makes_the_whole_journey_german(live_server, browser, julies_agency, lang):
    company, person = julies_agency
    base = live_server.url
    page = browser.new_context(locale="fr-BE", accept_downloads=True).new_page()

    words.set_language("fr")  # the browser is French: so are the pages before the login
    login_eid(page, base, **JULIE)
    words.set_language("de")  # the login says German
    expect(page.locator("html")).to_have_attribute("lang", "de")
    assert Person.get_by_id(person.id).language == "de"

    row = start_procedure(page, "enregistrement")
    dossier = Dossier.select().order_by(Dossier.id.desc()).get()
    with live_server.app.app_context():
        ctx = prefill_context(company, person, person.membership_in(company.id))
        definition = definition_of(row, "de")
    fill_dossier(page, base, dossier.id, definition, CASES["enregistrement"], ctx)
    page.goto(f"{base}/dossiers/{dossier.id}")
    expect(page.locator("h1")).to_have_text(definition.title)
    sign_and_submit(page)
    dossier = Dossier.get_by_id(dossier.id)
    assert dossier.state == DossierStatus.SUBMITTED

    mails = live_server.wait_for_mail(lambda m: dossier.reference in m["Subject"])
    mail = next(m for m in mails if dossier.reference in m["Subject"])
    assert "eingereicht" in mail["Subject"] and "soumis" not in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert "Guten Tag" in body and "Bonjour" not in body
    [attachment] = list(mail.iter_attachments())
    receipt = " ".join(
        " ".join(p.extract_text().split())
        for p in PdfReader(io.BytesIO(attachment.get_content())).pages
    )
    assert "Empfangsbestätigung" in receipt and definition.title in receipt
    assert "Accusé de réception" not in receipt

    page.reload()
    with page.expect_download() as download:
        page.get_by_role("link", name=tr("Télécharger l'accusé de réception (PDF scellé)")).click()
    assert Path(download.value.path()).read_bytes() == attachment.get_content()
