"""Every URL under /admin, read off the app's own URL map so that a new view is covered the day
it is added: anonymous visitors and company users are sent to the staff login on each (list,
detail, action, export, ajax, custom pages), staff without a processing role get 403 on every
dossier URL, and nobody deletes, creates or edits a dossier."""

import re

import pytest

from helpers import (
    csrf_from,
    login_person,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_staff,
)
from models import AuditEvent, Dossier, DossierStatus, StaffRole

OPEN = {
    "admin.login",
    "admin.login_code",
    "admin.login_enrol",
    "admin.login_password",
    "admin.logout",
    "admin.static",
    "backoffice.static",
}
SAMPLE = {"code": "enregistrement", "kind": "close", "export_type": "csv"}


def admin_requests(app):
    """(method, url) for every /admin route, its placeholders filled with existing-looking ids."""
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint in OPEN:
            continue
        url = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: SAMPLE.get(m.group(1), "1"), rule.rule)
        if rule.endpoint.endswith((".details_view", ".edit_view", ".delete_view")):
            url += "?id=1"
        if rule.endpoint.endswith(".ajax_lookup"):
            url += "?name=company&query=a"
        for method in sorted(rule.methods & {"GET", "POST"}):
            out.append((method, url))
        if rule.endpoint.endswith(".background_export"):
            out.append(("POST", url.replace("/csv/", "/xlsx/")))
    return out


def refused(client, token):
    """The requests that were not sent to the staff login."""
    wrong = []
    for method, url in admin_requests(client.application):
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token, "rowid": ["1"], "id": "1"})
        location = response.headers.get("Location", "")
        if not (response.status_code == 302 and "/admin/login/" in location):
            wrong.append((method, url, response.status_code))
    return wrong


def test_the_map_covers_lists_details_actions_exports_and_ajax(app):
    urls = {url for _method, url in admin_requests(app)}
    for expected in (
        "/admin/",
        "/admin/dossiers/",
        "/admin/dossiers/details/?id=1",
        "/admin/dossiers/action/",
        "/admin/dossiers/export-background/csv/",
        "/admin/dossiers/export-background/xlsx/",
        "/admin/dossiers/ajax/lookup/?name=company&query=a",
        "/admin/dossiers/bulk/close",
        "/admin/dossiers/bundle/1",
        "/admin/memberships/reset-email/1",
        "/admin/definitions/publish/1",
    ):
        assert expected in urls


def test_anonymous_visitor_is_sent_to_the_staff_login_everywhere(app, client):
    make_dossier(DossierStatus.SUBMITTED)
    token = csrf_from(client.get("/admin/login/").text)
    assert refused(client, token) == []
    assert Dossier.select().count() == 1


def test_company_user_is_sent_to_the_staff_login_everywhere(app, client):
    company = make_company()
    person = make_member(company)
    make_dossier(DossierStatus.SUBMITTED, company=company, person=person)
    login_person(client, person, company)
    assert client.get("/").status_code == 200  # logged in on the portal side
    token = csrf_from(client.get("/admin/login/").text)
    assert refused(client, token) == []
    assert Dossier.get_by_id(1).status == "submitted"


@pytest.mark.parametrize("role", [StaffRole.HELPDESK, StaffRole.ADMIN])
def test_no_dossier_url_for_staff_without_a_processing_role(app, client, role):
    make_dossier(DossierStatus.RECEIVED)
    login_staff(client, make_staff(role))
    token = csrf_from(client.get("/admin/companies/").text)
    for method, url in admin_requests(app):
        if not url.startswith("/admin/dossiers/"):
            continue
        data = {"csrf_token": token, "rowid": ["1"], "to": "processing", "body": "x"}
        response = client.get(url) if method == "GET" else client.post(url, data=data)
        assert response.status_code == 403, (method, url)
        denial = AuditEvent.select().order_by(AuditEvent.id.desc()).first()
        assert denial.action == "access.denied" and denial.actor_staff_id is not None, url
        assert denial.details == {"reason": "role", "path": url.split("?")[0]}
    assert Dossier.get_by_id(1).status == "received"


def test_dossiers_are_never_created_edited_or_deleted_by_staff(app, client):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    login_staff(client, make_staff(StaffRole.SUPERVISOR))
    token = csrf_from(client.get("/admin/dossiers/").text)
    page = client.get("/admin/dossiers/").text
    assert "/admin/dossiers/new/" not in page and "/admin/dossiers/edit/" not in page
    client.post("/admin/dossiers/delete/", data={"csrf_token": token, "id": dossier.id})
    client.post(
        "/admin/dossiers/action/",
        data={"csrf_token": token, "action": "delete", "rowid": [str(dossier.id)]},
    )
    client.post(
        f"/admin/dossiers/edit/?id={dossier.id}",
        data={"csrf_token": token, "status": "closed", "reference": "X"},
    )
    client.post("/admin/dossiers/new/", data={"csrf_token": token, "reference": "NEW"})
    after = Dossier.get_by_id(dossier.id)
    assert (after.status, after.reference) == ("submitted", dossier.reference)
    assert Dossier.select().count() == 1


@pytest.mark.parametrize(
    ("role", "url", "code", "title"),
    [
        (StaffRole.AGENT, "/admin/persons/", 403, "Accès refusé"),
        (StaffRole.AGENT, "/admin/dossiers/receipt/999", 404, "Page introuvable"),
        (StaffRole.ADMIN, "/admin/definitions/preview/999", 404, "Page introuvable"),
        (StaffRole.HELPDESK, "/admin/memberships/reset-email/999", 404, "Page introuvable"),
    ],
)
def test_error_pages_are_french_inside_the_back_office(app, client, role, url, code, title):
    login_staff(client, make_staff(role))
    response = client.get(url)
    assert response.status_code == code
    page = response.get_data(as_text=True)
    assert f'<h1 class="h3">{title}</h1>' in page
    assert "Tableau de bord" in page and "Se déconnecter" in page  # the back-office layout
    assert "Not Found" not in page and "Forbidden" not in page


def test_portal_errors_keep_the_portal_page(client):
    response = client.get("/dossiers/999999")
    assert response.status_code in (302, 404)
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and "Guichet — back-office" not in missing.text


def test_a_post_without_the_csrf_token_gets_the_french_page_of_the_back_office(app, client):
    login_staff(client, make_staff(StaffRole.AGENT))
    dossier = make_dossier(DossierStatus.SUBMITTED)
    response = client.post(f"/admin/dossiers/transition/{dossier.id}", data={"to": "received"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<h1 class="h3">Formulaire expiré</h1>' in page
    assert "Rechargez la page" in page and "Se déconnecter" in page
    assert "CSRF" not in page
