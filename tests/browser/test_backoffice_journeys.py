"""Back-office journeys in Chromium: a supervisor assigns, reopens and closes in bulk; the
helpdesk resets a professional email and the member meets the gate again; an administrator
writes, previews and publishes a new version of a shipped procedure, which only new dossiers
use."""

import re

import pyotp
from playwright.sync_api import expect

from browser.test_identity import login_eid
from browser.words import both_languages, in_any_language, tr, trn
from helpers import STAFF_PASSWORD, make_company, make_dossier, make_member, make_staff
from models import (
    Dossier,
    DossierStatus,
    Membership,
    ProcedureDefinition,
    Role,
    StaffRole,
)

MARIE = {"national_number": "93051822361", "given_name": "Marie", "surname": "Dubois"}


def staff_login(browser, base, staff, start="/admin/"):
    """A new browser context where `staff` has logged in from the page `start` (the staff
    login on the way): password, then TOTP enrolment; the page is back on `start`."""
    page = browser.new_context().new_page()
    page.goto(base + start)
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    page.get_by_label(tr("Adresse e-mail")).fill(staff.email)
    page.get_by_label(tr("Mot de passe")).fill(STAFF_PASSWORD)
    page.get_by_role("button", name=tr("Se connecter")).click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label(tr("Code à 6 chiffres")).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name=tr("Activer et se connecter")).click()
    expect(page).to_have_url(re.compile(re.escape(base + start) + "$"))
    return page


def mail_matching(live_server, predicate, timeout=20):
    return next(m for m in live_server.wait_for_mail(predicate, timeout) if predicate(m))


def plain(mail):
    return mail.get_body(("plain",)).get_content()


@both_languages
def test_supervisor_assigns_reopens_and_closes_in_bulk(live_server, browser):
    company = make_company(name="Agence Supervisée")
    person = make_member(company, Role.SIGN)
    submitted = make_dossier(DossierStatus.SUBMITTED, company=company, person=person)
    closed = make_dossier(DossierStatus.CLOSED, company=company, person=person)
    in_progress = [
        make_dossier(DossierStatus.PROCESSING, company=company, person=person) for _ in range(2)
    ]
    agent = make_staff(StaffRole.AGENT, full_name="Agathe Traitant")
    base = live_server.url
    page = staff_login(browser, base, make_staff(StaffRole.SUPERVISOR))

    page.goto(f"{base}/admin/dossiers/details/?id={submitted.id}")
    page.get_by_label(tr("Assigner à")).select_option(label="Agathe Traitant")
    page.get_by_role("button", name=tr("Assigner"), exact=True).click()
    assigned = tr(
        "Dossier %(ref)s assigné à %(name)s.", ref=submitted.reference, name="Agathe Traitant"
    )
    expect(page.get_by_text(assigned)).to_be_visible()
    assert Dossier.get_by_id(submitted.id).assigned_to_id == agent.id
    page.goto(f"{base}/admin/dossiers/")
    row = page.get_by_role("row").filter(has_text=submitted.reference)
    expect(row).to_contain_text("Agathe Traitant")

    reason = "Recours gracieux reçu le 3 mars : nouvel examen."
    page.goto(f"{base}/admin/dossiers/details/?id={closed.id}")
    page.get_by_label(tr("Raison de la réouverture")).fill(reason)
    page.get_by_role("button", name=tr("Rouvrir")).click()
    processing = tr("En traitement")
    reopened = tr("Dossier %(ref)s : %(status)s.", ref=closed.reference, status=processing)
    expect(page.get_by_text(reopened)).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text=reason)).to_contain_text(processing)
    assert Dossier.get_by_id(closed.id).state == DossierStatus.PROCESSING

    subject = in_any_language(
        "Votre dossier %(reference)s est en traitement", reference=closed.reference
    )

    def reopening(m):  # the setup's own "en traitement" email has no reason in it
        return subject.fullmatch(m["Subject"]) and reason in plain(m)

    assert mail_matching(live_server, reopening)["To"] == person.login_email

    # Bulk: tick two rows, "With selected" (translated by Flask-Admin) → "Clôturer…".
    page.goto(f"{base}/admin/dossiers/")
    for dossier in in_progress:
        row = page.get_by_role("row").filter(has_text=dossier.reference)
        row.locator("input.action-checkbox").check()
    page.get_by_role(
        "button", name=re.compile("With selected|Avec la sélection|Mit Auswahl")
    ).click()
    page.get_by_role("button", name=tr("Clôturer…")).click()
    heading = tr("Clôturer") + " — " + trn("%(num)d dossier", "%(num)d dossiers", 2)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    page.get_by_label(tr("Décision")).select_option("granted")
    page.get_by_label(tr("Motivation")).fill("Les conditions du décret sont remplies.")
    page.get_by_role("button", name=tr("Clôturer")).click()
    expect(page.get_by_role("status")).to_contain_text(trn("%(num)d fait", "%(num)d faits", 2))
    expect(page.get_by_role("status").locator(".badge-danger")).to_have_count(0)
    for dossier in in_progress:
        done = Dossier.get_by_id(dossier.id)
        assert done.state == DossierStatus.CLOSED and done.decision == "granted"


def test_helpdesk_reset_brings_the_member_back_to_the_gate(live_server, browser):
    company = make_company(name="Agence Réinitialisée")
    person = make_member(company, Role.SIGN, email="marie.ancienne@agence.test", **MARIE)
    membership = person.membership_in(company.id)
    base = live_server.url

    staff = staff_login(browser, base, make_staff(StaffRole.HELPDESK))
    staff.goto(f"{base}/admin/memberships/")
    search = staff.get_by_placeholder("Personne, entreprise, ou leur numéro")
    search.fill("Réinitialisée")
    search.press("Enter")
    row = staff.get_by_role("row").filter(has_text="Marie Dubois")
    expect(row).to_contain_text("marie.ancienne@agence.test")
    row.get_by_title(re.compile("View Record|Afficher")).click()  # the eye icon
    staff.get_by_role("link", name="Réinitialiser l'adresse e-mail professionnelle").click()
    expect(staff.get_by_text("L'adresse actuelle (marie.ancienne@agence.test)")).to_be_visible()
    staff.get_by_role("button", name="Réinitialiser l'adresse").click()
    expect(
        staff.get_by_text(
            "Adresse professionnelle de Marie Dubois chez Agence Réinitialisée réinitialisée"
        )
    ).to_be_visible()
    reset = Membership.get_by_id(membership.id)
    assert reset.professional_email is None and reset.professional_email_verified_at is None
    notice = mail_matching(
        live_server, lambda m: m["To"] == "marie.ancienne@agence.test" and "accès" in m["Subject"]
    )
    assert "réinitialisée" in plain(notice)

    page = browser.new_context().new_page()
    login_eid(page, base)
    page.get_by_role("button", name="Agir pour Agence Réinitialisée").click()
    expect(page).to_have_url(re.compile(r"/entreprise/email/$"))
    address = page.get_by_label("Adresse e-mail professionnelle")
    expect(address).to_have_value("")
    page.goto(f"{base}/dossiers/")  # the company space stays closed until validation
    expect(page).to_have_url(re.compile(r"/entreprise/email/$"))

    new_address = "marie.nouvelle@agence.test"
    address.fill(new_address)
    page.get_by_role("button", name="Envoyer le code de validation").click()
    expect(page.get_by_label("Code de validation (6 chiffres)")).to_be_visible()
    validation = mail_matching(
        live_server, lambda m: m["To"] == new_address and "Validez" in m["Subject"]
    )
    link = re.search(r"https?://\S+/entreprise/email/valider/\S+", plain(validation)).group(0)
    page.goto(link)  # the link of the email, opened in the member's browser
    expect(page.get_by_text("Votre adresse e-mail professionnelle est validée")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/dossiers/$"))
    expect(page.get_by_role("link", name="Nouvelle démarche")).to_be_visible()
    assert Membership.get_by_id(membership.id).notification_email == new_address


def line_of(source, fragment):
    return next(n for n, line in enumerate(source.splitlines(), start=1) if fragment in line)


def test_admin_publishes_a_new_version_used_by_new_dossiers_only(live_server, browser):
    from procedures import sync_builtin

    sync_builtin()
    old_row = ProcedureDefinition.latest_published("enregistrement")
    after = old_row.version + 1
    old_label, new_label = "Personne de contact (nom et prénom)", "Interlocuteur désigné (v2)"
    company = make_company(name="Agence Versionnée")
    person = make_member(company, Role.ENCODE, **MARIE)  # start_role: encode
    base = live_server.url

    page = staff_login(browser, base, make_staff(StaffRole.ADMIN))
    page.goto(f"{base}/admin/definitions/")
    row = page.get_by_role("row").filter(has_text=old_row.title)
    row.get_by_title("Nouvelle version").click()  # an icon link, named by its title
    expect(
        page.get_by_role("heading", name=f"Nouvelle version de « {old_row.title} »")
    ).to_be_visible()
    editor = page.get_by_label("Définition (YAML)")
    source = editor.input_value()
    assert f"version: {after}" in source and old_label in source

    contact = "      - key: contact_name\n        type: text\n"
    assert contact in source
    bad = source.replace(contact, contact.replace("type: text", "type: texte"))
    editor.fill(bad)
    save = page.get_by_role("button", name="Vérifier et enregistrer (non publiée)")
    save.click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("Rien n'a été enregistré")
    expect(problems).to_contain_text(f"ligne {line_of(bad, 'type: texte')} : ")
    expect(problems).to_contain_text("type de champ inconnu « texte »")
    expect(editor).to_have_value(bad)
    assert (
        ProcedureDefinition.select().where(ProcedureDefinition.code == "enregistrement").count()
        == 1
    )

    editor.fill(source.replace(f"fr: {old_label}", f"fr: {new_label}"))
    save.click()
    expect(page).to_have_url(re.compile(r"/admin/definitions/preview/\d+$"))
    new_row = ProcedureDefinition.get(code="enregistrement", version=after)
    assert not new_row.published
    expect(page.locator("#field-contact_name")).to_contain_text(new_label)
    expect(page.get_by_text("non publiée", exact=True)).to_be_visible()

    old_dossier = make_dossier(definition=old_row, company=company, person=person)
    page.get_by_role("link", name="Publier…").click()
    expect(page.get_by_text("Les dossiers déjà commencés gardent la version")).to_be_visible()
    page.get_by_role("button", name="Publier").click()
    expect(page.locator(".alert-success")).to_contain_text("publiée : les nouveaux dossiers")
    assert ProcedureDefinition.get_by_id(new_row.id).published
    assert ProcedureDefinition.latest_published("enregistrement").id == new_row.id
    assert Dossier.get_by_id(old_dossier.id).definition_id == old_row.id

    member = browser.new_context().new_page()
    login_eid(member, base)
    member.get_by_role("button", name="Agir pour Agence Versionnée").click()
    member.goto(f"{base}/dossiers/{old_dossier.id}/section/applicant")
    expect(member.get_by_label(old_label)).to_be_visible()
    expect(member.get_by_text(new_label)).to_have_count(0)

    member.goto(f"{base}/dossiers/")
    member.get_by_role("link", name="Nouvelle démarche").click()
    member.get_by_role("button", name=f"Commencer : {old_row.title}").click()
    expect(member).to_have_url(re.compile(r"/dossiers/\d+$"))
    started = Dossier.get_by_id(int(member.url.rsplit("/", 1)[1]))
    assert started.id != old_dossier.id
    assert started.definition_id == new_row.id and started.definition.version == after
    member.get_by_role("link", name="Demandeur et personne de contact").click()
    expect(member.get_by_label(new_label)).to_be_visible()
    expect(member.get_by_text(old_label)).to_have_count(0)


def test_date_filter_picker_speaks_french(live_server, browser):
    make_dossier(DossierStatus.SUBMITTED)
    page = staff_login(browser, live_server.url, make_staff(StaffRole.AGENT))
    page.goto(live_server.url + "/admin/dossiers/")
    page.get_by_role("button", name="Ajouter un filtre").click()
    page.locator(".field-filters").get_by_text("Soumis entre").click()
    page.locator("input.filter-val").last.click()
    picker = page.locator(".daterangepicker").last
    expect(picker).to_contain_text("Appliquer")
    expect(picker).to_contain_text("lu")
    expect(picker).not_to_contain_text("Apply")
