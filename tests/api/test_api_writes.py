"""What another system does to a dossier through the API, with a token of scope `process`: the
transitions and the messages, through the same services as the back-office (emails, audit,
events, history naming the token), and every refusal as problem details."""

import io

import pytest
from api_helpers import PROBLEM, auth, bearer, make_token
from pypdf import PdfReader

from dossiers import documents, processing
from dossiers.documents import read
from helpers import (
    login_person,
    login_staff,
    make_definition,
    make_dossier,
    make_staff,
)
from models import (
    Actor,
    AuditEvent,
    Decision,
    Dossier,
    DossierStatus,
    Event,
    Message,
    OutboxMessage,
    RegistrationNumber,
    StaffRole,
    StatusChange,
)

S = DossierStatus
CLOSE = {"decision": "granted", "motivation": "Les conditions sont remplies."}


def post(client, dossier_id, action, headers, json=None, language=None):
    if language:
        headers = {**headers, "Accept-Language": language}
    return client.post(f"/api/v1/dossiers/{dossier_id}/{action}", headers=headers, json=json)


@pytest.fixture
def process(ctx):
    """A process token of every procedure: (token, headers)."""
    token, secret = make_token("process", name="gestion-dossiers")
    return token, auth(secret)


def test_the_whole_way_receive_process_close_reopen(client, process):
    token, headers = process
    dossier = make_dossier(S.SUBMITTED)
    received = post(client, dossier.id, "receive", headers)
    assert received.status_code == 200, received.json
    assert received.json["status"] == "received"
    assert received.json["history"][-1]["actor"] == "API · gestion-dossiers"
    assert received.json["history"][-1]["actor_kind"] == "api"
    assert post(client, dossier.id, "start-processing", headers).json["status"] == "processing"
    closed = post(client, dossier.id, "close", headers, CLOSE)
    assert closed.status_code == 200, closed.json
    assert closed.json["status"] == "closed" and closed.json["decision"] == "granted"
    assert closed.json["history"][-1]["comment"] == CLOSE["motivation"]
    assert RegistrationNumber.get_or_none(RegistrationNumber.dossier == dossier) is not None
    reopened = post(client, dossier.id, "reopen", headers, {"reason": "Erreur matérielle."})
    assert reopened.status_code == 200, reopened.json
    assert reopened.json["status"] == "processing" and reopened.json["decision"] is None
    changes = StatusChange.select().where(StatusChange.dossier == dossier, StatusChange.id > 0)
    by_token = [c for c in changes if c.actor_token_id == token.id]
    assert [c.to_status for c in by_token] == ["received", "processing", "closed", "processing"]


def test_a_token_transition_emails_audits_and_writes_its_event(client, process):
    _token, headers = process
    dossier = make_dossier(S.SUBMITTED)
    before = OutboxMessage.select().where(OutboxMessage.event == "received").count()
    assert post(client, dossier.id, "receive", headers).status_code == 200
    emails = OutboxMessage.select().where(
        OutboxMessage.dossier == dossier, OutboxMessage.event == "received"
    )
    assert emails.count() == 1 and before == 0
    audit = AuditEvent.get(AuditEvent.action == "dossier.transition")
    assert audit.actor_kind == "api" and audit.details["token"] == "gestion-dossiers"
    assert audit.target_id == str(dossier.id) and audit.details["to"] == "received"
    event = Event.get(Event.dossier == dossier, Event.type == "dossier.received")
    assert event.actor_kind == "api" and event.actor_label == "gestion-dossiers"


def test_the_back_office_names_the_token_and_the_company_reads_the_administration(
    app, client, process
):
    _token, headers = process
    dossier = make_dossier(S.RECEIVED)
    assert post(client, dossier.id, "start-processing", headers).status_code == 200
    sent = post(client, dossier.id, "messages", headers, {"body": "Merci de préciser."})
    assert sent.status_code == 201, sent.json
    staff_side = app.test_client()
    login_staff(staff_side, make_staff(StaffRole.AGENT))
    page = staff_side.get(f"/admin/dossiers/details/?id={dossier.id}").text
    assert page.count("API · gestion-dossiers") == 2  # the history and the thread
    company_side = app.test_client()
    login_person(company_side, dossier.created_by, dossier.company)
    page = company_side.get(f"/dossiers/{dossier.id}").text
    assert "Merci de préciser." in page
    assert "gestion-dossiers" not in page and "L&#39;administration" in page


def test_a_complement_request_through_the_api(client, process):
    token, headers = process
    dossier = make_dossier(S.PROCESSING)
    body = {
        "body": "Il manque les statuts.",
        "complement": True,
        "requested_annexes": ["Statuts", " Statuts ", "Bilan 2025"],
    }
    sent = post(client, dossier.id, "messages", headers, body)
    assert sent.status_code == 201, sent.json
    assert sent.json["complement_request"] is True
    assert sent.json["requested_annexes"] == ["Statuts", "Bilan 2025"]
    assert sent.json["author"] == "API · gestion-dossiers"
    message = Message.get_by_id(sent.json["id"])
    assert message.author_token_id == token.id and message.author_name_for_company != ""
    assert OutboxMessage.select().where(OutboxMessage.event == "complement").count() == 1
    event = Event.get(Event.type == "dossier.complement_requested")
    assert event.actor_label == "gestion-dossiers"
    audit = AuditEvent.get(AuditEvent.action == "dossier.complement_request")
    assert audit.details["token"] == "gestion-dossiers"
    shown = client.get(f"/api/v1/dossiers/{dossier.id}", headers=headers).json
    assert shown["messages"][-1]["author"] == "API · gestion-dossiers"


def test_the_letter_of_a_token_closing_names_no_token(ctx, process):
    token, _headers = process
    dossier = make_dossier(S.PROCESSING)
    processing.close(Actor.api(token), dossier, Decision.REFUSED, "Hors délai.")
    letter = documents.produce_letter(dossier.id)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(read(letter))).pages)
    assert "Hors délai." in text
    assert "gestion-dossiers" not in text and "API" not in text


# --- refusals ---------------------------------------------------------------------------------

ACTIONS = [
    ("receive", None),
    ("start-processing", None),
    ("close", CLOSE),
    ("reopen", {"reason": "Erreur."}),
    ("messages", {"body": "Bonjour."}),
]


@pytest.mark.parametrize(("action", "json"), ACTIONS)
def test_no_token_is_401(client, ctx, action, json):
    dossier = make_dossier(S.SUBMITTED)
    response = post(client, dossier.id, action, {}, json)
    assert response.status_code == 401 and response.content_type == PROBLEM
    assert "WWW-Authenticate" in response.headers


@pytest.mark.parametrize(("action", "json"), ACTIONS)
def test_a_read_token_is_403(client, ctx, action, json):
    dossier = make_dossier(S.SUBMITTED)
    response = post(client, dossier.id, action, bearer(scope="read"), json)
    assert response.status_code == 403 and response.content_type == PROBLEM
    assert response.json["type"] == "/api/v1/problems/forbidden"
    assert Dossier.get_by_id(dossier.id).status == "submitted"


@pytest.mark.parametrize(("action", "json"), ACTIONS)
def test_another_procedure_a_draft_and_an_unknown_dossier_are_404(client, ctx, action, json):
    make_definition("agrement-interim", "AGR")
    dossier = make_dossier(S.SUBMITTED)
    draft = make_dossier(S.COMPLETE)
    limited = bearer(scope="process", procedures=["agrement-interim"])
    headers = bearer(scope="process")
    for dossier_id, using in ((dossier.id, limited), (draft.id, headers), (987654, headers)):
        response = post(client, dossier_id, action, using, json)
        assert response.status_code == 404, (dossier_id, response.json)
        assert response.json["type"] == "/api/v1/problems/not-found"
    assert Dossier.get_by_id(dossier.id).status == "submitted"
    assert Message.select().count() == 0


@pytest.mark.parametrize(
    ("language", "title"),
    [
        (None, "Changement de statut impossible"),
        ("en", "Status change not possible"),
        ("de", "Statuswechsel nicht möglich"),
    ],
)
def test_a_transition_from_the_wrong_status_is_409_in_the_callers_language(
    client, process, language, title
):
    _token, headers = process
    dossier = make_dossier(S.SUBMITTED)
    for action, json in (("start-processing", None), ("close", CLOSE), ("reopen", {"reason": "x"})):
        response = post(client, dossier.id, action, headers, json, language)
        assert response.status_code == 409, (action, response.json)
        assert response.content_type == PROBLEM
        assert response.json["type"] == "/api/v1/problems/transition-not-allowed"
        assert response.json["title"] == title
        assert response.json["current_status"] == "submitted"
    assert post(client, dossier.id, "receive", headers).status_code == 200
    again = post(client, dossier.id, "receive", headers)
    assert again.status_code == 409 and again.json["current_status"] == "received"


def test_a_concurrent_change_is_409(client, process, monkeypatch):
    """The dossier is read, then a staff member receives it before the token's change."""
    _token, headers = process
    dossier = make_dossier(S.SUBMITTED)
    staff = make_staff(StaffRole.AGENT)
    real = processing.receive

    def raced(actor, stale):
        real(Actor.staff_member(staff), Dossier.get_by_id(stale.id))
        return real(actor, stale)

    monkeypatch.setattr(processing, "receive", raced)
    response = post(client, dossier.id, "receive", headers)
    assert response.status_code == 409, response.json
    assert response.json["type"] == "/api/v1/problems/concurrent-change"
    assert response.json["current_status"] == "received"
    changes = StatusChange.select().where(StatusChange.dossier == dossier)
    assert [c.actor_kind for c in changes if c.to_status == "received"] == ["staff"]


@pytest.mark.parametrize(
    ("json", "field"),
    [
        ({"motivation": "Conforme."}, "decision"),
        ({"decision": "granted"}, "motivation"),
        ({"decision": "granted", "motivation": ""}, "motivation"),
        ({"decision": "maybe", "motivation": "x"}, "decision"),
        ({"decision": "granted", "motivation": "x" * (processing.MAX_TEXT + 1)}, "motivation"),
        ({"decision": "granted", "motivation": "   "}, "motivation"),
        (None, "decision"),
    ],
)
def test_a_close_without_decision_or_motivation_is_400_naming_the_field(
    client, process, json, field
):
    _token, headers = process
    dossier = make_dossier(S.PROCESSING)
    response = post(client, dossier.id, "close", headers, json)
    assert response.status_code == 400, response.json
    assert response.json["type"] == "/api/v1/problems/invalid-request"
    assert field in {e["field"] for e in response.json["errors"]}
    assert Dossier.get_by_id(dossier.id).status == "processing"


def test_a_reopen_needs_its_reason(client, process):
    _token, headers = process
    dossier = make_dossier(S.CLOSED)
    for json in ({}, {"reason": "  "}):
        response = post(client, dossier.id, "reopen", headers, json)
        assert response.status_code == 400 and response.json["field"] == "reason"


@pytest.mark.parametrize(
    ("json", "field"),
    [
        ({}, "body"),
        ({"body": ""}, "body"),
        ({"body": " \n "}, "body"),
        ({"body": "x" * (processing.MAX_TEXT + 1)}, "body"),
        ({"body": "x", "requested_annexes": [""]}, "requested_annexes"),
        ({"body": "x", "unknown": 1}, "unknown"),
    ],
)
def test_a_message_is_checked(client, process, json, field):
    _token, headers = process
    dossier = make_dossier(S.PROCESSING)
    response = post(client, dossier.id, "messages", headers, json)
    assert response.status_code == 400, response.json
    assert response.json["field"] == field
    assert Message.select().count() == 0


def test_a_complement_request_to_a_closed_dossier_is_409(client, process):
    _token, headers = process
    dossier = make_dossier(S.CLOSED)
    json = {"body": "Il manque un document.", "complement": True}
    response = post(client, dossier.id, "messages", headers, json)
    assert response.status_code == 409 and response.json["type"] == "/api/v1/problems/conflict"
    assert response.json["current_status"] == "closed"
    plain = post(client, dossier.id, "messages", headers, {"body": "Pour information."})
    assert plain.status_code == 201


def test_staff_keep_their_rules(ctx):
    """The API's rule changes nothing for staff: a helpdesk member still may not receive, an
    agent still may not reopen."""
    dossier = make_dossier(S.SUBMITTED)
    with pytest.raises(processing.DossierRefused):
        processing.receive(Actor.staff_member(make_staff(StaffRole.HELPDESK)), dossier)
    closed = make_dossier(S.CLOSED)
    with pytest.raises(processing.DossierRefused):
        processing.reopen(Actor.staff_member(make_staff(StaffRole.AGENT)), closed, "Erreur.")
    assert Dossier.get_by_id(closed.id).status == "closed"


def test_a_read_token_is_refused_by_the_services_too(ctx):
    token, _secret = make_token("read")
    dossier = make_dossier(S.SUBMITTED)
    with pytest.raises(processing.DossierRefused):
        processing.receive(Actor.api(token), dossier)


def test_the_documentation_page_shows_acting_with_curl(client):
    html = client.get("/api/v1/docs").text
    assert "curl -X POST" in html and "/api/v1/dossiers/42/receive" in html
    assert "/api/v1/dossiers/42/close" in html
    assert '<a href="#schema-Close">Close</a>' in html  # the request body of the close


def test_every_write_operation_documents_its_refusals(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for action in ("receive", "start-processing", "close", "reopen", "messages"):
        responses = paths[f"/api/v1/dossiers/{{dossier_id}}/{action}"]["post"]["responses"]
        ok = "201" if action == "messages" else "200"
        assert set(responses) >= {ok, "400", "401", "403", "404", "409", "429"}, action
        for code in ("400", "409"):
            content = responses[code]
            assert "application/problem+json" in content.get("content", {}) or "$ref" in content
