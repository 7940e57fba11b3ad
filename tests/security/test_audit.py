"""ASVS 7.1 / 7.2 (#12 item 9): one audit row for each login success and failure, code failure,
denied access, status change and access-right change, each with its time (UTC), its actor, the
requesting IP address and the object, all made through the pages from an address that is not
loopback (so the address in the row is the request's, not a default)."""

from datetime import timedelta

import fas
import pytest
from peewee import fn

from helpers import (
    csrf_from,
    login_person,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_staff,
)
from models import AuditEvent, DossierStatus, Membership, Role, StaffRole, utcnow

IP = "203.0.113.7"


@pytest.fixture
def client(app, ctx):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = IP
    return client


def last_id():
    return AuditEvent.select(fn.MAX(AuditEvent.id)).scalar() or 0


def the_row(action, since, actor_kind, target_type):
    """The one row of `action` written after row `since`, checked for time, actor, IP, object."""
    rows = list(AuditEvent.select().where(AuditEvent.action == action, AuditEvent.id > since))
    assert len(rows) == 1, f"{action}: {len(rows)} rows"
    [row] = rows
    assert abs(row.created_at - utcnow()) < timedelta(minutes=1), "the time is UTC"
    assert row.actor_kind == actor_kind
    assert row.ip_address == IP
    if target_type:
        assert row.target_type == target_type and row.target_id
    return row


def test_portal_login_success_and_failure(client):
    since = last_id()
    fas.login_eid(client)
    row = the_row("person.login", since, "applicant", "Person")
    assert row.actor_person_id == int(row.target_id)
    since = last_id()
    client.get("/auth/callback?state=forged&code=forged")
    the_row("person.login_failed", since, "system", None)


def test_code_failure(client):
    fas.start_login(client)
    assert fas.request_code(client).status_code == 302
    code = fas.last_code()
    since = last_id()
    fas.enter_code(client, "000000" if code != "000000" else "111111")
    row = the_row("code.failed", since, "system", "VerificationCode")
    assert code not in str(row.details)


def test_staff_login_success_and_failure(client):
    staff = make_staff(StaffRole.AGENT)
    since = last_id()
    login_staff(client, staff, password="not the password")
    the_row("staff.login_failed", since, "staff", "StaffUser")
    since = last_id()
    login_staff(client, staff)
    row = the_row("staff.login", since, "staff", "StaffUser")
    assert row.actor_staff_id == staff.id


def test_denied_access(client):
    mine, theirs = make_company(), make_company()
    person = make_member(mine, Role.ENCODE)
    dossier = make_dossier(DossierStatus.SUBMITTED, company=theirs)
    login_person(client, person, mine)
    since = last_id()
    assert client.get(f"/dossiers/{dossier.id}").status_code == 404
    row = the_row("access.denied", since, "applicant", "Dossier")
    assert row.target_id == str(dossier.id) and row.actor_person_id == person.id


def test_status_change(client):
    dossier = make_dossier(DossierStatus.SUBMITTED)
    staff = make_staff(StaffRole.AGENT)
    login_staff(client, staff)
    page = client.get(f"/admin/dossiers/details/?id={dossier.id}")
    since = last_id()
    client.post(
        f"/admin/dossiers/transition/{dossier.id}",
        data={"csrf_token": csrf_from(page.text), "to": "received", "comment": ""},
    )
    row = the_row("dossier.transition", since, "staff", "Dossier")
    assert row.target_id == str(dossier.id) and row.details["to"] == "received"
    assert row.actor_staff_id == staff.id


def test_access_right_change(client):
    company = make_company()
    manager = make_member(company, Role(0), manager=True)
    other = make_member(company, Role.CONSULT)
    login_person(client, manager, company)
    membership = Membership.get(Membership.person == other)
    page = client.get("/entreprise/acces/")
    since = last_id()
    client.post(
        f"/entreprise/acces/{membership.id}/roles",
        data={"csrf_token": csrf_from(page.text), "roles": ["encode"]},
    )
    row = the_row("access.roles", since, "applicant", "Membership")
    assert row.target_id == str(membership.id) and row.actor_person_id == manager.id
