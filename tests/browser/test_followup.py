"""After submission: staff move the dossier through Réceptionné, En traitement and Clôturé in the
back-office, each email arrives (the Clôture one with the sealed decision letter); the company
archives the closed dossier and deletes a draft."""

import re

from playwright.sync_api import expect

from browser.test_backoffice_journeys import staff_login
from browser.test_identity import login_eid
from browser.words import both_languages, in_any_language, tr, tr_re
from helpers import make_company, make_dossier, make_member, make_staff
from models import Dossier, DossierStatus, Role


@both_languages
def test_staff_statuses_emails_archive_and_delete(live_server, browser):
    from documents.seal import verify_seal

    company = make_company(name="Suivi SA")
    person = make_member(
        company, Role.SIGN, national_number="93051822361", given_name="Marie", surname="Dubois"
    )
    dossier = make_dossier(DossierStatus.SUBMITTED, company=company, person=person)
    draft = make_dossier(DossierStatus.DRAFT, company=company, person=person)
    agent = make_staff()
    base = live_server.url

    staff = staff_login(browser, base, agent)
    details = f"{base}/admin/dossiers/details/?id={dossier.id}"
    ref = dossier.reference
    for button, subject in (
        ("Réceptionner", "Votre dossier %(reference)s a été réceptionné"),
        ("Mettre en traitement", "Votre dossier %(reference)s est en traitement"),
    ):
        staff.goto(details)
        staff.get_by_role("button", name=tr(button)).click()
        pattern = in_any_language(subject, reference=ref)
        live_server.wait_for_mail(lambda m, p=pattern: p.fullmatch(m["Subject"]))
    staff.goto(details)
    staff.get_by_label(tr("Décision")).select_option("granted")
    staff.get_by_label(tr("Motivation")).fill("Toutes les conditions du décret sont remplies.")
    staff.get_by_role("button", name=tr("Clôturer")).click()
    closed = in_any_language("Votre dossier %(reference)s est clôturé", reference=ref)
    mails = live_server.wait_for_mail(lambda m: closed.fullmatch(m["Subject"]), timeout=30)
    closing = next(m for m in mails if closed.fullmatch(m["Subject"]))
    assert closing["To"] == person.login_email
    [letter] = list(closing.iter_attachments())
    assert verify_seal(letter.get_content()).valid
    assert re.search("Accordé|Bewilligt|Granted", closing.get_body(("plain",)).get_content())

    page = browser.new_context().new_page()
    login_eid(page, base)
    page.get_by_role("button", name=tr("Agir pour %(name)s", name="Suivi SA")).click()
    page.goto(f"{base}/dossiers/{dossier.id}")
    expect(
        page.get_by_role("link", name=tr("Télécharger le courrier de décision (PDF scellé)"))
    ).to_be_visible()
    page.get_by_role("button", name=tr("Archiver")).click()
    archived = "Le dossier est archivé : il reste consultable dans l'onglet « Archivés »."
    expect(page.get_by_text(tr(archived))).to_be_visible()
    page.goto(f"{base}/dossiers/")
    expect(page.get_by_text(dossier.reference)).to_have_count(0)
    page.get_by_role("link", name=tr("Archivés")).click()
    expect(page.get_by_text(dossier.reference)).to_be_visible()

    page.goto(f"{base}/dossiers/{draft.id}")
    page.get_by_role("link", name=tr("Supprimer le brouillon")).click()
    page.get_by_role("button", name=tr("Oui, supprimer le brouillon")).click()
    expect(page.get_by_text(tr_re("Le brouillon « %(title)s » est supprimé."))).to_be_visible()
    assert Dossier.get_or_none(Dossier.id == draft.id) is None
    assert Dossier.get_by_id(dossier.id).archived
