"""Isolation read off the URL map (#12 item 6): every portal route that takes an id, asked by a
user of another company, by a member without the role and by each staff role, is refused (or
sent to the login) and changes nothing — including routes added later, since the requests are
made from `app.url_map`. Extra POST fields never reach a dossier (mass assignment). The
back-office's own map is covered the same way in tests/test_backoffice_routes.py, the REST
API's in tests/api."""

import hashlib
import re
from datetime import date, datetime

import pytest
from test_pdf_check import blank_pdf

import storage
from helpers import (
    csrf_from,
    login_person,
    login_staff,
    make_company,
    make_dossier,
    make_member,
    make_staff,
)
from models import (
    ALL_MODELS,
    Annex,
    AuditEvent,
    Document,
    DossierStatus,
    ExpertOpinion,
    Role,
    StaffRole,
    UserSession,
)

# Routes with an argument that is not an object of a company: the development pages (closed in
# production, tests/security/test_dev_pages.py), static files, the email link (its token is the
# only key, tests/test_company_access.py), the expert's link (likewise, tests/
# test_expert_opinions.py) and the creation of a dossier (a procedure's code).
NOT_OWNED = {
    "dev.mail_show",
    "home.static",
    "gate.validate_link",
    "wizard.create",
    "opinions.answer",
    "opinions.annex",
}
# Rows a refused request may add: the audit of the refusal, the session's last-seen time.
MAY_CHANGE = {AuditEvent, UserSession}


@pytest.fixture
def owner(app):
    """Company A: a manager who signs, a colleague, a draft with an annex, a submitted dossier
    with an annex and a receipt."""
    company = make_company(name="Entreprise A")
    manager = make_member(company, Role.SIGN, manager=True)
    colleague = make_member(company, Role.CONSULT)
    draft = make_dossier(DossierStatus.DRAFT, company=company, person=manager)
    submitted = make_dossier(DossierStatus.SUBMITTED, company=company, person=manager)
    with app.app_context():
        data = blank_pdf(1)
        key = storage.get_storage().put(data)
    annexes = {
        d.id: Annex.create(
            dossier=d,
            requirement="proof",
            original_name="preuve.pdf",
            storage_key=key,
            sha256=storage.sha256_of(data),
            size=len(data),
            pages=1,
            uploaded_by=manager,
            frozen=d is submitted,
            scan_status="clean",
        )
        for d in (draft, submitted)
    }
    opinions = {  # an answered opinion shown to the company, with its PDF
        d.id: ExpertOpinion.create(
            dossier=d,
            asked_by=make_staff(),
            expert_name="Expert",
            expert_email="expert@example.test",
            question="?",
            due_on=date(2030, 1, 1),
            confidential=False,
            link_nonce=f"n{d.id}",
            token_hash=f"h{d.id}",
            answered_at=datetime(2026, 1, 1),
            answer="Avis",
            file_name="avis.pdf",
            file_key=key,
            file_sha256=storage.sha256_of(data),
        )
        for d in (draft, submitted)
    }
    Document.create(
        dossier=submitted,
        kind=Document.RECEIPT,
        storage_key=key,
        sha256=storage.sha256_of(data),
        size=len(data),
    )
    return {
        "company": company,
        "manager": manager,
        "colleague": colleague.membership_in(company.id),
        "dossiers": (draft, submitted),
        "annexes": annexes,
        "opinions": opinions,
    }


def owned_requests(app, owner):
    """(method, url) for every portal route taking the id of a company's object, each filled
    with company A's objects. A route with an argument this test does not know fails it."""
    known = {"dossier_id", "annex_id", "membership_id", "key", "name", "opinion_id"}
    out = []
    for rule in app.url_map.iter_rules():
        # The REST API's token limits are tested the same way in tests/api.
        if rule.rule.startswith(("/admin", "/fas", "/api/")) or not rule.arguments:
            continue
        if rule.endpoint in NOT_OWNED:
            continue
        assert rule.arguments <= known, f"{rule.rule}: add its arguments to this test"
        for dossier in owner["dossiers"]:
            if rule.endpoint == "followup.document" and dossier.status == "draft":
                continue  # a draft has no receipt: its 404 would prove nothing
            values = {
                "dossier_id": dossier.id,
                "annex_id": owner["annexes"][dossier.id].id,
                "opinion_id": owner["opinions"][dossier.id].id,
                "membership_id": owner["colleague"].id,
                "key": "main",
                "name": "accuse-de-reception",
            }
            url = re.sub(
                r"<(?:[a-z]+:)?([a-z_]+)>", lambda m, v=values: str(v[m.group(1)]), rule.rule
            )
            for method in sorted(rule.methods & {"GET", "POST"}):
                out.append((method, url, rule.endpoint))
    return sorted(set(out))


def fingerprint():
    """Every row of every table a refused request must leave as it was."""
    digest = hashlib.sha256()
    for model in ALL_MODELS:
        if model in MAY_CHANGE:
            continue
        for row in model.select().order_by(model._meta.primary_key).dicts():
            digest.update(repr(sorted(row.items())).encode())
    return digest.hexdigest()


POST_DATA = {
    "action": "save",
    "note": "changé",
    "body": "Bonjour",
    "consult": "y",
    "encode": "y",
    "sign": "y",
    "confirm": "y",
    "accept": "y",
}


def any_csrf_token(client):
    """A valid token of this session: from a page with a form (a staff member has no portal
    page of their own; the back-office login page gives theirs)."""
    for page in ("/aide", "/admin/login/"):
        html = client.get(page).text
        if 'name="csrf_token"' in html:
            return csrf_from(html)
    raise AssertionError("no page gave a CSRF token")


def ask_everything(client, requests):
    token = any_csrf_token(client)
    answers = []
    for method, url, endpoint in requests:
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token, **POST_DATA})
        answers.append((method, url, endpoint, response))
    return answers


def test_the_map_has_the_routes_that_take_a_company_object(app, owner):
    endpoints = {endpoint for _m, _u, endpoint in owned_requests(app, owner)}
    for expected in (
        "dossiers.show",
        "annexes.download",
        "annexes.remove",
        "followup.reply",
        "followup.document",
        "wizard.section",
        "signing.sign",
        "team.revoke",
    ):
        assert expected in endpoints


def test_the_owner_reaches_every_route_so_the_refusals_below_mean_something(app, client, owner):
    login_person(client, owner["manager"], owner["company"])
    gets = [r for r in owned_requests(app, owner) if r[0] == "GET"]
    answers = ask_everything(client, gets)
    for method, url, _endpoint, response in answers:
        assert response.status_code not in (403, 404), (method, url)


def test_a_user_of_another_company_is_refused_everywhere_and_nothing_changes(app, client, owner):
    other = make_company(name="Entreprise B")
    intruder = make_member(other, Role.SIGN, manager=True)
    login_person(client, intruder, other)
    before = fingerprint()
    answers = ask_everything(client, owned_requests(app, owner))
    wrong = [(m, u, r.status_code) for m, u, _e, r in answers if r.status_code not in (403, 404)]
    assert wrong == []
    assert fingerprint() == before
    for _m, _u, _e, response in answers:
        assert "Entreprise A" not in response.get_data(as_text=True)
    denied = AuditEvent.select().where(AuditEvent.action == "access.denied")
    assert denied.count() == len(answers), "each refusal is in the audit log"
    row = denied.first()
    assert row.actor_person_id == intruder.id and row.ip_address == "127.0.0.1"
    assert row.details["reason"] == "other_company" and row.target_type in ("Dossier", "Membership")


def test_a_member_with_only_consultation_changes_nothing(app, client, owner):
    reader = owner["colleague"].person
    login_person(client, reader, owner["company"])
    before = fingerprint()
    posts = [r for r in owned_requests(app, owner) if r[0] == "POST"]
    answers = ask_everything(client, posts)
    wrong = [(m, u, r.status_code) for m, u, _e, r in answers if r.status_code not in (403, 404)]
    assert wrong == []
    assert fingerprint() == before
    reasons = {
        e.details["reason"] for e in AuditEvent.select().where(AuditEvent.action == "access.denied")
    }
    assert reasons == {"role"}


@pytest.mark.parametrize("role", list(StaffRole))
def test_each_staff_role_is_sent_to_the_portal_login_and_changes_nothing(app, client, owner, role):
    login_staff(client, make_staff(role))
    before = fingerprint()
    for method, url, _e, response in ask_everything(client, owned_requests(app, owner)):
        refused = response.status_code in (403, 404)
        to_login = response.status_code == 302 and "/auth/login" in response.headers["Location"]
        assert refused or to_login, (method, url, response.status_code)
    assert fingerprint() == before
