"""Processing in the back-office: detail with answers and files, assignment, complements,
reopening, filters and search, exports and the one-PDF bundle."""

import io

import pytest
from pypdf import PdfReader
from test_pdf_check import blank_pdf

from helpers import (
    csrf_from,
    exported_file,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_staff,
    text,
)
from models import (
    Annex,
    AuditEvent,
    Dossier,
    DossierStatus,
    Message,
    OutboxMessage,
    StaffRole,
)


@pytest.fixture
def agent(app, client):
    staff = make_staff(StaffRole.AGENT)
    login_staff(client, staff)
    return staff


def detail(client, dossier):
    return client.get(f"/admin/dossiers/details/?id={dossier.id}")


def with_annex(app, dossier, pages=2):
    import storage

    data = blank_pdf(pages)
    with app.app_context():
        key = storage.get_storage().put(data)
    return Annex.create(
        dossier=dossier,
        requirement="statutes",
        original_name="statuts.pdf",
        storage_key=key,
        sha256=storage.sha256_of(data),
        size=len(data),
        pages=pages,
        uploaded_by=dossier.created_by,
        frozen=True,
        scan_status="clean",
    )


def test_detail_renders_answers_and_annexes(agent, client, app):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    Dossier.update(answers={"note": "Réponse <b>importante</b>"}).where(
        Dossier.id == dossier.id
    ).execute()
    annex = with_annex(app, dossier)
    page = detail(client, dossier).get_data(as_text=True)
    assert "Remarque" in page and "Réponse &lt;b&gt;importante&lt;/b&gt;" in page
    assert "statuts.pdf" in page
    response = client.get(f"/admin/dossiers/annex/{dossier.id}/{annex.id}")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert AuditEvent.select().where(AuditEvent.action == "dossier.annex_download").exists()
    shown = client.get(f"/admin/dossiers/annex/{dossier.id}/{annex.id}?voir=1")
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert shown.headers["Content-Security-Policy"].startswith("sandbox")
    assert AuditEvent.select().where(AuditEvent.action == "dossier.annex_view").exists()
    other = make_dossier(DossierStatus.SUBMITTED)
    assert client.get(f"/admin/dossiers/annex/{other.id}/{annex.id}").status_code == 404


def test_closed_dossier_offers_its_decision_letter(agent, client, app):
    from dossiers.documents import produce_letter
    from models import Document

    dossier = make_dossier(DossierStatus.CLOSED)
    assert "Courrier de décision" not in text(detail(client, dossier))
    with app.app_context():
        produce_letter(dossier.id)
    assert Document.latest(dossier, Document.DECISION_LETTER) is not None
    assert "Courrier de décision" in text(detail(client, dossier))
    letter = client.get(f"/admin/dossiers/letter/{dossier.id}")
    assert letter.status_code == 200 and letter.data.startswith(b"%PDF-")


def test_bundle_merges_receipt_and_annexes(agent, client, app):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    with_annex(app, dossier, pages=2)
    with_annex(app, dossier, pages=3)
    response = client.get(f"/admin/dossiers/bundle/{dossier.id}")
    assert response.status_code == 200
    assert len(PdfReader(io.BytesIO(response.data)).pages) == 5
    empty = make_dossier(DossierStatus.SUBMITTED)
    assert "en un PDF" not in text(detail(client, empty))
    refused = client.get(f"/admin/dossiers/bundle/{empty.id}", follow_redirects=True)
    assert "ni accusé de réception ni annexe" in text(refused)


def test_assignment_is_for_supervisors(app, client):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    agent = make_staff(StaffRole.AGENT)
    login_staff(client, agent)
    page = detail(client, dossier)
    response = client.post(
        f"/admin/dossiers/assign/{dossier.id}",
        data={"csrf_token": csrf_from(page.text), "agent": agent.id},
        follow_redirects=True,
    )
    assert "Seul un superviseur" in text(response)
    assert Dossier.get_by_id(dossier.id).assigned_to_id is None
    supervisor = make_staff(StaffRole.SUPERVISOR)
    other = app.test_client()
    login_staff(other, supervisor)
    page = detail(other, dossier)
    other.post(
        f"/admin/dossiers/assign/{dossier.id}",
        data={"csrf_token": csrf_from(page.text), "agent": agent.id},
    )
    assert Dossier.get_by_id(dossier.id).assigned_to_id == agent.id
    assert AuditEvent.select().where(AuditEvent.action == "dossier.assign").exists()
    unassigned = other.post(
        f"/admin/dossiers/assign/{dossier.id}",
        data={"csrf_token": csrf_from(page.text), "agent": 0},
        follow_redirects=True,
    )
    assert "plus assigné à personne" in text(unassigned)
    assert Dossier.get_by_id(dossier.id).assigned_to_id is None
    helpdesk = make_staff(StaffRole.HELPDESK)
    stranger = other.post(
        f"/admin/dossiers/assign/{dossier.id}",
        data={"csrf_token": csrf_from(page.text), "agent": helpdesk.id},
    )
    assert stranger.status_code == 400  # only agents and supervisors are offered
    assert Dossier.get_by_id(dossier.id).assigned_to_id is None


def test_supervisor_reopens_with_a_reason(app, client):
    dossier = make_dossier(DossierStatus.CLOSED)
    supervisor = make_staff(StaffRole.SUPERVISOR)
    login_staff(client, supervisor)
    page = detail(client, dossier)
    assert "Rouvrir" in text(page)
    token = csrf_from(page.text)
    response = client.post(
        f"/admin/dossiers/transition/{dossier.id}",
        data={"csrf_token": token, "to": "processing", "comment": ""},
        follow_redirects=True,
    )
    assert "Action refusée" in text(response)
    client.post(
        f"/admin/dossiers/transition/{dossier.id}",
        data={"csrf_token": token, "to": "processing", "comment": "Pièce nouvelle reçue."},
    )
    assert Dossier.get_by_id(dossier.id).state == DossierStatus.PROCESSING


def test_agent_cannot_reopen(agent, client):
    dossier = make_dossier(DossierStatus.CLOSED)
    page = detail(client, dossier)
    assert "Rouvrir" not in text(page)
    client.post(
        f"/admin/dossiers/transition/{dossier.id}",
        data={"csrf_token": csrf_from(page.text), "to": "processing", "comment": "x"},
    )
    assert Dossier.get_by_id(dossier.id).state == DossierStatus.CLOSED


def test_complement_request(agent, client):
    company = make_company()
    person = make_member(company)
    dossier = make_dossier(DossierStatus.RECEIVED, company=company, person=person)
    page = detail(client, dossier)
    client.post(
        f"/admin/dossiers/complement/{dossier.id}",
        data={
            "csrf_token": csrf_from(page.text),
            "body": "Joignez vos statuts.",
            "annexes": "Statuts, Bilan",
        },
    )
    message = Message.get()
    assert message.is_complement_request and message.requested_annexes == ["Statuts", "Bilan"]
    assert OutboxMessage.get(OutboxMessage.event == "complement").to_email == person.login_email


def test_complement_refused_before_reception(agent, client):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    page = detail(client, dossier)
    response = client.post(
        f"/admin/dossiers/complement/{dossier.id}",
        data={"csrf_token": csrf_from(page.text), "body": "x"},
        follow_redirects=True,
    )
    assert "Action refusée" in text(response)
    assert not Message.select().exists()


def test_search_by_dotted_enterprise_number_and_filters(agent, client):
    company = make_company(name="Pointée SA")
    dossier = make_dossier(DossierStatus.SUBMITTED, company=company)
    other = make_dossier(DossierStatus.RECEIVED)
    n = company.formatted_number
    found = client.get(f"/admin/dossiers/?search={n}").text
    assert dossier.reference in found and other.reference not in found
    by_status = client.get("/admin/dossiers/?flt0_0=received").text
    assert other.reference in by_status and dossier.reference not in by_status


def test_procedure_and_agent_filters_are_dropdowns(agent, client):
    from helpers import make_definition

    report = make_definition("rapport", "RAP")
    mine = make_dossier(DossierStatus.RECEIVED, staff=None)
    mine.assign(agent)
    theirs = make_dossier(DossierStatus.RECEIVED, definition=report)
    newcomer = make_staff(StaffRole.AGENT, full_name="Nouvelle Recrue")
    page = client.get("/admin/dossiers/").text
    # options read for each page: a procedure and an agent added after the app was built
    assert "Procédure rapport" in page and newcomer.full_name in page
    by_procedure = client.get("/admin/dossiers/?flt0_1=rapport").text
    assert theirs.reference in by_procedure and mine.reference not in by_procedure
    by_agent = client.get(f"/admin/dossiers/?flt0_3={agent.id}").text
    assert mine.reference in by_agent and theirs.reference not in by_agent
    unassigned = client.get("/admin/dossiers/?flt0_4=1").text
    assert theirs.reference in unassigned and mine.reference not in unassigned


def test_exports(agent, client):
    dossier = make_dossier(DossierStatus.SUBMITTED, company=make_company(name="Export SA"))
    csv = exported_file(client, "csv")
    assert csv.status_code == 200
    [header, row] = csv.data.decode("utf-8-sig").strip().splitlines()
    assert header.startswith("Référence,Procédure,Entreprise,Statut,Soumis le")
    assert row.startswith(f"{dossier.reference},Procédure enregistrement (v1),Export SA,Soumis,")
    xlsx = exported_file(client, "xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


@pytest.mark.parametrize("role", [StaffRole.HELPDESK, StaffRole.ADMIN])
def test_no_dossier_content_for_helpdesk_and_admin(app, client, role):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    annex = with_annex(app, dossier)
    login_staff(client, make_staff(role))
    for url in (
        f"/admin/dossiers/details/?id={dossier.id}",
        f"/admin/dossiers/annex/{dossier.id}/{annex.id}",
        f"/admin/dossiers/bundle/{dossier.id}",
    ):
        assert client.get(url).status_code == 403, url


def test_reopening_clears_the_decision_and_the_next_closing_has_its_own_letter(app, client):
    import notifications
    import storage
    from dossiers.documents import produce_letter
    from models import Actor, Document

    company = make_company()
    dossier = make_dossier(DossierStatus.CLOSED, company=company, person=make_member(company))
    with app.app_context():
        first = produce_letter(dossier.id)
    supervisor = make_staff(StaffRole.SUPERVISOR)
    reopened = Dossier.get_by_id(dossier.id).transition(
        DossierStatus.PROCESSING, Actor.staff_member(supervisor), comment="Recours."
    )
    assert (reopened.decision, reopened.closed_at) == (None, None)
    assert Document.current_letter(reopened) is None
    login_staff(client, supervisor)
    assert "Courrier de décision" not in text(detail(client, dossier))
    assert client.get(f"/admin/dossiers/letter/{dossier.id}").status_code == 404

    closed = reopened.transition(
        DossierStatus.CLOSED, Actor.staff_member(supervisor), comment="Revu.", decision="refused"
    )
    email = (
        OutboxMessage.select()
        .where(OutboxMessage.event == "closed")
        .order_by(OutboxMessage.id.desc())[0]
    )
    assert Document.current_letter(closed) is None  # the first letter is not this closing's
    with app.app_context(), pytest.raises(notifications.AttachmentNotReady):
        notifications.attachment_for(email)
    with app.app_context():
        second = produce_letter(dossier.id)
        _name, data = notifications.attachment_for(email)
        assert data == storage.get_storage().read(second.storage_key)
    assert second.id != first.id and Document.current_letter(closed).id == second.id


def test_every_column_sorts_and_an_unknown_sort_is_ignored(agent, client):
    first = make_dossier(DossierStatus.SUBMITTED, company=make_company(name="Alpha SA"))
    second = make_dossier(DossierStatus.SUBMITTED, company=make_company(name="Zêta SA"))
    for n in range(8):
        assert client.get(f"/admin/dossiers/?sort={n}").status_code == 200, n
        assert client.get(f"/admin/dossiers/?sort={n}&desc=1").status_code == 200, n
    by_company = client.get("/admin/dossiers/?sort=2&desc=1").text
    assert by_company.index(second.reference) < by_company.index(first.reference)
    assert client.get("/admin/dossiers/?sort=abc").status_code == 200


def test_dates_are_brussels_time_in_filters_and_exports(agent, client):
    from datetime import datetime

    dossier = make_dossier(DossierStatus.SUBMITTED)
    # 10:30 UTC on a winter day is 11:30 in Brussels
    Dossier.update(submitted_at=datetime(2026, 1, 15, 10, 30)).where(
        Dossier.id == dossier.id
    ).execute()
    # the "Soumis entre" filter: the sixth of the list (index 5)
    inside = client.get("/admin/dossiers/?flt0_5=2026-01-15+11:00:00+to+2026-01-15+12:00:00")
    outside = client.get("/admin/dossiers/?flt0_5=2026-01-15+10:00:00+to+2026-01-15+11:00:00")
    assert dossier.reference in inside.text and dossier.reference not in outside.text
    csv = exported_file(client, "csv").data.decode("utf-8-sig")
    assert "2026-01-15 11:30" in csv and "10:30" not in csv


def test_company_names_are_found_whatever_the_accents_typed(agent, client):
    dossier = make_dossier(DossierStatus.SUBMITTED, company=make_company(name="Intérim Liège SA"))
    other = make_dossier(DossierStatus.SUBMITTED, company=make_company(name="Namur Emploi"))
    for typed in ("liege", "LIÈGE", "interim lie"):
        found = client.get(f"/admin/dossiers/?search={typed}").text
        assert dossier.reference in found and other.reference not in found, typed
    by_filter = client.get("/admin/dossiers/?flt0_2=LIEGE").text
    assert dossier.reference in by_filter and other.reference not in by_filter
    companies = text(client.get("/admin/companies/?search=interim"))
    assert "Intérim Liège SA" in companies and "Namur Emploi" not in companies
