"""The API's rate limit (per token, per address without a valid token: 429 as problem details
with Retry-After) and the audit rows of the calls refused for want of a valid token."""

import pytest
from api_helpers import PROBLEM, auth, make_token

from auth import limiter
from models import AuditEvent


@pytest.fixture
def limited(app):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    limiter.reset()  # counts of earlier tests' tokens (ids are reused)
    yield
    limiter.reset()


def test_past_its_limit_a_token_gets_429_and_another_token_does_not(client, ctx, limited):
    _token, secret = make_token("read", name="archive")
    _other, other = make_token("read", name="stats")
    statuses = [client.get("/api/v1/token", headers=auth(secret)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = client.get("/api/v1/dossiers", headers=auth(secret))  # shared by all operations
    assert refused.status_code == 429 and refused.content_type == PROBLEM
    assert refused.json["type"] == "/api/v1/problems/too-many-requests"
    assert refused.json["title"] == "Trop de demandes"
    assert int(refused.headers["Retry-After"]) > 0
    assert client.get("/api/v1/token", headers=auth(other)).status_code == 200
    calls = AuditEvent.select().where(AuditEvent.action == "api.call")
    assert [c.details["status"] for c in calls if c.details["token"] == "archive"][-1] == 429


def test_calls_without_a_valid_token_are_limited_by_address(client, ctx, limited):
    _token, secret = make_token("read")
    unknown = auth("gui_" + "x" * 43)
    assert [client.get("/api/v1/token", headers=unknown).status_code for _ in range(3)] == [401] * 3
    assert client.get("/api/v1/token").status_code == 429  # no token: the same address
    assert client.get("/api/v1/token", headers=auth(secret)).status_code == 200


def test_a_call_without_a_token_or_with_an_unknown_one_is_audited(client, ctx):
    presented = "gui_" + "s3cr3t" * 7
    client.get("/api/v1/dossiers?limit=5")
    client.post("/api/v1/dossiers/1/receive", headers=auth(presented))
    client.get("/api/v1/token", headers={"Authorization": "Basic abc"})
    rows = list(
        AuditEvent.select().where(AuditEvent.action == "api.unauthorized").order_by(AuditEvent.id)
    )
    assert [(r.details["method"], r.details["reason"], r.details["status"]) for r in rows] == [
        ("GET", "missing", 401),
        ("POST", "unknown", 401),
        ("GET", "missing", 401),
    ]
    assert rows[0].details["path"] == "/api/v1/dossiers?limit=5"
    assert rows[0].ip_address == "127.0.0.1" and rows[0].actor_kind == "api"
    assert rows[1].details["presented_start"] == "gui_"
    assert all(presented[4:10] not in str(r.details) for r in rows)
    assert AuditEvent.select().where(AuditEvent.action == "api.call").count() == 0
