"""Each procedure filled in a browser from a new dossier to Complet; one without JavaScript."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from browser.filler import fill_dossier
from browser.harness import shoot
from browser.test_identity import login_eid
from browser.words import tr, tr_re
from helpers import make_member
from models import Company, Dossier, DossierStatus, Person, ProcedureDefinition, Role
from procedures import definition_of, sync_builtin
from procedures.prefill import context as prefill_context

PERSONS = [
    {
        "surname": "Dubois",
        "given_name": "Marie",
        "national_number": "93.05.18-223.61",
        "function": "Gérante",
    }
]
CASES = {
    "enregistrement": {
        "services": ["job_search", "outplacement"],
        "collects_fees": True,
        "fee_basis": "amount",
        "fee_amount": "150",
        "persons_in_charge": PERSONS,
        "walloon_units": ["2279194053"],
        "fee_conditions": "Conditions générales jointes.",
    },
    "agrement-interim": {
        "activities": ["general", "construction"],
        "management_years": "5",
        "has_master": False,
        "persons_in_charge": PERSONS,
    },
    "rapport-activites": {
        "services": [
            {
                "service": "job_search",
                "received": "10",
                "placed": "4",
                "received_women": "5",
                "received_men": "5",
                "received_x": "0",
                "received_under_25": "2",
                "received_25_49": "6",
                "received_50_plus": "2",
                "placed_women": "2",
                "placed_men": "2",
                "placed_x": "0",
                "placed_under_25": "1",
                "placed_25_49": "2",
                "placed_50_plus": "1",
                "on_file": "3",
                "on_file_women": "1",
                "on_file_men": "2",
                "on_file_x": "0",
                "on_file_under_25": "0",
                "on_file_25_49": "2",
                "on_file_50_plus": "1",
                "client_employers": "2",
                "turnover": "1000",
            }
        ],
        "has_changes": False,
    },
}


def agency_with_signer(live_server, **person):
    """The sample register's Agence Intérim Liège, with `person` (a stand-in FAS identity)
    holding Signature there."""
    import sources

    with live_server.app.app_context():
        sources.load_sample_if_empty()
        sync_builtin()
        record = sources.company_register().lookup("0566988259")
        company = Company.from_register(record)
    signer = Person.create(**person)
    make_member(company, Role.SIGN, person=signer)
    return company, signer


@pytest.fixture
def agency(live_server):
    return agency_with_signer(
        live_server,
        national_number="93051822361",
        surname="Dubois",
        given_name="Marie",
        login_email="marie@agence.test",
    )


def start_procedure(page, code):
    """Act for the agency, then start procedure `code` from "Nouvelle démarche"."""
    page.get_by_role("button", name=tr("Agir pour %(name)s", name="Agence Intérim Liège")).click()
    page.get_by_role("link", name=tr("Nouvelle démarche")).click()
    row = ProcedureDefinition.latest_published(code)
    page.locator(f"form[action$='/nouveau/{code}']").get_by_role("button").click()
    return row


@pytest.mark.parametrize(
    "code, javascript, lang",
    [
        ("enregistrement", True, "fr"),
        ("agrement-interim", True, "fr"),
        ("rapport-activites", True, "fr"),
        ("enregistrement", False, "fr"),
        ("agrement-interim", True, "de"),
        ("enregistrement", False, "de"),
    ],
    ids=[
        "enregistrement",
        "agrement",
        "rapport",
        "enregistrement-no-js",
        "agrement-de",
        "no-js-de",
    ],
)
def test_fill_to_complete(live_server, browser, agency, code, javascript, lang):
    company, person = agency
    base = live_server.url
    page = browser.new_context(java_script_enabled=javascript).new_page()
    login_eid(page, base)
    row = start_procedure(page, code)
    dossier = Dossier.select().order_by(Dossier.id.desc()).get()
    definition = definition_of(row)
    membership = person.membership_in(company.id)
    with live_server.app.app_context():
        ctx = prefill_context(company, person, membership)
    fill_dossier(page, base, dossier.id, definition, CASES[code], ctx)
    page.goto(f"{base}/dossiers/{dossier.id}/verifier")
    complete = (
        "Le dossier est complet. Il peut être signé et soumis par une personne ayant le rôle "
        "Signature."
    )
    expect(page.get_by_text(tr(complete))).to_be_visible()
    shoot(page, "verifier")
    assert Dossier.get_by_id(dossier.id).status == DossierStatus.COMPLETE.value


def test_fields_show_and_hide_live(live_server, browser, agency):
    base = live_server.url
    page = browser.new_context().new_page()
    login_eid(page, base)
    start_procedure(page, "enregistrement")
    dossier = Dossier.select().order_by(Dossier.id.desc()).get()
    page.goto(f"{base}/dossiers/{dossier.id}/section/placement_services")
    page.locator("[name='services'][value='job_search']").check()
    page.get_by_role("button", name=tr("Enregistrer et continuer")).click()
    expect(page).to_have_url(f"{base}/dossiers/{dossier.id}/section/fees")
    amount = page.locator("[name='fee_amount']")
    percentage = page.locator("[name='fee_percentage']")
    expect(page.locator("[name='fee_basis']").first).to_be_hidden()
    page.locator("[name='collects_fees'][value='true']").check()
    expect(page.locator("[name='fee_basis']").first).to_be_visible()
    expect(amount).to_be_hidden()
    page.locator("[name='fee_basis'][value='amount']").check()
    expect(amount).to_be_visible()
    expect(percentage).to_be_hidden()
    page.locator("[name='fee_basis'][value='percentage']").check()
    expect(percentage).to_be_visible()
    expect(amount).to_be_hidden()
    percentage.fill("12")
    page.get_by_role("button", name=tr("Enregistrer et continuer")).click()
    answers = Dossier.get_by_id(dossier.id).answers
    assert answers["fee_basis"] == "percentage" and answers["fee_percentage"] == "12"
    assert "fee_amount" not in answers


def sign_and_submit(page):
    page.get_by_role("link", name=tr("Signer et soumettre")).click()
    page.locator("[name='declaration']").check()
    page.get_by_role("button", name=tr("Signer et soumettre")).click()
    signed = tr_re(
        "Votre dossier est signé et soumis sous la référence %(ref)s. L'accusé de réception "
        "scellé vous est envoyé par e-mail et reste disponible ici."
    )
    expect(page.get_by_text(signed)).to_be_visible()


@pytest.mark.parametrize(
    "code, lang",
    [
        ("enregistrement", "fr"),
        ("agrement-interim", "fr"),
        ("rapport-activites", "fr"),
        ("enregistrement", "de"),
    ],
)
def test_sign_submit_and_receipt(live_server, browser, agency, code, lang):
    from documents.seal import verify_seal

    company, person = agency
    base = live_server.url
    page = browser.new_context(accept_downloads=True).new_page()
    login_eid(page, base)
    row = start_procedure(page, code)
    dossier = Dossier.select().order_by(Dossier.id.desc()).get()
    with live_server.app.app_context():
        ctx = prefill_context(company, person, person.membership_in(company.id))
    fill_dossier(page, base, dossier.id, definition_of(row), CASES[code], ctx)
    page.goto(f"{base}/dossiers/{dossier.id}")
    sign_and_submit(page)
    shoot(page, "soumis")
    dossier = Dossier.get_by_id(dossier.id)
    assert dossier.state == DossierStatus.SUBMITTED and dossier.reference

    mails = live_server.wait_for_mail(lambda m: dossier.reference in m["Subject"])
    mail = next(m for m in mails if dossier.reference in m["Subject"])
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    status = verify_seal(attachment.get_content())
    assert status.intact and status.valid

    page.reload()
    with page.expect_download() as download:
        page.get_by_role("link", name=tr("Télécharger l'accusé de réception (PDF scellé)")).click()
    data = Path(download.value.path()).read_bytes()
    assert verify_seal(data).valid
