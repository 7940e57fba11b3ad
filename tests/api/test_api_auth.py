"""The guard of every API operation: no token, an unknown or revoked one, a token limited to
another procedure, a read token where `process` is needed; each a problem+json, and every call
made with a token in the audit log under its name."""

import pytest
from api_helpers import PROBLEM, auth, make_token

from access import api_tokens
from api.auth import token_required
from helpers import make_definition, make_dossier
from models import Actor, ApiScope, AuditEvent, DossierStatus

GUARDED = [
    "/api/v1/token",
    "/api/v1/procedures",
    "/api/v1/procedures/enregistrement/versions/1",
    "/api/v1/dossiers",
    "/api/v1/dossiers/1",
    "/api/v1/dossiers/1/annexes/1",
    "/api/v1/dossiers/1/receipt",
    "/api/v1/dossiers/1/letter",
    "/api/v1/events",
]


@pytest.mark.parametrize("path", GUARDED)
def test_no_token_is_401_problem_on_every_operation(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.content_type == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    problem = response.json
    assert problem["type"] == "/api/v1/problems/unauthorized"
    assert problem["status"] == 401
    assert problem["title"] == "Jeton d'accès manquant ou invalide"  # French by default
    assert problem["instance"] == path


@pytest.mark.parametrize(
    "header",
    ["Bearer gui_not-a-token", "Basic dXNlcjpwYXNz", "Bearer", "gui_without-scheme"],
)
def test_unknown_or_malformed_token_is_401(client, ctx, header):
    response = client.get("/api/v1/dossiers", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.json["type"] == "/api/v1/problems/unauthorized"
    invalid = 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert invalid == header.startswith("Bearer gui_")  # one was sent, and is not ours


def test_title_follows_accept_language(client, ctx):
    english = client.get("/api/v1/dossiers", headers={"Accept-Language": "en"})
    german = client.get("/api/v1/dossiers", headers={"Accept-Language": "de-BE,de;q=0.9"})
    assert english.json["title"] == "Missing or invalid access token"
    assert german.json["title"] == "Fehlendes oder ungültiges Zugriffstoken"
    assert english.headers["Content-Language"] == "en"


def test_revoked_token_is_refused_and_its_call_audited(client, ctx):
    token, secret = make_token(name="archives")
    assert client.get("/api/v1/token", headers=auth(secret)).status_code == 200
    api_tokens.revoke(Actor.system(), token)
    response = client.get("/api/v1/token", headers=auth(secret))
    assert response.status_code == 401
    assert response.json["detail"] == "Ce jeton a été révoqué."
    calls = list(AuditEvent.select().where(AuditEvent.action == "api.call").order_by(AuditEvent.id))
    assert [c.details["status"] for c in calls] == [200, 401]
    assert all(c.details["token"] == "archives" and c.actor_kind == "api" for c in calls)


def test_every_call_is_audited_with_the_token_name_and_the_dossier(client, ctx):
    dossier = make_dossier(DossierStatus.RECEIVED)
    token, secret = make_token(name="statistiques")
    client.get("/api/v1/dossiers?status=received", headers=auth(secret))
    client.get(f"/api/v1/dossiers/{dossier.id}", headers=auth(secret))
    client.get("/api/v1/dossiers/999999", headers=auth(secret))
    rows = list(AuditEvent.select().where(AuditEvent.action == "api.call").order_by(AuditEvent.id))
    assert [(r.details["path"], r.details["status"]) for r in rows] == [
        ("/api/v1/dossiers?status=received", 200),
        (f"/api/v1/dossiers/{dossier.id}", 200),
        ("/api/v1/dossiers/999999", 404),
    ]
    assert {r.details["token"] for r in rows} == {"statistiques"}
    assert (rows[1].target_type, rows[1].target_id) == ("Dossier", str(dossier.id))
    assert rows[0].target_type == "ApiToken"
    assert token.__class__.get_by_id(token.id).last_used_at is not None


def test_token_limited_to_another_procedure(client, ctx):
    other = make_definition("agrement-interim", "AGR")
    theirs = make_dossier(DossierStatus.RECEIVED, definition=other)
    mine = make_dossier(DossierStatus.RECEIVED)  # enregistrement
    _token, secret = make_token(procedures=["enregistrement"])
    headers = auth(secret)

    listed = client.get("/api/v1/dossiers", headers=headers).json["items"]
    assert [d["id"] for d in listed] == [mine.id]
    filtered = client.get("/api/v1/dossiers?procedure=agrement-interim", headers=headers)
    assert filtered.status_code == 403
    assert filtered.json["type"] == "/api/v1/problems/forbidden"
    assert filtered.json["field"] == "procedure"
    for path in (f"/api/v1/dossiers/{theirs.id}", f"/api/v1/dossiers/{theirs.id}/receipt"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.json["type"] == "/api/v1/problems/not-found"
    versions = client.get("/api/v1/procedures/agrement-interim/versions/1", headers=headers)
    assert versions.status_code == 404
    codes = [p["code"] for p in client.get("/api/v1/procedures", headers=headers).json["items"]]
    assert codes == ["enregistrement"]


def test_read_token_on_a_process_operation_is_403(app, ctx):
    """The guard of the (later) write operations: a read token is refused with a 403."""
    _token, read_secret = make_token("read")
    _token, process_secret = make_token("process")

    @token_required(ApiScope.PROCESS)
    def operation():
        return "done"

    for secret, expected in ((read_secret, 403), (process_secret, 200)):
        with app.test_request_context(headers=auth(secret)):
            try:
                status = 200 if operation() == "done" else None
            except Exception as error:
                status = error.code
        assert status == expected
