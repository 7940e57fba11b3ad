"""The event log (models.Event, dossiers/events.py): each status change, message, complement
answer and access change writes its event in its own transaction, numbered per dossier with no
gap and no duplicate, even under concurrent writers; a change that rolls back writes none;
drafts write none; the feed reads them in one order, the same every time, and never skips an
event whose transaction committed after a later one's."""

import json
import threading

import pytest
from test_concurrency import race
from test_pdf_check import blank_pdf

import models
import notifications
import sources
from access import members
from dossiers import events, filling, messages, processing
from helpers import (
    make_company,
    make_definition,
    make_dossier,
    make_member,
    make_person,
    make_staff,
    national_number,
)
from models import (
    Actor,
    ConcurrentTransitionError,
    Decision,
    Dossier,
    DossierStatus,
    Event,
    EventPosition,
    EventType,
    Role,
    StaffRole,
    write_transaction,
)

S = DossierStatus


@pytest.fixture
def rctx(app):
    with app.test_request_context():
        yield


def fresh(person):
    return Actor.applicant(person, fresh_login=True)


def staff(role=StaffRole.AGENT):
    return Actor.staff_member(make_staff(role=role))


def of(dossier):
    return list(Event.select().where(Event.dossier == dossier).order_by(Event.sequence))


def types_and_sequences(dossier):
    return [(e.type, e.sequence) for e in of(dossier)]


def test_a_dossier_life_writes_one_event_per_change_numbered_from_one(rctx):
    agent, supervisor = staff(), staff(StaffRole.SUPERVISOR)
    dossier = make_dossier(S.SUBMITTED, definition=make_definition("enregistrement", "ENR"))
    assert types_and_sequences(dossier) == [("dossier.submitted", 1)]
    processing.receive(agent, dossier)
    processing.start_processing(agent, dossier)
    processing.close(agent, dossier, Decision.REFUSED.value, "Pièces manquantes.")
    processing.reopen(supervisor, dossier, "Pièces reçues par courrier.")
    processing.close(agent, dossier, Decision.GRANTED.value, "Conditions remplies.")

    assert types_and_sequences(dossier) == [
        ("dossier.submitted", 1),
        ("dossier.received", 2),
        ("dossier.processing", 3),
        ("dossier.closed", 4),
        ("dossier.reopened", 5),
        ("dossier.closed", 6),
    ]
    assert Dossier.get_by_id(dossier.id).event_sequence == 6
    submitted, received, *_, reopened, closed = of(dossier)
    assert submitted.actor_kind == "applicant" and submitted.actor_label is None
    assert received.actor_kind == "staff" and received.actor_label == agent.staff.full_name
    assert closed.company_id == dossier.company_id and closed.procedure_code == "enregistrement"
    assert closed.data == {
        "dossier_id": dossier.id,
        "reference": dossier.reference,
        "procedure": "enregistrement",
        "procedure_version": 1,
        "enterprise_number": dossier.company.enterprise_number,
        "status": "closed",
        "from_status": "processing",
        "to_status": "closed",
        "decision": "granted",
    }
    assert reopened.data["from_status"] == "closed" and reopened.data["decision"] is None
    # nothing personal, nothing a retention would have to erase: no motivation, no reason
    assert all("Pièces" not in json.dumps(e.data) for e in of(dossier))
    assert all(e.position is None for e in of(dossier))  # until the sequencer runs


def test_messages_complements_and_answers_write_their_events(rctx):
    agent = staff()
    company = make_company()
    person = make_member(company, Role.ENCODE)
    dossier = make_dossier(S.RECEIVED, company=company)
    message = messages.send_to_company(agent, dossier, "Bonjour, votre dossier avance.")
    request = messages.request_complement(agent, dossier, "Vos statuts ?", ["statuts"])
    answer = messages.reply(
        Actor.applicant(person), dossier, "Voici nos statuts.", [("statuts.pdf", blank_pdf(1))]
    )

    assert types_and_sequences(dossier) == [
        ("dossier.submitted", 1),
        ("dossier.received", 2),
        ("dossier.message", 3),
        ("dossier.complement_requested", 4),
        ("dossier.complement_answered", 5),
    ]
    *_, told, asked, answered = of(dossier)
    assert told.data["message_id"] == message.id and told.data["status"] == "received"
    assert asked.data["message_id"] == request.id
    assert asked.data["requested_annexes"] == ["statuts"]
    assert answered.data["message_id"] == answer.id and answered.data["in_reply_to"] == request.id
    assert answered.data["annex_ids"] == [a.id for a in answer.annexes]
    assert answered.actor_kind == "applicant" and answered.actor_label is None
    assert all("statuts." not in json.dumps(e.data) for e in of(dossier))  # no message text


def test_access_changes_write_company_events(rctx):
    company = make_company()
    gap = make_member(company, manager=True)
    invited = members.invite(
        fresh(gap),
        company.id,
        members.NewPerson(national_number(901), "Martin", "Léa", "lea@example.test"),
        int(Role.ENCODE),
    )
    members.change_roles(fresh(gap), invited, int(Role.SIGN))
    members.set_co_manager(fresh(gap), invited, True)
    members.set_co_manager(fresh(gap), invited, False)
    members.revoke(fresh(gap), invited)

    rows = list(Event.select().where(Event.company == company).order_by(Event.id))
    assert [(e.type, e.data["change"]) for e in rows] == [
        ("company.access_changed", "invited"),
        ("company.access_changed", "roles"),
        ("company.access_changed", "co_manager"),
        ("company.access_changed", "co_manager_ended"),
        ("company.access_changed", "revoked"),
    ]
    assert all(e.dossier_id is None and e.sequence is None for e in rows)
    assert all(e.procedure_code is None for e in rows)
    invite_event, roles_event, co_event, _ended, revoked = (e.data for e in rows)
    assert invite_event == {
        "change": "invited",
        "membership_id": invited.id,
        "person_id": invited.person_id,
        "roles": ["encode"],
        "access_manager": False,
        "main_access_manager": False,
        "enterprise_number": company.enterprise_number,
    }
    assert roles_event["roles"] == ["sign"] and co_event["access_manager"] is True
    assert revoked["roles"] == [] and revoked["access_manager"] is False
    assert national_number(901) not in json.dumps([e.data for e in rows])  # no national number


def test_naming_a_new_main_access_manager_writes_both_changes(rctx):
    sources.load_sample_if_empty()
    marie = make_person(national_number="93051822361")  # the sample register's legal representative
    company, first = members.activate_company(fresh(marie), "0566.988.259")
    new = members.NewPerson(national_number(902), "Martin", "Léa", "lea@example.test")
    _company, second = members.activate_company(fresh(marie), "0566.988.259", gap=new)
    rows = list(Event.select().where(Event.company == company).order_by(Event.id))
    assert [(e.data["change"], e.data["membership_id"]) for e in rows] == [
        ("gap_named", first.id),
        ("gap_replaced", first.id),
        ("gap_named", second.id),
    ]
    assert rows[1].data["main_access_manager"] is False and rows[2].data["main_access_manager"]


def test_a_change_rolled_back_writes_no_event_and_takes_no_number(rctx, monkeypatch):
    agent = staff()
    dossier = make_dossier(S.SUBMITTED)
    with pytest.raises(RuntimeError), write_transaction():
        dossier.transition(S.RECEIVED, agent)
        raise RuntimeError("the request failed after the change")
    fresh_row = Dossier.get_by_id(dossier.id)
    assert fresh_row.status == "submitted" and fresh_row.event_sequence == 1
    assert types_and_sequences(dossier) == [("dossier.submitted", 1)]

    def broken(*args, **kwargs):
        raise RuntimeError("outbox unavailable")

    monkeypatch.setattr(notifications, "message_to_company", broken)
    with pytest.raises(RuntimeError):
        messages.send_to_company(agent, fresh_row, "Bonjour")
    company = make_company()
    gap = make_member(company, manager=True)
    member = make_member(company, Role.CONSULT).membership_in(company.id)
    monkeypatch.setattr(notifications, "access_changed", broken)
    with pytest.raises(RuntimeError):
        members.change_roles(fresh(gap), member, int(Role.SIGN))
    assert Event.select().count() == 1

    monkeypatch.undo()
    processing.receive(agent, fresh_row)  # the next number follows, no gap
    assert types_and_sequences(dossier) == [("dossier.submitted", 1), ("dossier.received", 2)]


def test_drafts_never_write_events(app, rctx):
    person = make_member(make_company(), Role.SIGN)
    dossier = make_dossier(S.DRAFT, person=person)
    dossier.transition(S.COMPLETE, Actor.system())
    dossier.transition(S.DRAFT, Actor.system())
    filling.create(
        fresh(person), person.memberships.get(), make_definition("rapport-activites", "RAP")
    )
    assert Event.select().count() == 0 and events.read(0, 100) == []
    dossier.delete_instance(recursive=True)  # a draft can still be deleted


def test_an_event_is_written_only_inside_its_change_transaction(rctx):
    dossier = make_dossier(S.SUBMITTED)
    with pytest.raises(RuntimeError, match="transaction"):
        Event.record(EventType.MESSAGE, staff(), dossier, message_id=1)
    event = of(dossier)[0]
    event.data = {}
    with pytest.raises(PermissionError):
        event.save()


def test_a_stale_copy_saved_never_winds_the_counter_back(rctx):
    dossier = make_dossier(S.RECEIVED)
    stale = Dossier.get_by_id(dossier.id)
    messages.send_to_company(staff(), dossier, "Premier")
    stale.archived = True
    stale.save()
    messages.send_to_company(staff(), dossier, "Second")
    assert [e.sequence for e in of(dossier)] == [1, 2, 3, 4]


def test_concurrent_writers_on_one_dossier_number_its_events_without_gap_or_duplicate(app):
    with app.test_request_context():
        dossier = make_dossier(S.RECEIVED)
        agents = [staff() for _ in range(8)]
    models.db.close()  # each thread takes its own connection

    def message(agent, i):
        return lambda: messages.send_to_company(agent, Dossier.get_by_id(dossier.id), f"n°{i}")

    def start(agent):
        copy = Dossier.get_by_id(dossier.id)  # every one reads RECEIVED before any writes
        return lambda: copy.transition(S.PROCESSING, agent)

    starts = [start(a) for a in agents[:3]]
    models.db.close()
    results = race(app, [message(a, i) for i, a in enumerate(agents[3:])] + starts)
    models.db.connect(reuse_if_open=True)

    unexpected = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(r, ConcurrentTransitionError) for r in unexpected), results
    assert len(unexpected) == 2  # of the three starts, one won
    sequences = [e.sequence for e in of(dossier)]
    assert sequences == list(range(1, 2 + 5 + 1 + 1))  # submitted, received, 5 messages, start
    assert Dossier.get_by_id(dossier.id).event_sequence == sequences[-1]


def test_the_feed_reads_in_one_order_every_time_and_pages_without_loss(rctx):
    company = make_company()
    make_member(company, manager=True)
    a = make_dossier(S.RECEIVED, company=company)
    b = make_dossier(S.SUBMITTED, definition=make_definition("agrement-interim", "AGR"))
    processing.receive(staff(), b)
    messages.send_to_company(staff(), a, "Bonjour")
    written = [e.id for e in Event.select().order_by(Event.id)]

    everything = events.read(0, 100)
    assert [e.id for e in everything] == written  # positioned in id order, all committed
    assert [e.position for e in everything] == list(range(1, len(written) + 1))
    assert [e.id for e in events.read(0, 100)] == written  # the same again
    paged, cursor = [], 0
    while page := events.read(cursor, 2):
        paged += page
        cursor = page[-1].position
    assert [e.id for e in paged] == written

    assert {e.procedure_code for e in events.read(0, 100, procedures=["agrement-interim"])} == {
        "agrement-interim"
    }
    assert [e.type for e in events.read(0, 100, types=[EventType.MESSAGE])] == ["dossier.message"]
    assert events.read(cursor, 100) == []
    assert events.sequence_pending() == 0
    body = events.payload(everything[-1])
    assert json.loads(json.dumps(body))["type"] == "dossier.message"
    assert body["position"] == len(written) and body["dossier_id"] == a.id


def test_an_event_with_a_smaller_id_positioned_later_is_still_read(rctx):
    """What a late commit looks like to the sequencer, on any backend: a row with a smaller id
    that appears after a larger one was read (ids are taken at insert, not at commit)."""
    late = make_dossier(S.SUBMITTED)
    early = make_dossier(S.SUBMITTED)
    gap_id = Event.select().order_by(Event.id.desc()).get().id + 10
    with write_transaction():
        Event.insert(
            id=gap_id + 5,
            type="dossier.message",
            dossier=early,
            company=early.company_id,
            sequence=2,
            data={},
            actor_kind="staff",
            created_at=models.utcnow(),
        ).execute()
    cursor = events.read(0, 100)[-1].position
    with write_transaction():
        Event.insert(
            id=gap_id,
            type="dossier.message",
            dossier=late,
            company=late.company_id,
            sequence=2,
            data={},
            actor_kind="staff",
            created_at=models.utcnow(),
        ).execute()
    [caught_up] = events.read(cursor, 100)
    assert caught_up.id == gap_id and caught_up.position == cursor + 1


def test_a_transaction_committed_late_is_read_after_a_reader_passed_a_later_one(app):
    """Two real transactions on PostgreSQL: the one that took the smaller id commits last; a
    read between the commits returns the other; a read after returns the late one, with a
    position greater than the cursor. (SQLite's writers never overlap: no such order.)"""
    if isinstance(models.db.obj, models.SqliteDatabase):
        pytest.skip("SQLite serialises writers: a smaller id always commits first")
    with app.test_request_context():
        slow, quick = make_dossier(S.RECEIVED), make_dossier(S.RECEIVED)
        agent = staff()
    models.db.close()
    inserted, release = threading.Event(), threading.Event()
    late = {}

    def slow_message():
        with app.app_context():
            models.db.connect(reuse_if_open=True)
            try:
                with write_transaction():
                    late["message"] = messages.send_to_company(agent, slow, "Lente")
                    inserted.set()
                    release.wait(30)
            finally:
                models.db.close()

    thread = threading.Thread(target=slow_message)
    thread.start()
    assert inserted.wait(30)
    with app.app_context():
        models.db.connect(reuse_if_open=True)
        messages.send_to_company(agent, quick, "Rapide")
        first = events.read(0, 100)
        cursor = first[-1].position
        quick_id = Event.select(models.fn.MAX(Event.id)).where(Event.dossier == quick).scalar()
        assert first[-1].id == quick_id and first[-1].dossier_id == quick.id
        release.set()
        thread.join(30)
        [caught_up] = events.read(cursor, 100)
        assert caught_up.dossier_id == slow.id and caught_up.id < quick_id
        assert caught_up.position > cursor
        assert caught_up.data["message_id"] == late["message"].id
        models.db.close()


def test_concurrent_sequencers_give_each_event_one_position_with_no_gap(app):
    with app.test_request_context():
        dossiers = [make_dossier(S.RECEIVED) for _ in range(3)]
        agent = staff()
    models.db.close()

    def write_then_sequence(dossier, i):
        def run():
            messages.send_to_company(agent, Dossier.get_by_id(dossier.id), f"n°{i}")
            return events.sequence_pending(batch=2)

        return run

    targets = [write_then_sequence(d, i) for i, d in enumerate(dossiers * 2)]
    results = race(app, targets + [events.sequence_pending for _ in range(2)])
    models.db.connect(reuse_if_open=True)
    assert not [r for r in results if isinstance(r, Exception)], results
    events.sequence_pending()
    positions = [e.position for e in Event.select().order_by(Event.position)]
    assert positions == list(range(1, Event.select().count() + 1))
    assert EventPosition.get().last_position == positions[-1]


def test_the_worker_positions_the_events_every_minute(app, rctx):
    """The periodic task `sequence_events` gives the feed positions without a reader asking."""
    dossier = make_dossier(DossierStatus.SUBMITTED)
    assert Event.select().where(Event.position.is_null()).count() >= 1
    worker = app.extensions["jobs"]
    task = next(t for t in worker.huey._registry._periodic_tasks if t.__name__ == "sequence_events")
    task().execute()
    assert Event.select().where(Event.position.is_null()).count() == 0
    assert [e.sequence for e in Event.select().where(Event.dossier == dossier)] == [1]
