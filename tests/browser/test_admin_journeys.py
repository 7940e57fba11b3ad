"""Administrators' journeys in Chromium: a new procedure written in the back-office (refused at
its line, then saved, previewed and published) that a company then starts, without a deploy;
a staff account created from the page, whose owner chooses the password through the emailed
link, enrols the second factor, works, and is switched off."""

import re

import pyotp
from playwright.sync_api import expect
from test_backoffice_definitions import NEW

from browser.test_backoffice_journeys import mail_matching, plain, staff_login
from browser.test_identity import login_eid
from helpers import make_company, make_member, make_staff
from models import Dossier, ProcedureDefinition, Role, StaffRole, StaffUser

MARIE = {"national_number": "93051822361", "given_name": "Marie", "surname": "Dubois"}


def test_an_administrator_adds_a_procedure_that_a_company_starts(live_server, browser):
    company = make_company(name="Agence Nouvelle")
    make_member(company, Role.ENCODE, **MARIE)
    base = live_server.url
    page = staff_login(browser, base, make_staff(StaffRole.ADMIN), start="/admin/definitions/")
    page.get_by_role("link", name="Créer").click()
    expect(page.get_by_role("heading", name="Nouvelle procédure")).to_be_visible()
    editor = page.get_by_label("Définition (YAML)")
    assert "code: nouvelle-procedure" in editor.input_value()
    save = page.get_by_role("button", name="Vérifier et enregistrer (non publiée)")
    editor.fill(NEW.replace("reference_prefix: DST", "reference_prefix: dst"))
    save.click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("Rien n'a été enregistré")
    expect(problems).to_contain_text("ligne 4 : ")
    assert not ProcedureDefinition.select().where(ProcedureDefinition.code.startswith("decl"))

    editor.fill(NEW)
    save.click()
    expect(page).to_have_url(re.compile(r"/admin/definitions/preview/\d+$"))
    expect(page.locator(".alert-success")).to_contain_text("version 1, non publiée")
    expect(page.get_by_text("Sous-traitant", exact=True)).to_be_visible()
    page.get_by_role("link", name="Publier…").click()
    page.get_by_role("button", name="Publier").click()
    expect(page.locator(".alert-success")).to_contain_text("publiée")
    row = ProcedureDefinition.get(code="declaration-sous-traitance")
    assert row.published

    member = browser.new_context().new_page()
    login_eid(member, base)
    member.get_by_role("button", name="Agir pour Agence Nouvelle").click()
    member.goto(f"{base}/dossiers/nouveau")
    member.get_by_role("button", name="Commencer : Déclaration de sous-traitance").click()
    expect(member).to_have_url(re.compile(r"/dossiers/\d+$"))
    started = Dossier.get_by_id(int(member.url.rsplit("/", 1)[1]))
    assert started.definition_id == row.id
    member.get_by_role("link", name="Déclaration").first.click()
    expect(member.get_by_label("Sous-traitant")).to_be_visible()


def test_a_new_member_of_staff_chooses_a_password_and_is_switched_off(live_server, browser):
    base = live_server.url
    admin = staff_login(browser, base, make_staff(StaffRole.ADMIN), start="/admin/staff/")
    admin.get_by_role("link", name="Créer").click()
    admin.get_by_label("Adresse e-mail").fill("nora@guichet.test")
    admin.get_by_label("Nom complet").fill("Nora Nouvelle")
    admin.get_by_label("Rôle").select_option("agent")
    admin.get_by_role("button", name="Créer le compte").click()
    expect(admin.locator(".alert-success")).to_be_visible()
    newcomer = StaffUser.get(StaffUser.email == "nora@guichet.test")

    mail = mail_matching(live_server, lambda m: m["To"] == "nora@guichet.test", timeout=30)
    link = re.search(r"https?://\S+/admin/login/password/\S+", plain(mail)).group(0)
    page = browser.new_context().new_page()
    page.goto(link)
    page.get_by_label("Nouveau mot de passe").fill("court")
    page.get_by_label("Le même mot de passe, une seconde fois").fill("court")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page.get_by_text("12 caractères", exact=False).first).to_be_visible()
    password = "une phrase facile à retenir"
    page.get_by_label("Nouveau mot de passe").fill(password)
    page.get_by_label("Le même mot de passe, une seconde fois").fill(password)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(page).to_have_url(re.compile(r"/admin/login/"))

    page.get_by_label("Adresse e-mail").fill("nora@guichet.test")
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activer et se connecter").click()
    page.goto(f"{base}/admin/dossiers/")
    expect(page.get_by_role("heading", name="Dossiers")).to_be_visible()

    admin.goto(f"{base}/admin/staff/details/?id={newcomer.id}")
    admin.get_by_role("button", name="Désactiver le compte").click()
    expect(admin.get_by_role("button", name="Réactiver le compte")).to_be_visible()
    page.goto(f"{base}/admin/dossiers/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    assert not StaffUser.get_by_id(newcomer.id).active
