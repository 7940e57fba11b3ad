"""Every (from, to) pair of the six statuses, with every actor kind: allowed or refused."""

import itertools

import pytest

from helpers import make_company, make_dossier, make_member, make_staff
from models import (
    Actor,
    ActorKind,
    Decision,
    Dossier,
    DossierStatus,
    OutboxMessage,
    Role,
    StaffRole,
    StatusChange,
    TransitionError,
)

S = DossierStatus
# The transition table, written out again by hand, independently of models.TRANSITIONS:
# (from, to) -> (actor kind, staff role that may do it, email event)
EXPECTED = {
    (S.DRAFT, S.COMPLETE): (ActorKind.SYSTEM, None, None),
    (S.COMPLETE, S.DRAFT): (ActorKind.SYSTEM, None, None),
    (S.COMPLETE, S.SUBMITTED): (ActorKind.APPLICANT, None, "submitted"),
    (S.SUBMITTED, S.RECEIVED): (ActorKind.STAFF, StaffRole.AGENT, "received"),
    (S.RECEIVED, S.PROCESSING): (ActorKind.STAFF, StaffRole.AGENT, "processing"),
    (S.PROCESSING, S.CLOSED): (ActorKind.STAFF, StaffRole.AGENT, "closed"),
    (S.CLOSED, S.PROCESSING): (ActorKind.STAFF, StaffRole.SUPERVISOR, "processing"),
}
PAIRS = list(itertools.product(DossierStatus, DossierStatus))
assert len(PAIRS) == 36


def actor_of(kind, person, pair):
    if kind == ActorKind.SYSTEM:
        return Actor.system()
    if kind == ActorKind.APPLICANT:
        return Actor.applicant(person)
    if kind == ActorKind.API:  # a REST API token: no transition is its own (#14)
        return Actor.api(None)
    expected = EXPECTED.get(pair)
    role = expected[1] if expected and expected[1] else StaffRole.AGENT
    return Actor.staff_member(make_staff(role))


def snapshot(dossier):
    return (
        Dossier.get_by_id(dossier.id).status,
        StatusChange.select().where(StatusChange.dossier == dossier).count(),
        OutboxMessage.select().where(OutboxMessage.dossier == dossier).count(),
    )


@pytest.mark.parametrize("kind", list(ActorKind), ids=lambda k: k.value)
@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p[0].value}-{p[1].value}")
def test_transition_table(app, pair, kind):
    origin, target = pair
    company = make_company()
    person = make_member(company, Role.SIGN)
    make_member(company, Role.CONSULT)  # a second user with a role also gets the emails
    dossier = make_dossier(origin, company=company, person=person)
    status_before, history_before, outbox_before = snapshot(dossier)
    expected = EXPECTED.get(pair)
    allowed = expected is not None and expected[0] == kind

    call = lambda: dossier.transition(  # noqa: E731
        target,
        actor_of(kind, person, pair),
        comment="Motif de réouverture",
        decision=Decision.REFUSED,
    )
    if not allowed:
        with pytest.raises(TransitionError):
            call()
        assert snapshot(dossier) == (status_before, history_before, outbox_before)
        return

    call()
    status_after, history_after, outbox_after = snapshot(dossier)
    assert status_after == target.value
    assert history_after == history_before + 1
    row = (
        StatusChange.select()
        .where(StatusChange.dossier == dossier)
        .order_by(StatusChange.id.desc())
        .get()
    )
    assert (row.from_status, row.to_status, row.actor_kind) == (
        origin.value,
        target.value,
        kind.value,
    )
    event = expected[2]
    if event is None:
        assert outbox_after == outbox_before
    else:
        assert outbox_after == outbox_before + 2
        emails = OutboxMessage.select().where(
            OutboxMessage.dossier == dossier, OutboxMessage.event == event
        )
        assert {m.to_email for m in emails} >= {person.login_email}


def test_agent_cannot_reopen(app):
    dossier = make_dossier(S.CLOSED)
    with pytest.raises(TransitionError, match="supervisor"):
        dossier.transition(S.PROCESSING, Actor.staff_member(make_staff(StaffRole.AGENT)), "x")
    assert Dossier.get_by_id(dossier.id).status == S.CLOSED.value


@pytest.mark.parametrize("role", [StaffRole.HELPDESK, StaffRole.ADMIN])
def test_non_processing_staff_cannot_receive(app, role):
    dossier = make_dossier(S.SUBMITTED)
    with pytest.raises(TransitionError):
        dossier.transition(S.RECEIVED, Actor.staff_member(make_staff(role)))
    assert Dossier.get_by_id(dossier.id).status == S.SUBMITTED.value


def test_reopen_needs_a_reason(app):
    dossier = make_dossier(S.CLOSED)
    with pytest.raises(TransitionError, match="reason"):
        dossier.transition(S.PROCESSING, Actor.staff_member(make_staff(StaffRole.SUPERVISOR)), " ")


def test_close_needs_a_decision(app):
    dossier = make_dossier(S.PROCESSING)
    with pytest.raises(TransitionError, match="decision"):
        dossier.transition(S.CLOSED, Actor.staff_member(make_staff()))
    assert Dossier.get_by_id(dossier.id).status == S.PROCESSING.value


def test_submission_gives_gap_free_references(app):
    company = make_company()
    person = make_member(company)
    refs = [make_dossier(S.SUBMITTED, company=company, person=person).reference for _ in range(3)]
    year = Dossier.get(Dossier.reference == refs[0]).submitted_at.year
    assert refs == [f"ENR-{year}-{n:06d}" for n in (1, 2, 3)]


def test_closing_records_decision_and_email_context(app):
    dossier = make_dossier(S.CLOSED)
    dossier = Dossier.get_by_id(dossier.id)
    assert dossier.decision == Decision.GRANTED.value
    assert dossier.closed_at is not None
    closed = OutboxMessage.get(OutboxMessage.dossier == dossier, OutboxMessage.event == "closed")
    assert closed.context["decision"] == "granted"
    assert closed.context["reference"] == dossier.reference


def test_opted_out_and_unverified_users_get_no_email(app):
    company = make_company()
    signer = make_member(company, Role.SIGN)
    consult = make_member(company, Role.CONSULT)
    opted_out = make_member(company, Role.ENCODE)
    opted_out.notifications_opt_out = True
    opted_out.save()
    unverified = make_member(company, Role.ENCODE, verified=False)
    no_role = make_member(company, Role(0))
    dossier = make_dossier(S.SUBMITTED, company=company, person=signer)
    to = {m.to_email for m in OutboxMessage.select().where(OutboxMessage.dossier == dossier)}
    assert signer.login_email in to
    assert consult.login_email in to
    assert opted_out.login_email not in to
    assert unverified.login_email not in to
    assert no_role.login_email not in to
    assert len(to) == 2
