"""API tokens: the service (stored hashed, shown once, audited), the CLI, and the back-office
view (administrators only, CSRF, the secret shown once)."""

import hashlib
import re

import pytest
from api_helpers import auth, make_token

from access import AccessRefused, api_tokens
from helpers import csrf_from, login_staff, make_definition, make_staff, text
from models import Actor, ApiToken, AuditEvent, StaffRole


def test_a_token_is_kept_as_the_sha256_of_its_secret(ctx):
    make_definition()
    token, secret = make_token("process", ["enregistrement"])
    assert secret.startswith("gui_") and len(secret) >= 40
    row = ApiToken.get_by_id(token.id)
    assert row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(row.__data__)
    assert row.prefix == secret[:12]
    assert (row.scope, row.procedures) == ("process", ["enregistrement"])
    created = AuditEvent.get(AuditEvent.action == "api_token.created")
    assert created.details["token"] == token.name and secret not in str(created.details)


@pytest.mark.parametrize(
    ("name", "scope", "procedures", "field"),
    [
        ("", "read", [], "name"),
        ("x" * 101, "read", [], "name"),
        ("ok", "write", [], "scope"),
        ("ok", "read", ["no-such-procedure"], "procedures"),
    ],
)
def test_refused_tokens(ctx, name, scope, procedures, field):
    with pytest.raises(AccessRefused) as refused:
        api_tokens.create(Actor.system(), name, scope, procedures)
    assert refused.value.field == field


def test_names_are_unique_and_only_administrators_make_tokens(ctx):
    make_token(name="archives")
    with pytest.raises(AccessRefused) as refused:
        make_token(name="archives")
    assert refused.value.field == "name"
    agent = Actor.staff_member(make_staff(StaffRole.AGENT))
    with pytest.raises(AccessRefused):
        api_tokens.create(agent, "mine", "read")
    admin = Actor.staff_member(make_staff(StaffRole.ADMIN))
    token, _secret = api_tokens.create(admin, "theirs", "read")
    assert token.created_by_id == admin.staff.id
    with pytest.raises(AccessRefused):
        api_tokens.revoke(agent, token)


def test_cli_create_prints_the_secret_once_list_and_revoke(runner, client, ctx):
    make_definition()
    made = runner.invoke(
        args=["api-token", "create", "archives", "--scope", "read", "--procedure", "enregistrement"]
    )
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip()
    assert re.fullmatch(r"gui_[\w-]{43}", secret)
    assert client.get("/api/v1/token", headers=auth(secret)).json == {
        "name": "archives",
        "scope": "read",
        "procedures": ["enregistrement"],
    }
    listed = runner.invoke(args=["api-token", "list"])
    assert "archives" in listed.output and "enregistrement" in listed.output
    assert secret not in listed.output and "active" in listed.output
    again = runner.invoke(args=["api-token", "create", "archives", "--scope", "read"])
    assert again.exit_code == 1 and "already" in again.output
    unknown = runner.invoke(
        args=["api-token", "create", "x", "--scope", "read", "--procedure", "nope"]
    )
    assert unknown.exit_code == 1 and "Unknown procedure" in unknown.output
    revoked = runner.invoke(args=["api-token", "revoke", "archives"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert client.get("/api/v1/token", headers=auth(secret)).status_code == 401
    assert "revoked" in runner.invoke(args=["api-token", "list"]).output
    assert runner.invoke(args=["api-token", "revoke", "nobody"]).exit_code == 1


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.SUPERVISOR, StaffRole.HELPDESK])
def test_only_administrators_reach_the_back_office_view(client, ctx, role):
    login_staff(client, make_staff(role))
    assert client.get("/admin/api-tokens/").status_code == 403
    assert client.get("/admin/api-tokens/new/").status_code == 403


def test_an_administrator_makes_a_token_sees_it_once_and_revokes_it(client, ctx):
    make_definition()
    login_staff(client, make_staff(StaffRole.ADMIN))
    form = client.get("/admin/api-tokens/new/")
    assert form.status_code == 200
    no_csrf = client.post("/admin/api-tokens/new/", data={"name": "archives", "scope": "read"})
    assert ApiToken.select().count() == 0 and no_csrf.status_code == 400
    page = client.post(
        "/admin/api-tokens/new/",
        data={
            "csrf_token": csrf_from(form.text),
            "name": "archives",
            "scope": "read",
            "procedures": ["enregistrement"],
        },
    )
    secret = re.search(r'id="api-token-secret">(gui_[\w-]+)<', page.text)[1]
    token = api_tokens.authenticate(secret)
    assert token.procedures == ["enregistrement"] and token.created_by.role == "admin"
    listing = client.get("/admin/api-tokens/")
    assert "archives" in text(listing) and secret not in listing.text
    details = client.get(f"/admin/api-tokens/details/?id={token.id}")
    assert secret not in details.text
    assert client.post(f"/admin/api-tokens/revoke/{token.id}").status_code == 400  # no CSRF
    client.post(
        f"/admin/api-tokens/revoke/{token.id}", data={"csrf_token": csrf_from(details.text)}
    )
    assert ApiToken.get_by_id(token.id).is_revoked
    assert AuditEvent.get(AuditEvent.action == "api_token.revoked").actor_kind == "staff"


def test_the_back_office_form_says_why_a_name_is_refused(client, ctx):
    make_token(name="archives")
    login_staff(client, make_staff(StaffRole.ADMIN))
    form = client.get("/admin/api-tokens/new/")
    page = client.post(
        "/admin/api-tokens/new/",
        data={"csrf_token": csrf_from(form.text), "name": "archives", "scope": "read"},
    )
    assert "Un jeton porte déjà le nom « archives »." in text(page)
    assert ApiToken.select().count() == 1


def test_the_audit_log_names_the_token(client, ctx):
    _token, secret = make_token(name="statistiques")
    client.get("/api/v1/token", headers=auth(secret))
    login_staff(client, make_staff(StaffRole.ADMIN))
    page = text(client.get("/admin/audit/?search="))
    assert "api.call" in page and "statistiques" in page
