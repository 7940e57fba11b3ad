"""Smoke journey: portal home → Mes dossiers → /admin list → an action → the email arrives."""

import re

from playwright.sync_api import expect

from browser.harness import shoot
from browser.test_backoffice_journeys import staff_login
from browser.test_identity import login_eid
from helpers import make_company, make_dossier, make_member, make_staff
from models import Dossier, DossierStatus, Role


def test_portal_to_backoffice_smoke(live_server, page, browser):
    company = make_company(name="Agence Fumée")
    person = make_member(
        company, Role.SIGN, national_number="93051822361", given_name="Marie", surname="Dubois"
    )
    dossier = make_dossier(DossierStatus.SUBMITTED, company=company, person=person)
    agent = make_staff()
    base = live_server.url

    page.goto(base + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon espace entreprise")
    shoot(page, "accueil")
    login_eid(page, base)
    page.get_by_role("button", name="Agir pour Agence Fumée").click()
    expect(page).to_have_url(re.compile(r"/dossiers/$"))
    expect(page.get_by_role("cell", name=dossier.reference)).to_be_visible()
    expect(page.get_by_text("Visible par l'administration")).to_be_visible()
    shoot(page, "mes-dossiers", docs=True)

    # the list asked, the login on the way, then back on the list
    staff_page = staff_login(browser, base, agent, start="/admin/dossiers/")
    expect(staff_page.get_by_text(dossier.reference)).to_be_visible()
    shoot(staff_page, "backoffice-dossiers", docs=True)
    staff_page.goto(f"{base}/admin/dossiers/details/?id={dossier.id}")
    staff_page.get_by_role("button", name="Réceptionner").click()
    expect(staff_page.get_by_text("Réceptionné").first).to_be_visible()
    assert Dossier.get_by_id(dossier.id).status == DossierStatus.RECEIVED.value

    messages = live_server.wait_for_mail(lambda m: "réceptionné" in m["Subject"])
    received = [m for m in messages if "réceptionné" in m["Subject"]]
    assert [m["To"] for m in received] == [person.login_email]
    assert dossier.reference in received[0]["Subject"]

    page.goto(f"{base}/dossiers/{dossier.id}")
    expect(page.get_by_text("Réceptionné").first).to_be_visible()
