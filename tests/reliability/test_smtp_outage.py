"""Item 16: the SMTP server down during 13 status changes, then refusing for a while, then
back: every email arrives exactly once, under the Message-ID it was first attempted with."""

from email import message_from_bytes, policy

import pytest

import notifications
from dossiers import processing
from helpers import make_company, make_dossier, make_member, make_staff
from models import Actor, Decision, Dossier, DossierStatus, OutboxMessage, OutboxStatus, utcnow
from reliability.faults import faulty_smtp
from smtp import free_port

CHANGES = [("receive",)] * 5 + [("start_processing",)] * 5 + [("close",)] * 3


def change(app, actor, dossier_id, step):
    """One status change as a request makes it: its own context, at whose end the worker
    (immediate here) tries to send the email at once."""
    with app.app_context():
        dossier = Dossier.get_by_id(dossier_id)
        if step == "close":
            processing.close(actor, dossier, Decision.GRANTED.value, "Conditions remplies.")
        else:
            getattr(processing, step)(actor, dossier)


def last_due(rows):
    return max(OutboxMessage.get_by_id(r.id).next_attempt_at for r in rows)


@pytest.fixture
def smtp_down(app, ctx):
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    notifications.mail.init_app(app)
    server = faulty_smtp(port)
    yield server
    server.stop()


def test_smtp_down_during_13_status_changes_then_back_every_email_exactly_once(app, smtp_down):
    recipients = {}
    for n in range(5):
        company = make_company()
        person = make_member(company, email=f"destinataire{n}@example.test")
        dossier = make_dossier(DossierStatus.SUBMITTED, company=company, person=person)
        recipients[dossier.id] = person.login_email
    OutboxMessage.delete().execute()  # only the emails of the changes below
    agent = Actor.staff_member(make_staff())
    ids = list(recipients)
    for i, (step,) in enumerate(CHANGES):
        change(app, agent, ids[i % 5], step)

    rows = list(OutboxMessage.select().order_by(OutboxMessage.id))
    assert len(rows) == 13
    now = utcnow()
    for row in rows:
        assert row.status == OutboxStatus.PENDING.value and row.attempts == 1
        assert "ConnectionRefusedError" in row.last_error
        assert row.next_attempt_at > now
    assert notifications.deliver_due(now) == 0, "none tried again before its back-off"

    smtp_down.sink.refuse = "451 4.3.0 try again later"
    smtp_down.start()
    assert notifications.deliver_due(last_due(rows)) == 0
    attempts = [message_from_bytes(raw, policy=policy.default) for _, raw in smtp_down.sink.refused]
    refused = {m["Message-ID"]: m for m in attempts}
    assert len(attempts) == len(refused) == 13, "each email was handed over once and refused"

    smtp_down.sink.refuse = None
    later = last_due(rows)
    assert notifications.deliver_due(later) == 13
    assert notifications.deliver_due(later.replace(year=later.year + 1)) == 0

    delivered = smtp_down.messages
    ids = [m["Message-ID"] for m in delivered]
    assert len(ids) == len(set(ids)) == 13, "every email exactly once"
    assert set(ids) == set(refused), "under the Message-ID it was first attempted with"
    for message in delivered:
        first = refused[message["Message-ID"]]
        assert message.get_body(("plain",)).get_content() == (
            first.get_body(("plain",)).get_content()
        )
    rows = list(OutboxMessage.select())
    assert {f"<{r.message_id}@guichet.test>" for r in rows} == set(ids)
    assert all(r.status == OutboxStatus.SENT.value and r.attempts == 3 for r in rows)
    assert sorted(m["To"] for m in delivered) == sorted(recipients[r.dossier_id] for r in rows)
    events = sorted(r.event for r in rows)
    assert events == ["closed"] * 3 + ["processing"] * 5 + ["received"] * 5
