"""The back-office beyond dossiers: form definitions, outbox, audit log, companies, persons and
memberships — who may open them, and what each action does."""

from datetime import timedelta

import pytest

import notifications
from helpers import (
    csrf_from,
    login_person,
    login_staff,
    make_company,
    make_definition,
    make_dossier,
    make_member,
    make_person,
    make_staff,
    text,
)
from models import (
    Actor,
    AuditEvent,
    Dossier,
    DossierStatus,
    Membership,
    OutboxMessage,
    OutboxStatus,
    ProcedureDefinition,
    StaffRole,
    VerificationCode,
    utcnow,
)

ADMIN, SUPERVISOR, HELPDESK, AGENT = (
    StaffRole.ADMIN,
    StaffRole.SUPERVISOR,
    StaffRole.HELPDESK,
    StaffRole.AGENT,
)
DIRECTORY = {HELPDESK, SUPERVISOR, ADMIN}
PAGES = {
    "/admin/definitions/": {ADMIN},
    "/admin/definitions/new-version/enregistrement": {ADMIN},
    "/admin/definitions/preview/1": {ADMIN},
    "/admin/definitions/publish/1": {ADMIN},
    "/admin/outbox/": {ADMIN, SUPERVISOR},
    "/admin/outbox/details/?id=1": {ADMIN, SUPERVISOR},
    "/admin/audit/": {ADMIN, SUPERVISOR},
    "/admin/audit/details/?id=1": {ADMIN, SUPERVISOR},
    "/admin/companies/": set(StaffRole),
    "/admin/companies/details/?id=1": set(StaffRole),
    "/admin/persons/": DIRECTORY,
    "/admin/persons/details/?id=1": DIRECTORY,
    "/admin/memberships/": DIRECTORY,
    "/admin/memberships/details/?id=1": DIRECTORY,
    "/admin/memberships/reset-email/1": {HELPDESK},
    "/admin/memberships/resend-validation/1": {HELPDESK},
}
POSTS = {
    "/admin/definitions/new-version/enregistrement": {ADMIN},
    "/admin/definitions/publish/1": {ADMIN},
    "/admin/outbox/retry/1": {ADMIN, SUPERVISOR},
    "/admin/outbox/action/": {ADMIN, SUPERVISOR},
    "/admin/memberships/reset-email/1": {HELPDESK},
    "/admin/memberships/resend-validation/1": {HELPDESK},
}
FORBIDDEN_GETS = [
    (url, role) for url, roles in PAGES.items() for role in StaffRole if role not in roles
]
FORBIDDEN_POSTS = [
    (url, role) for url, roles in POSTS.items() for role in StaffRole if role not in roles
]
LISTS = [
    (url, role)
    for url, roles in PAGES.items()
    if url.endswith("/")
    for role in StaffRole
    if role in roles
]

V2 = """\
code: enregistrement
version: 2
title: Procédure enregistrement
reference_prefix: ENR
sections:
  - key: main
    title: Demande
    description: Quelques questions sur l'agence.
    fields:
      - {key: note, type: text, label: Remarque}
      - key: established
        type: choice
        label: Où l'agence est-elle établie ?
        help: Le siège d'exploitation.
        required: true
        options:
          - {value: belgium, label: En Belgique}
          - {value: abroad, label: À l'étranger}
      - key: country
        type: text
        label: Pays d'établissement
        required: true
        visible_if: {"==": [{"var": "established"}, "abroad"]}
annexes:
  - key: proof
    label: Preuve d'autorisation
    required_if: {"==": [{"var": "established"}, "abroad"]}
    reason: Obligatoire car l'agence est établie à l'étranger.
"""


def line_of(source, fragment):
    return next(n for n, line in enumerate(source.splitlines(), start=1) if fragment in line)


def as_staff(client, role):
    staff = make_staff(role)
    login_staff(client, staff)
    return staff


def token(client):
    return csrf_from(client.get("/admin/companies/").text)


# --- access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", list(PAGES))
def test_anonymous_is_sent_to_staff_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/admin/login/" in response.headers["Location"]


@pytest.mark.parametrize("url", list(PAGES))
def test_company_user_is_sent_to_staff_login(app, client, url):
    company = make_company()
    login_person(client, make_member(company), company)
    response = client.get(url)
    assert response.status_code == 302
    assert "/admin/login/" in response.headers["Location"]


@pytest.mark.parametrize(("url", "role"), FORBIDDEN_GETS)
def test_wrong_staff_role_gets_403(app, client, url, role):
    as_staff(client, role)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize(("url", "role"), FORBIDDEN_POSTS)
def test_wrong_staff_role_cannot_post(app, client, url, role):
    make_definition()
    company = make_company()
    make_member(company, verified=False)
    OutboxMessage.queue("invitation", "x@example.test")
    as_staff(client, role)
    response = client.post(
        url, data={"csrf_token": token(client), "action": "retry", "rowid": ["1"], "yaml_text": V2}
    )
    assert response.status_code == 403
    assert ProcedureDefinition.select().count() == 1
    assert Membership.get_by_id(1).professional_email is not None


@pytest.mark.parametrize(("url", "role"), LISTS)
def test_allowed_roles_see_the_lists(app, client, url, role):
    as_staff(client, role)
    assert client.get(url).status_code == 200


def test_menu_shows_only_the_views_of_the_role(app, client):
    as_staff(client, HELPDESK)
    page = client.get("/admin/companies/").text
    assert "/admin/memberships/" in page and "/admin/companies/" in page
    assert "/admin/definitions/" not in page and "/admin/outbox/" not in page
    assert "/admin/audit/" not in page and "/admin/dossiers/" not in page


# --- outbox ---------------------------------------------------------------------------------


def failed_message(to="agence@example.test", event="submitted"):
    message = OutboxMessage.queue(event, to)
    OutboxMessage.update(
        status=OutboxStatus.FAILED.value, attempts=6, last_error="SMTPServerDisconnected: boom"
    ).where(OutboxMessage.id == message.id).execute()
    return OutboxMessage.get_by_id(message.id)


def test_outbox_list_filters_search_and_detail(app, client):
    failed = failed_message()
    sent = OutboxMessage.queue("invitation", "autre@example.test", code="123456")
    as_staff(client, SUPERVISOR)
    page = text(client.get("/admin/outbox/"))
    assert "agence@example.test" in page and "autre@example.test" in page
    assert "SMTPServerDisconnected: boom" in page
    found = client.get("/admin/outbox/?search=autre").text
    assert "autre@example.test" in found and "agence@example.test" not in found
    failed_only = client.get("/admin/outbox/?flt0_0=failed").text
    assert "agence@example.test" in failed_only and "autre@example.test" not in failed_only
    by_event = client.get("/admin/outbox/?flt0_1=invitation").text
    assert "autre@example.test" in by_event and "agence@example.test" not in by_event
    detail = text(client.get(f"/admin/outbox/details/?id={sent.id}"))
    assert "autre@example.test" in detail and "123456" not in detail
    assert "Réessayer" not in detail
    assert "Réessayer" in text(client.get(f"/admin/outbox/details/?id={failed.id}"))


def test_outbox_retry_of_a_failed_message(app, client):
    message = failed_message()
    staff = as_staff(client, ADMIN)
    detail = client.get(f"/admin/outbox/details/?id={message.id}")
    response = client.post(
        f"/admin/outbox/retry/{message.id}", data={"csrf_token": csrf_from(detail.text)}
    )
    assert response.status_code == 302
    retried = OutboxMessage.get_by_id(message.id)
    assert retried.status == OutboxStatus.PENDING.value and retried.next_attempt_at <= utcnow()
    event = AuditEvent.get(AuditEvent.action == "outbox.retry")
    assert event.actor_staff_id == staff.id and event.target_id == str(message.id)


def test_outbox_bulk_retry_skips_what_did_not_fail(app, client):
    failed = [failed_message(f"f{n}@example.test") for n in range(2)]
    pending = OutboxMessage.queue("received", "p@example.test")
    as_staff(client, SUPERVISOR)
    page = client.get("/admin/outbox/")
    response = client.post(
        "/admin/outbox/action/",
        data={
            "action": "retry",
            "rowid": [str(m.id) for m in [*failed, pending]],
            "csrf_token": csrf_from(page.text),
        },
        follow_redirects=True,
    )
    assert "2 e-mail(s) remis en file" in text(response) and "1 e-mail(s) ignoré" in text(response)
    assert all(OutboxMessage.get_by_id(m.id).status == "pending" for m in failed)
    assert AuditEvent.select().where(AuditEvent.action == "outbox.retry").count() == 2


def test_outbox_is_read_only(app, client):
    message = failed_message()
    as_staff(client, ADMIN)
    csrf = token(client)
    assert client.get("/admin/outbox/new/").status_code == 302
    client.post(f"/admin/outbox/edit/?id={message.id}", data={"csrf_token": csrf, "to_email": "x"})
    client.post("/admin/outbox/delete/", data={"csrf_token": csrf, "id": str(message.id)})
    assert OutboxMessage.get_by_id(message.id).to_email == "agence@example.test"


# --- audit log ------------------------------------------------------------------------------


def test_audit_log_lists_newest_first_with_filters_and_target_search(app, client):
    dossier = make_dossier(DossierStatus.RECEIVED)
    agent = make_staff(AGENT, full_name="Agent Traitant")
    AuditEvent.record(
        "dossier.transition", Actor.staff_member(agent), target=dossier, to="received"
    )
    staff = as_staff(client, SUPERVISOR)
    page = text(client.get("/admin/audit/"))
    assert page.index("staff.login") < page.index("dossier.transition")
    assert staff.full_name in page and "Agent Traitant" in page and "to : received" in page
    only = text(client.get("/admin/audit/?flt0_0=dossier.transition"))
    assert "dossier.transition" in only and "staff.login" not in only
    staff_only = text(client.get("/admin/audit/?flt0_2=staff"))
    assert "staff.login" in staff_only
    assert "staff.login" not in text(client.get("/admin/audit/?flt0_2=applicant"))
    by_target = text(client.get(f"/admin/audit/?search={dossier.id}"))
    assert "dossier.transition" in by_target and "staff.login" not in by_target
    by_reference = text(client.get(f"/admin/audit/?search={dossier.reference.lower()}"))
    assert "dossier.transition" in by_reference and "staff.login" not in by_reference
    assert f"Dossier {dossier.reference}" in page and "Membre du personnel n°" in page
    tomorrow = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%d+%H:%M:%S")
    later = text(client.get(f"/admin/audit/?flt0_5={tomorrow}"))
    assert "dossier.transition" not in later


def test_audit_log_cannot_be_created_edited_or_deleted(app, client):
    as_staff(client, ADMIN)
    event = AuditEvent.get(AuditEvent.action == "staff.login")
    before = list(AuditEvent.select().order_by(AuditEvent.id).tuples())
    csrf = token(client)
    assert client.get("/admin/audit/new/").status_code == 302
    client.post("/admin/audit/new/", data={"csrf_token": csrf, "action": "forged"})
    assert client.get(f"/admin/audit/edit/?id={event.id}").status_code == 302
    client.post(f"/admin/audit/edit/?id={event.id}", data={"csrf_token": csrf, "action": "x"})
    client.post("/admin/audit/delete/", data={"csrf_token": csrf, "id": str(event.id)})
    client.post(
        "/admin/audit/action/",
        data={"csrf_token": csrf, "action": "delete", "rowid": [str(event.id)]},
    )
    after = list(AuditEvent.select().where(AuditEvent.id.in_([r[0] for r in before])).tuples())
    assert after == before
    assert not AuditEvent.select().where(AuditEvent.action.in_(["forged", "x"])).exists()
    page = client.get(f"/admin/audit/details/?id={event.id}").text
    assert "/admin/audit/edit/" not in page and "/admin/audit/delete/" not in page


# --- companies, persons, memberships --------------------------------------------------------


def test_search_companies_persons_and_memberships(app, client):
    alpha = make_company(name="Alpha Intérim")
    make_company(name="Beta Placement")
    person = make_member(alpha, surname="Dupont", given_name="Jeanne")
    as_staff(client, HELPDESK)
    found = text(client.get("/admin/companies/?search=alpha"))
    assert "Alpha Intérim" in found and "Beta Placement" not in found
    dotted = alpha.formatted_number
    by_number = text(client.get(f"/admin/companies/?search={dotted}"))
    assert "Alpha Intérim" in by_number and "Beta Placement" not in by_number
    nn = person.national_number
    typed = f"{nn[:2]}.{nn[2:4]}.{nn[4:6]}-{nn[6:9]}.{nn[9:]}"
    assert "Dupont" in text(client.get(f"/admin/persons/?search={typed}"))
    assert "Jeanne Dupont" in text(client.get("/admin/memberships/?search=Dupont+Alpha"))
    assert "Jeanne Dupont" not in text(client.get("/admin/memberships/?search=Beta"))
    details = text(client.get(f"/admin/persons/details/?id={person.id}"))
    assert "Alpha Intérim" in details and "Signature" in details


def test_agent_reads_companies_without_their_users(app, client):
    company = make_company(name="Agence Lue")
    make_member(company, surname="Membre")
    as_staff(client, AGENT)
    page = text(client.get(f"/admin/companies/details/?id={company.id}"))
    assert "Agence Lue" in page and "Membre" not in page


def test_helpdesk_sees_no_dossier_content(app, client):
    company = make_company()
    person = make_member(company)
    dossier = make_dossier(DossierStatus.SUBMITTED, company=company, person=person)
    Dossier.update(answers={"note": "RÉPONSE-CONFIDENTIELLE"}).where(
        Dossier.id == dossier.id
    ).execute()
    as_staff(client, HELPDESK)
    membership = person.membership_in(company.id)
    for url in (
        "/admin/companies/",
        f"/admin/companies/details/?id={company.id}",
        f"/admin/persons/details/?id={person.id}",
        f"/admin/memberships/details/?id={membership.id}",
    ):
        page = client.get(url)
        assert page.status_code == 200
        assert "RÉPONSE-CONFIDENTIELLE" not in text(page) and dossier.reference not in page.text
    assert client.get(f"/admin/dossiers/details/?id={dossier.id}").status_code == 403


def test_helpdesk_reset_brings_back_the_email_gate(app, client):
    company = make_company(name="Agence Reset")
    person = make_member(company, email="ancienne@agence.test")
    membership = person.membership_in(company.id)
    person_client = app.test_client()
    login_person(person_client, person, company)
    assert person_client.get("/dossiers/").status_code == 200

    helpdesk = as_staff(client, HELPDESK)
    detail = text(client.get(f"/admin/memberships/details/?id={membership.id}"))
    assert "Réinitialiser l'adresse e-mail professionnelle" in detail
    url = f"/admin/memberships/reset-email/{membership.id}"
    confirm = client.get(url)
    assert "ancienne@agence.test" in text(confirm)
    assert Membership.get_by_id(membership.id).notification_email == "ancienne@agence.test"
    client.post(url, data={"csrf_token": csrf_from(confirm.text)})

    reset = Membership.get_by_id(membership.id)
    assert reset.professional_email is None and reset.professional_email_verified_at is None
    gated = person_client.get("/dossiers/")
    assert gated.status_code == 302 and gated.headers["Location"].endswith("/entreprise/email/")
    event = AuditEvent.get(AuditEvent.action == "membership.email_reset")
    assert event.actor_staff_id == helpdesk.id and event.target_id == str(membership.id)
    assert event.details["previous_email"] == "ancienne@agence.test"
    notice = OutboxMessage.get(OutboxMessage.event == "access_changed")
    assert notice.to_email == "ancienne@agence.test" and notice.person_id == person.id
    with app.app_context():
        _subject, body, _html = notifications.render(notice)
    assert "Le helpdesk du Guichet a modifié vos accès" in body and "réinitialisée" in body


def test_helpdesk_resends_a_pending_validation(app, client):
    company = make_company()
    person = make_member(company, verified=False, email="nouvelle@agence.test")
    membership = person.membership_in(company.id)
    helpdesk = as_staff(client, HELPDESK)
    url = f"/admin/memberships/resend-validation/{membership.id}"
    assert "Renvoyer la validation" in text(
        client.get(f"/admin/memberships/details/?id={membership.id}")
    )
    confirm = client.get(url)
    client.post(url, data={"csrf_token": csrf_from(confirm.text)})

    mail = OutboxMessage.get(OutboxMessage.event == "email_verification")
    assert mail.to_email == "nouvelle@agence.test" and len(mail.context["code"]) == 6
    assert mail.context["link_path"].startswith("/entreprise/email/valider/")
    assert VerificationCode.get(VerificationCode.subject == str(membership.id)).purpose == (
        "pro-email"
    )
    assert OutboxMessage.select().where(OutboxMessage.event == "access_changed").count() == 1
    event = AuditEvent.get(AuditEvent.action == "membership.email_validation_resent")
    assert event.actor_staff_id == helpdesk.id

    person_client = app.test_client()
    login_person(person_client, person, company)
    assert person_client.get("/dossiers/").status_code == 302
    person_client.get(mail.context["link_path"])
    assert Membership.get_by_id(membership.id).notification_email == "nouvelle@agence.test"
    assert person_client.get("/dossiers/").status_code == 200


def test_resend_needs_a_pending_address(app, client):
    company = make_company()
    membership = make_member(company).membership_in(company.id)
    as_staff(client, HELPDESK)
    response = client.post(
        f"/admin/memberships/resend-validation/{membership.id}",
        data={"csrf_token": token(client)},
        follow_redirects=True,
    )
    assert "n'attend de validation" in text(response)
    assert not OutboxMessage.select().exists()


def test_script_in_names_is_escaped_in_the_lists(app, client):
    company = make_company(name="<script>alert(1)</script>")
    person = make_member(company, surname="<script>alert(2)</script>")
    failed_message(to="<script>@example.test")
    as_staff(client, ADMIN)
    membership = person.membership_in(company.id)
    for url in (
        "/admin/companies/",
        f"/admin/companies/details/?id={company.id}",
        "/admin/persons/",
        f"/admin/persons/details/?id={person.id}",
        "/admin/memberships/",
        f"/admin/memberships/details/?id={membership.id}",
        "/admin/outbox/",
    ):
        page = client.get(url).text
        assert "<script>alert" not in page and "<script>@" not in page, url
        assert "&lt;script&gt;" in page, url


def test_person_search_by_accented_given_name(app, client):
    make_person(given_name="Zoé", surname="Lambert")
    make_person(given_name="Marc", surname="Zorro")
    as_staff(client, SUPERVISOR)
    for typed in ("zo%C3%A9", "zoe", "ZOE+lambert"):
        found = text(client.get(f"/admin/persons/?search={typed}"))
        assert "Lambert" in found and "Zorro" not in found, typed


@pytest.mark.parametrize(
    ("url", "role"), [(url, min(roles, key=lambda r: r.value)) for url, roles in POSTS.items()]
)
def test_posts_without_the_csrf_token_are_400(app, client, url, role):
    make_definition()
    make_member(make_company(), verified=False)
    OutboxMessage.queue("invitation", "x@example.test")
    as_staff(client, role)
    response = client.post(url, data={"action": "retry", "rowid": ["1"], "yaml_text": V2})
    assert response.status_code == 400
    assert ProcedureDefinition.select().count() == 1
    assert Membership.get_by_id(1).professional_email is not None
    assert not AuditEvent.select().where(~AuditEvent.action.startswith("staff.")).exists()
