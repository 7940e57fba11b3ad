"""The staff side of the spine: login, access by role, the dossier list and the transitions."""

import pytest

from helpers import (
    csrf_from,
    login_person,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_staff,
    text,
)
from models import AuditEvent, Dossier, DossierStatus, OutboxMessage, StaffRole, StaffUser

ADMIN_URLS = ["/admin/", "/admin/dossiers/", "/admin/dossiers/details/?id=1"]


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_anonymous_is_sent_to_staff_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/admin/login/" in response.headers["Location"]


@pytest.mark.parametrize("url", ADMIN_URLS)
def test_company_user_never_reaches_admin(app, client, url):
    make_dossier(DossierStatus.SUBMITTED)
    person = make_member(make_company())
    login_person(client, person)
    response = client.get(url)
    assert response.status_code == 302
    assert "/admin/login/" in response.headers["Location"]


@pytest.mark.parametrize("role", [StaffRole.HELPDESK, StaffRole.ADMIN])
def test_staff_without_processing_role_gets_403_on_dossiers(app, client, role):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    login_staff(client, make_staff(role))
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/dossiers/").status_code == 403
    assert client.get(f"/admin/dossiers/details/?id={dossier.id}").status_code == 403


def test_login_wrong_password_then_lockout(app, client):
    staff = make_staff()
    for _ in range(5):
        page = login_staff(client, staff, password="wrong")
        assert "incorrect" in page.text
    locked = login_staff(client, staff)
    assert "bloqué" in locked.text
    assert client.get("/admin/dossiers/").status_code == 302
    assert StaffUser.get_by_id(staff.id).locked_until is not None


def test_login_is_audited(app, client):
    staff = make_staff()
    response = login_staff(client, staff)
    assert response.status_code == 302
    assert (
        AuditEvent.select()
        .where(AuditEvent.action == "staff.login", AuditEvent.actor_staff == staff)
        .exists()
    )


def test_list_shows_submitted_dossiers_never_drafts(app, client):
    company = make_company(name="Agence Test")
    draft = make_dossier(DossierStatus.DRAFT, company=company)
    complete = make_dossier(DossierStatus.COMPLETE, company=company)
    submitted = make_dossier(DossierStatus.SUBMITTED, company=company)
    login_staff(client, make_staff())
    page = client.get("/admin/dossiers/")
    assert page.status_code == 200
    assert submitted.reference in page.text
    assert f"id={draft.id}" not in page.text and f"id={complete.id}" not in page.text
    assert client.get(f"/admin/dossiers/details/?id={draft.id}").status_code == 302


def test_search_and_filter(app, client):
    a = make_dossier(DossierStatus.SUBMITTED, company=make_company(name="Alpha Intérim"))
    b = make_dossier(DossierStatus.RECEIVED, company=make_company(name="Beta Placement"))
    login_staff(client, make_staff())
    found = client.get("/admin/dossiers/?search=Alpha").text
    assert a.reference in found and b.reference not in found
    by_ref = client.get(f"/admin/dossiers/?search={b.reference}").text
    assert b.reference in by_ref and a.reference not in by_ref


def test_detail_and_transitions_through_the_form(app, client):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    agent = make_staff()
    login_staff(client, agent)
    url = f"/admin/dossiers/details/?id={dossier.id}"
    for to, extra in (
        ("received", {}),
        ("processing", {}),
        ("closed", {"decision": "granted", "comment": "Conditions remplies."}),
    ):
        page = client.get(url)
        assert page.status_code == 200
        response = client.post(
            f"/admin/dossiers/transition/{dossier.id}",
            data={"to": to, "csrf_token": csrf_from(page.text), **extra},
        )
        assert response.status_code == 302
        assert Dossier.get_by_id(dossier.id).status == to
    closed = Dossier.get_by_id(dossier.id)
    assert closed.decision == "granted"
    events = [m.event for m in OutboxMessage.select().where(OutboxMessage.dossier == dossier)]
    assert events.count("received") == 1 and events.count("closed") == 1
    audits = AuditEvent.select().where(AuditEvent.action == "dossier.transition")
    assert audits.count() == 3


def test_transition_not_allowed_changes_nothing(app, client):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    login_staff(client, make_staff())
    page = client.get(f"/admin/dossiers/details/?id={dossier.id}")
    response = client.post(
        f"/admin/dossiers/transition/{dossier.id}",
        data={"to": "closed", "decision": "granted", "csrf_token": csrf_from(page.text)},
        follow_redirects=True,
    )
    assert "Action refusée" in response.text
    assert Dossier.get_by_id(dossier.id).status == "submitted"


def test_close_without_decision_is_refused(app, client):
    dossier = make_dossier(DossierStatus.PROCESSING)
    login_staff(client, make_staff())
    page = client.get(f"/admin/dossiers/details/?id={dossier.id}")
    response = client.post(
        f"/admin/dossiers/transition/{dossier.id}",
        data={"to": "closed", "decision": "", "csrf_token": csrf_from(page.text)},
        follow_redirects=True,
    )
    assert "Action refusée" in response.text
    assert Dossier.get_by_id(dossier.id).status == "processing"


def test_post_without_csrf_token_is_400(app, client):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    login_staff(client, make_staff())
    response = client.post(f"/admin/dossiers/transition/{dossier.id}", data={"to": "received"})
    assert response.status_code == 400
    assert Dossier.get_by_id(dossier.id).status == "submitted"


def test_bulk_action_over_mixed_statuses(app, client):
    ready = [make_dossier(DossierStatus.SUBMITTED) for _ in range(2)]
    already = make_dossier(DossierStatus.PROCESSING)
    login_staff(client, make_staff())
    page = client.get("/admin/dossiers/")
    response = client.post(
        "/admin/dossiers/action/",
        data={
            "action": "receive",
            "rowid": [str(d.id) for d in [*ready, already]],
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert all(Dossier.get_by_id(d.id).status == "received" for d in ready)
    assert Dossier.get_by_id(already.id).status == "processing"
    assert already.reference in response.text and "Refusé" in response.text


def test_script_in_company_name_is_escaped(app, client):
    dossier = make_dossier(
        DossierStatus.SUBMITTED, company=make_company(name="<script>alert(1)</script>")
    )
    login_staff(client, make_staff())
    for url in ("/admin/dossiers/", f"/admin/dossiers/details/?id={dossier.id}"):
        page = client.get(url).text
        assert "<script>alert(1)</script>" not in page
        assert "&lt;script&gt;" in page


def test_staff_logout(app, client):
    login_staff(client, make_staff())
    page = client.get("/admin/")
    client.post("/admin/logout/", data={"csrf_token": csrf_from(page.text)})
    assert client.get("/admin/dossiers/").status_code == 302


def test_script_in_answers_file_names_and_messages_is_escaped_pages_and_emails(app, client):
    import notifications
    from models import Annex

    company = make_company(name="Agence <script>alert(1)</script>")
    person = make_member(company)
    dossier = make_dossier(DossierStatus.RECEIVED, company=company, person=person)
    Dossier.update(answers={"note": "<script>alert(2)</script>"}).where(
        Dossier.id == dossier.id
    ).execute()
    Annex.create(
        dossier=dossier,
        requirement="statutes",
        original_name="<script>alert(3)</script>.pdf",
        storage_key="k",
        sha256="0" * 64,
        size=1,
        pages=1,
        uploaded_by=person,
        scan_status="clean",
    )
    login_staff(client, make_staff())
    url = f"/admin/dossiers/details/?id={dossier.id}"
    token = csrf_from(client.get(url).text)
    client.post(
        f"/admin/dossiers/complement/{dossier.id}",
        data={"csrf_token": token, "body": "<script>alert(4)</script>", "annexes": "<b>x</b>"},
    )
    client.post(
        f"/admin/dossiers/transition/{dossier.id}", data={"csrf_token": token, "to": "processing"}
    )
    result = client.post(
        "/admin/dossiers/bulk/close",
        data={
            "csrf_token": token,
            "rowid": [str(dossier.id)],
            "decision": "refused",
            "comment": "<script>alert(5)</script>",
        },
    )
    assert Dossier.get_by_id(dossier.id).status == "closed"
    pages = [client.get(url).text, result.text, client.get("/admin/dossiers/").text]
    for page in pages:
        assert "<script>alert" not in page and "<b>x</b>" not in page
    assert all(f"&lt;script&gt;alert({n})" in pages[0] for n in (1, 2, 3, 4, 5))
    emails = list(OutboxMessage.select().where(OutboxMessage.dossier == dossier))
    assert {m.event for m in emails} >= {"complement", "processing", "closed"}
    with app.test_request_context():
        html = {m.event: notifications.render(m)[2] for m in emails}
    for body in html.values():
        assert "<script>" not in body and "<b>x</b>" not in body
    assert "&lt;script&gt;alert(5)" in html["closed"]
    assert "&lt;script&gt;alert(4)" in html["complement"]


def test_detail_shows_choices_sourced_options_and_annex_kinds_by_their_labels(app, client):
    import procedures
    from models import Annex

    registration = next(d for d in procedures.sync_builtin() if d.code == "enregistrement")
    company = make_company(
        register_data={
            "establishments": [
                {
                    "number": "2123456789",
                    "name": "Siège de Namur",
                    "address": {"zipcode": "5000", "municipality": "Namur", "street": "Rue de Fer"},
                }
            ]
        }
    )
    person = make_member(company)
    dossier = make_dossier(
        DossierStatus.SUBMITTED, company=company, person=person, definition=registration
    )
    answers = {
        "person_type": "legal",
        "established": "belgium",
        "services": ["job_search", "artists"],
        "collects_fees": True,
        "fee_basis": "percentage",
        "fee_percentage": "12.5",
        "walloon_units": ["2123456789"],
    }
    Dossier.update(answers=answers).where(Dossier.id == dossier.id).execute()
    for requirement in ("statutes", "complement"):
        Annex.create(
            dossier=dossier,
            requirement=requirement,
            original_name=f"{requirement}.pdf",
            storage_key=requirement,
            sha256="0" * 64,
            size=1,
            pages=1,
            uploaded_by=person,
            scan_status="clean",
        )
    login_staff(client, make_staff())
    page = text(client.get(f"/admin/dossiers/details/?id={dossier.id}"))
    for shown in (
        "une personne morale (société, association)",
        "En Belgique",
        "Recherche d'emploi\nPlacement d'artistes de spectacle",
        "12,5 %",
        "2.123.456.789 — Siège de Namur",
        "— Statuts, 1 page(s)",
        "— Complément, 1 page(s)",
    ):
        assert shown in page, shown
    for key in ("legal", "belgium", "job_search", "2123456789", "— statutes", "— complement"):
        assert key not in page, key
