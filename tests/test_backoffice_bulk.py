"""Bulk actions on the dossier list: each one through `Dossier.transition` (or the message
layer), done where the status allows, refused where it does not, with one result per dossier."""

import re

import pytest

from helpers import (
    csrf_from,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_staff,
    text,
)
from models import AuditEvent, Dossier, DossierStatus, Message, OutboxMessage, StaffRole


def staff_in(client, role=StaffRole.AGENT):
    staff = make_staff(role)
    login_staff(client, staff)
    return csrf_from(client.get("/admin/dossiers/").text)


def action(client, token, name, dossiers):
    return client.post(
        "/admin/dossiers/action/",
        data={"action": name, "rowid": [str(d.id) for d in dossiers], "csrf_token": token},
        follow_redirects=True,
    )


def bulk(client, token, kind, dossiers, **fields):
    return client.post(
        f"/admin/dossiers/bulk/{kind}",
        data={"rowid": [str(d.id) for d in dossiers], "csrf_token": token, **fields},
        follow_redirects=True,
    )


def status(dossier):
    return Dossier.get_by_id(dossier.id).status


def test_bulk_close_asks_decision_and_motivation_then_closes_where_allowed(app, client):
    processing = [make_dossier(DossierStatus.PROCESSING) for _ in range(2)]
    received = make_dossier(DossierStatus.RECEIVED)
    token = staff_in(client)

    form = action(client, token, "close", [*processing, received])
    assert form.status_code == 200
    page = text(form)
    assert "3 dossiers" in page and "Décision" in page and "Motivation" in page
    assert all(d.reference in page for d in [*processing, received])
    assert status(processing[0]) == "processing"  # the form alone changes nothing

    missing = bulk(client, token, "close", processing, decision="granted", comment="  ")
    assert "Écrivez la motivation de la décision." in text(missing)
    assert status(processing[0]) == "processing"
    no_decision = bulk(client, token, "close", processing, decision="", comment="Conforme.")
    assert "Choisissez une décision." in text(no_decision)

    result = bulk(
        client,
        token,
        "close",
        [*processing, received],
        decision="refused",
        comment="Les conditions du décret ne sont pas remplies.",
    )
    page = text(result)
    assert "2 faits" in page and "1 refusé" in page
    assert "ne peut pas passer à « Clôturé »" in page
    for dossier in processing:
        closed = Dossier.get_by_id(dossier.id)
        assert closed.status == "closed" and closed.decision == "refused"
    assert status(received) == "received"
    closing = OutboxMessage.select().where(OutboxMessage.event == "closed")
    assert closing.count() == 2
    assert AuditEvent.select().where(AuditEvent.action == "dossier.transition").count() == 2


def test_bulk_reopen_is_for_supervisors_with_a_reason(app, client):
    closed = [make_dossier(DossierStatus.CLOSED) for _ in range(2)]
    agent_token = staff_in(client)
    assert bulk(client, agent_token, "reopen", closed, comment="x").status_code == 403
    assert "Rouvrir" not in client.get("/admin/dossiers/").text
    assert status(closed[0]) == "closed"


def test_supervisor_bulk_reopens(app, client):
    closed = [make_dossier(DossierStatus.CLOSED) for _ in range(2)]
    submitted = make_dossier(DossierStatus.SUBMITTED)
    token = staff_in(client, StaffRole.SUPERVISOR)
    form = action(client, token, "reopen", [*closed, submitted])
    assert "Raison de la réouverture" in text(form)
    assert "Indiquez la raison." in text(bulk(client, token, "reopen", closed, comment=""))
    result = bulk(client, token, "reopen", [*closed, submitted], comment="Recours gracieux.")
    assert "2 faits" in text(result) and "1 refusé" in text(result)
    assert "n'est pas clôturé : il n'y a rien à rouvrir" in text(result)
    assert [status(d) for d in closed] == ["processing", "processing"]
    assert status(submitted) == "submitted"


def test_bulk_complement_request_where_the_dossier_is_open(app, client):
    company = make_company()
    person = make_member(company)
    open_ones = [
        make_dossier(DossierStatus.RECEIVED, company=company, person=person),
        make_dossier(DossierStatus.PROCESSING, company=company, person=person),
    ]
    closed = make_dossier(DossierStatus.CLOSED, company=company, person=person)
    token = staff_in(client)
    assert "Écrivez le message" in text(bulk(client, token, "complement", open_ones, body=""))
    result = bulk(
        client,
        token,
        "complement",
        [*open_ones, closed],
        body="Joignez l'attestation ONSS récente.",
        annexes="Attestation ONSS",
    )
    assert "2 faits" in text(result) and "1 refusé" in text(result)
    requests = Message.select().where(Message.is_complement_request == True)  # noqa: E712
    assert sorted(m.dossier_id for m in requests) == sorted(d.id for d in open_ones)
    assert all(m.requested_annexes == ["Attestation ONSS"] for m in requests)
    assert OutboxMessage.select().where(OutboxMessage.event == "complement").count() == 2


def test_bulk_beyond_the_limit_changes_nothing(app, client, monkeypatch):
    from backoffice import processing

    monkeypatch.setattr(processing, "BULK_LIMIT", 2)
    dossiers = [make_dossier(DossierStatus.SUBMITTED) for _ in range(3)]
    token = staff_in(client)
    response = action(client, token, "receive", dossiers)
    assert "Au plus 2 dossiers" in text(response)
    closing = bulk(client, token, "close", dossiers, decision="granted", comment="x")
    assert "Au plus 2 dossiers" in text(closing)
    assert {status(d) for d in dossiers} == {"submitted"}


def test_bulk_never_touches_drafts_and_counts_what_it_did_not_find(app, client):
    draft = make_dossier(DossierStatus.COMPLETE)
    submitted = make_dossier(DossierStatus.SUBMITTED)
    token = staff_in(client)
    result = action(client, token, "receive", [draft, submitted])
    assert "1 fait" in text(result) and "1 introuvable" in text(result)
    assert status(draft) == "complete" and status(submitted) == "received"


@pytest.mark.parametrize("kind", ["close", "complement", "reopen"])
def test_bulk_form_posts_need_the_csrf_token(app, client, kind):
    dossier = make_dossier(DossierStatus.PROCESSING)
    staff_in(client, StaffRole.SUPERVISOR)
    response = bulk(client, "forged", kind, [dossier], decision="granted", comment="x", body="x")
    assert response.status_code == 400
    assert status(dossier) == "processing" and not Message.select().exists()


def test_refusals_are_explained_in_french(app, client):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    token = staff_in(client)
    response = client.post(
        f"/admin/dossiers/transition/{dossier.id}",
        data={"to": "processing", "csrf_token": token},
        follow_redirects=True,
    )
    assert "le dossier est « Soumis » : il ne peut pas passer à « En traitement »" in text(response)
    unknown = client.post(
        f"/admin/dossiers/transition/{dossier.id}",
        data={"to": "granted", "csrf_token": token},
        follow_redirects=True,
    )
    assert "ce changement de statut n'existe pas" in text(unknown)
    assert status(dossier) == "submitted"


def test_single_close_needs_a_motivation(app, client):
    dossier = make_dossier(DossierStatus.PROCESSING)
    token = staff_in(client)
    response = client.post(
        f"/admin/dossiers/transition/{dossier.id}",
        data={"to": "closed", "decision": "granted", "comment": " ", "csrf_token": token},
        follow_redirects=True,
    )
    assert "écrivez la motivation de la décision" in text(response)
    assert status(dossier) == "processing"


def test_complement_offers_the_annexes_of_the_definition(app, client):
    import procedures

    registration = next(d for d in procedures.sync_builtin() if d.code == "enregistrement")
    labels = [a.label for a in procedures.definition_of(registration).annexes]
    assert len(labels) >= 2
    company = make_company()
    dossier = make_dossier(
        DossierStatus.RECEIVED,
        company=company,
        person=make_member(company),
        definition=registration,
    )
    token = staff_in(client)
    page = text(client.get(f"/admin/dossiers/details/?id={dossier.id}"))
    assert all(label in page for label in labels)
    client.post(
        f"/admin/dossiers/complement/{dossier.id}",
        data={
            "csrf_token": token,
            "body": "Deux pièces manquent.",
            "requested": [labels[1], "Pièce inventée"],
            "annexes": "Bilan 2025",
        },
    )
    assert Message.get().requested_annexes == [labels[1], "Bilan 2025"]


def test_a_bulk_form_posted_again_or_a_reloaded_result_applies_nothing(app, client):
    company = make_company()
    person = make_member(company)
    dossier = make_dossier(DossierStatus.RECEIVED, company=company, person=person)
    token = staff_in(client)
    form = text(action(client, token, "complement", [dossier]))
    nonce = re.search(r'name="nonce" value="([^"]+)"', form)[1]
    fields = {"body": "Joignez le bilan.", "nonce": nonce}
    first = bulk(client, token, "complement", [dossier], **fields)
    assert "1 fait" in text(first) and first.request.path.startswith("/admin/dossiers/bulk/result/")
    assert "1 fait" in text(client.get(first.request.path))  # reload: the same page
    again = bulk(client, token, "complement", [dossier], **fields)  # back button, resend
    assert "déjà été faite" in text(again) and again.request.path == first.request.path
    assert Message.select().count() == 1
    assert OutboxMessage.select().where(OutboxMessage.event == "complement").count() == 1
    other = app.test_client()
    login_staff(other, make_staff())
    assert other.get(first.request.path).status_code == 404  # one's results are one's own
    event = AuditEvent.get(AuditEvent.action == "dossier.bulk")
    assert event.details["results"] == [[dossier.id, None]]


def test_a_refused_single_action_keeps_what_was_typed(app, client):
    company = make_company()
    dossier = make_dossier(DossierStatus.PROCESSING, company=company, person=make_member(company))
    token = staff_in(client)
    motivation = "Motivation soigneusement rédigée & <détaillée>."
    no_decision = client.post(
        f"/admin/dossiers/transition/{dossier.id}",
        data={"to": "closed", "decision": "", "comment": motivation, "csrf_token": token},
    )
    assert no_decision.status_code == 200
    page = no_decision.get_data(as_text=True)
    assert "choisissez une décision" in page
    assert "Motivation soigneusement rédigée &amp; &lt;détaillée&gt;." in page
    too_long = client.post(
        f"/admin/dossiers/complement/{dossier.id}",
        data={"body": "x" * 5001, "annexes": "Bilan", "csrf_token": token},
    )
    page = too_long.get_data(as_text=True)
    assert "5000 caractères au plus" in page and "Écrivez le message" not in page
    assert "x" * 5001 in page and 'value="Bilan"' in page
    assert status(dossier) == "processing" and not Message.select().exists()
    long_motivation = client.post(
        f"/admin/dossiers/transition/{dossier.id}",
        data={"to": "closed", "decision": "granted", "comment": "y" * 5001, "csrf_token": token},
    )
    assert "5000 caractères au plus" in long_motivation.get_data(as_text=True)
    assert status(dossier) == "processing"


def test_an_agent_processing_a_closed_dossier_is_told_it_is_a_reopening(app, client):
    closed = make_dossier(DossierStatus.CLOSED)
    token = staff_in(client)
    result = action(client, token, "process", [closed])
    assert "seul un superviseur rouvre un dossier clôturé" in text(result)
    assert status(closed) == "closed"


def test_a_supervisor_assigns_the_selected_dossiers_to_an_agent(app, client):
    agent = make_staff(StaffRole.AGENT, full_name="Agnès Agent")
    dossiers = [make_dossier(DossierStatus.SUBMITTED) for _ in range(2)]
    closed = make_dossier(DossierStatus.CLOSED)
    token = staff_in(client, StaffRole.SUPERVISOR)
    form = action(client, token, "assign", [*dossiers, closed])
    page = text(form)
    assert "Assigner — 3 dossiers" in page and "Agnès Agent" in page
    refused = bulk(client, token, "assign", dossiers, agent="-1")
    assert "Choisissez l'agent (ou « personne »)." in text(refused)
    assert Dossier.get_by_id(dossiers[0].id).assigned_to_id is None

    result = bulk(client, token, "assign", [*dossiers, closed], agent=str(agent.id))
    assert "3 faits" in text(result)
    assert {Dossier.get_by_id(d.id).assigned_to_id for d in [*dossiers, closed]} == {agent.id}
    assigned = AuditEvent.select().where(AuditEvent.action == "dossier.assign")
    assert [e.details["agent"] for e in assigned] == [agent.email] * 3
    bulk(client, token, "assign", dossiers, agent="0")  # to nobody
    assert {Dossier.get_by_id(d.id).assigned_to_id for d in dossiers} == {None}


def test_an_agent_cannot_assign_in_bulk(app, client):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    agent = make_staff(StaffRole.AGENT)
    token = staff_in(client)
    assert bulk(client, token, "assign", [dossier], agent=str(agent.id)).status_code == 403
    assert "Assigner à…" not in text(client.get("/admin/dossiers/"))
    assert Dossier.get_by_id(dossier.id).assigned_to_id is None
