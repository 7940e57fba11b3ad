"""The access services called directly: each allowed change writes its row, its audit event and
its email together; each refusal says why and writes nothing."""

import pytest

import notifications
import sources
import verification
from access import AccessRefused, members, professional_email
from helpers import make_company, make_member, make_person, make_staff, national_number
from models import Actor, AuditEvent, Membership, OutboxMessage, Person, Role, StaffRole

AGENCE = "0566988259"  # sample register: legal representative Marie Dubois
MARIE = "93051822361"


@pytest.fixture
def rctx(app):
    """A request context: the services build validation links with url_for."""
    with app.test_request_context():
        yield


def fresh(person):
    return Actor.applicant(person, ip_address="192.0.2.7", fresh_login=True)


def counts():
    return (
        Membership.select().count(),
        Person.select().count(),
        AuditEvent.select().count(),
        OutboxMessage.select().count(),
    )


@pytest.fixture
def team(rctx):
    company = make_company()
    return company, make_member(company, manager=True)  # the main access manager


def new_person(n=901):
    return members.NewPerson(national_number(n), "Martin", "Léa", "Lea.Martin@Example.test")


def test_invite_writes_membership_audit_and_email(team):
    company, gap = team
    membership = members.invite(fresh(gap), company.id, new_person(), int(Role.ENCODE))
    assert membership.roles == Role.ENCODE
    assert membership.invited_email == "lea.martin@example.test"
    event = AuditEvent.get(AuditEvent.action == "access.invite")
    assert event.actor_person_id == gap.id and event.ip_address == "192.0.2.7"
    assert event.target_id == str(membership.id)
    email = OutboxMessage.get(OutboxMessage.event == "invitation")
    assert email.to_email == "lea.martin@example.test"
    assert email.context["actor"] == gap.full_name


@pytest.mark.parametrize(
    "actor_of, message",
    [
        (lambda gap, other: Actor.applicant(gap), "confirmez votre identité"),
        (lambda gap, other: fresh(other), "Seuls les gestionnaires d'accès"),
    ],
)
def test_invite_refused_writes_nothing(team, actor_of, message):
    company, gap = team
    other = make_member(company, roles=Role.SIGN)
    before = counts()
    with pytest.raises(AccessRefused, match=message):
        members.invite(actor_of(gap, other), company.id, new_person(), int(Role.ENCODE))
    assert counts() == before


def test_invite_of_an_existing_member_is_refused(team):
    company, gap = team
    member = make_member(company, roles=Role.CONSULT)
    before = counts()
    known = members.NewPerson(member.national_number, "X", "Y", "x@example.test")
    with pytest.raises(AccessRefused, match="a déjà accès"):
        members.invite(fresh(gap), company.id, known, int(Role.SIGN))
    assert counts() == before


def test_change_roles_audits_and_emails_only_a_change(team):
    company, gap = team
    member = make_member(company, roles=Role.CONSULT)
    membership = member.membership_in(company.id)
    assert members.change_roles(fresh(gap), membership, int(Role.SIGN)) is True
    assert Membership.get_by_id(membership.id).roles == Role.SIGN
    event = AuditEvent.get(AuditEvent.action == "access.roles")
    assert (event.details["before"], event.details["after"]) == (Role.CONSULT, Role.SIGN)
    assert OutboxMessage.get(OutboxMessage.event == "access_changed").person_id == member.id
    before = counts()
    assert members.change_roles(fresh(gap), membership, int(Role.SIGN)) is False
    assert counts() == before


def test_co_manager_named_by_the_main_manager_only(team):
    company, gap = team
    member = make_member(company, roles=Role.CONSULT)
    membership = member.membership_in(company.id)
    members.set_co_manager(fresh(gap), membership, True)
    assert Membership.get_by_id(membership.id).is_access_manager
    third = make_member(company, roles=Role.CONSULT).membership_in(company.id)
    before = counts()
    with pytest.raises(AccessRefused, match="Seul le gestionnaire d'accès principal"):
        members.set_co_manager(fresh(member), third, True)  # a co-manager may not
    with pytest.raises(AccessRefused, match="représentant légal"):
        members.set_co_manager(fresh(gap), gap.membership_in(company.id), False)
    assert counts() == before


def test_the_main_manager_cannot_be_revoked(team):
    company, gap = team
    co = make_member(company, manager=True)
    Membership.update(is_main_access_manager=False).where(Membership.person == co).execute()
    before = counts()
    with pytest.raises(AccessRefused, match="doit toujours en avoir un"):
        members.revoke(fresh(co), gap.membership_in(company.id))
    assert counts() == before


def test_revoke_deletes_and_tells_the_member(team):
    company, gap = team
    member = make_member(company, roles=Role.ENCODE)
    members.revoke(fresh(gap), member.membership_in(company.id))
    assert member.membership_in(company.id) is None
    assert AuditEvent.get(AuditEvent.action == "access.revoke").details["person"] == (
        member.national_number
    )
    assert OutboxMessage.get(OutboxMessage.event == "access_changed").to_email == (
        member.login_email
    )


def test_a_failing_email_undoes_the_change_and_its_audit(team, monkeypatch):
    company, gap = team
    membership = make_member(company, roles=Role.CONSULT).membership_in(company.id)

    def broken(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(notifications, "access_changed", broken)
    before = counts()
    with pytest.raises(RuntimeError):
        members.change_roles(fresh(gap), membership, int(Role.SIGN))
    assert counts() == before
    assert Membership.get_by_id(membership.id).roles == Role.CONSULT


def test_activation_by_a_legal_representative(rctx):
    sources.load_sample_if_empty()
    marie = make_person(national_number=MARIE)
    company, membership = members.activate_company(fresh(marie), "0566.988.259")
    assert company.activated_at is not None
    assert membership.person_id == marie.id and membership.is_main_access_manager
    assert AuditEvent.get(AuditEvent.action == "access.gap_named").target_id == str(membership.id)


def test_activation_refused_with_the_field_it_is_about(rctx):
    sources.load_sample_if_empty()
    someone = make_person()
    before = counts()
    with pytest.raises(AccessRefused, match="représentant légal") as refused:
        members.activate_company(fresh(someone), AGENCE)
    assert refused.value.field == "enterprise_number"
    with pytest.raises(AccessRefused) as unknown:
        members.activate_company(fresh(someone), "0000.000.097")
    assert unknown.value.field == "enterprise_number"
    assert counts() == before


def test_professional_email_validated_by_code(rctx):
    company = make_company()
    person = make_member(company, verified=False)
    membership = person.membership_in(company.id)
    professional_email.request_validation(fresh(person), membership, " Pro@Example.test ")
    email = OutboxMessage.get(OutboxMessage.event == "email_verification")
    assert email.to_email == "pro@example.test"
    assert email.context["link_path"].startswith("/entreprise/email/valider/")
    with pytest.raises(AccessRefused) as wrong:
        professional_email.validate_code(fresh(person), membership, "000000")
    assert wrong.value.field == "code"
    professional_email.validate_code(fresh(person), membership, email.context["code"])
    assert Membership.get_by_id(membership.id).notification_email == "pro@example.test"
    assert AuditEvent.get(AuditEvent.action == "membership.email_validated")


def test_someone_elses_link_is_refused_and_stays_usable(rctx):
    company = make_company()
    owner = make_member(company, verified=False)
    membership = owner.membership_in(company.id)
    _code, token = verification.issue(
        professional_email.PURPOSE,
        str(membership.id),
        "email",
        "owner@example.test",
        verification.PRO_EMAIL_TTL,
        with_token=True,
    )
    Membership.update(professional_email="owner@example.test").execute()
    assert professional_email.validate_link(fresh(make_person()), token) is None
    validated = professional_email.validate_link(fresh(owner), token)
    assert validated.id == membership.id
    with pytest.raises(AccessRefused, match="déjà été utilisé"):
        professional_email.validate_link(fresh(owner), token)


def test_helpdesk_reset_and_resend(rctx):
    company = make_company()
    person = make_member(company)
    membership = person.membership_in(company.id)
    helpdesk = Actor.staff_member(make_staff(role=StaffRole.HELPDESK))
    agent = Actor.staff_member(make_staff(role=StaffRole.AGENT))
    before = counts()
    with pytest.raises(AccessRefused, match="helpdesk"):
        professional_email.reset(agent, membership)
    with pytest.raises(AccessRefused, match="attend de validation"):
        professional_email.resend_validation(helpdesk, membership)  # validated: none pending
    assert counts() == before
    professional_email.reset(helpdesk, membership)
    fresh_row = Membership.get_by_id(membership.id)
    assert fresh_row.professional_email is None
    assert OutboxMessage.get(OutboxMessage.event == "access_changed").to_email == (
        person.login_email
    )
    assert AuditEvent.get(AuditEvent.action == "membership.email_reset").actor_staff_id
    with pytest.raises(AccessRefused, match="Aucune adresse professionnelle à réinitialiser"):
        professional_email.reset(helpdesk, fresh_row)


def test_a_manager_without_a_validated_address_changes_nothing(team):
    company, _gap = team
    manager = make_member(company, manager=True, verified=False)
    before = counts()
    with pytest.raises(AccessRefused, match="Validez d'abord"):
        members.invite(fresh(manager), company.id, new_person(), int(Role.ENCODE))
    assert counts() == before
