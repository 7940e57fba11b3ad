"""The outbox worker against a real SMTP server on loopback: delivery, retries, give-up."""

import socket
import subprocess
import threading
from datetime import timedelta

import pytest

import notifications
from helpers import make_company, make_dossier, make_member, make_staff
from models import Actor, DossierStatus, OutboxMessage, OutboxStatus, Role, utcnow
from notifications import claims
from smtp import SMTPServer, free_port


@pytest.fixture
def smtp(app, ctx):
    server = SMTPServer().start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    notifications.mail.init_app(app)
    yield server
    server.stop()


def received_dossier(language="fr"):
    """A dossier just received by staff, whose outbox holds only the Réception email (the
    Soumission email waits for its receipt, see test_submission)."""
    company = make_company(name="Agence <script>alert(1)</script>")
    person = make_member(company, Role.SIGN, email="signataire@example.test", language=language)
    dossier = make_dossier(DossierStatus.SUBMITTED, company=company, person=person)
    OutboxMessage.delete().execute()
    return dossier.transition(DossierStatus.RECEIVED, Actor.staff_member(make_staff()))


def test_delivers_due_messages_with_stable_message_id(app, ctx, smtp):
    dossier = received_dossier()
    assert notifications.deliver_due() == 1
    [message] = smtp.messages
    row = OutboxMessage.get(OutboxMessage.dossier == dossier)
    assert row.status == OutboxStatus.SENT.value and row.attempts == 1
    assert message["Message-ID"] == f"<{row.message_id}@guichet.test>"
    assert message["To"] == "signataire@example.test"
    assert dossier.reference in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "a réceptionné votre dossier" in text
    assert f"/dossiers/{dossier.id}" in text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert notifications.deliver_due() == 0, "a sent message is never sent again"


def test_back_off_doubles_then_gives_up_after_window(app, ctx):
    received_dossier()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), OUTBOX_FIRST_RETRY_SECONDS=60)
    notifications.mail.init_app(app)
    row = OutboxMessage.get()
    now = row.created_at
    delays = []
    while row.status == OutboxStatus.PENDING.value:
        notifications.deliver_due(now)
        row = OutboxMessage.get_by_id(row.id)
        delays.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert delays[:4] == [timedelta(seconds=s) for s in (60, 120, 240, 480)]
    assert row.status == OutboxStatus.FAILED.value
    assert now - row.created_at <= timedelta(hours=48)
    assert row.attempts == len(delays)

    assert notifications.retry(Actor.system(), row)
    assert OutboxMessage.get_by_id(row.id).status == OutboxStatus.PENDING.value


def test_claims_of_an_ended_worker_are_released_at_once_others_wait_for_their_lease(app, ctx, smtp):
    """A claim names its worker process: one seen dead (here a process that has ended) frees
    its messages at once; a live one, or one this host cannot look at, keeps them until the
    lease ends. The real kill -9 is in tests/reliability/test_worker_killed.py."""
    received_dossier()
    for n in range(2):
        OutboxMessage.queue("login_code", f"p{n}@example.test", code="123456", recipient="P")
    dead, alive, elsewhere = OutboxMessage.select().order_by(OutboxMessage.id)
    ended = subprocess.Popen(["true"])
    ended_id = claims.worker_id(ended.pid)
    ended.wait()
    now = utcnow()
    lease = now + timedelta(seconds=notifications.CLAIM_SECONDS)
    for row, claimer in [
        (dead, ended_id),
        (alive, claims.worker_id()),
        (elsewhere, "another-host/0000/[1] 4242 12345"),
    ]:
        OutboxMessage.update(claimed_until=lease, claimed_by=claimer).where(
            OutboxMessage.id == row.id
        ).execute()

    assert notifications.deliver_due(now) == 1
    assert OutboxMessage.get_by_id(dead.id).status == OutboxStatus.SENT.value
    assert notifications.deliver_due(lease + timedelta(seconds=1)) == 2


def test_two_workers_never_claim_the_same_message(app, ctx):
    received_dossier()
    row = OutboxMessage.get()
    now = utcnow()
    assert notifications.claim(row, now) is True
    assert notifications.claim(row, now) is False


def test_without_mail_server_mail_stays_in_outbox(app, ctx, client):
    received_dossier()
    assert app.config["MAIL_SERVER"] is None
    assert notifications.deliver_due() == 0
    row = OutboxMessage.get()
    assert row.status == OutboxStatus.PENDING.value and row.attempts == 0
    page = client.get("/dev/mail")
    assert page.status_code == 200 and "signataire@example.test" in page.text
    detail = client.get(f"/dev/mail/{row.id}")
    assert "a réceptionné votre dossier" in detail.text


def test_email_in_recipient_language_falls_back_to_french(app, ctx, smtp):
    received_dossier(language="nl")  # Dutch is not offered yet
    notifications.deliver_due()
    [message] = smtp.messages
    assert "Bonjour" in message.get_body(("plain",)).get_content()


def test_a_sent_code_does_not_stay_in_the_outbox(app, ctx, smtp):
    dossier = received_dossier()
    code_mail = OutboxMessage.queue(
        "login_code", "p@example.test", code="481516", recipient="Marie Dubois"
    )
    assert notifications.deliver_due() == 2
    [delivered] = [m for m in smtp.messages if m["To"] == "p@example.test"]
    assert "481516" in delivered.get_body(("plain",)).get_content()
    row = OutboxMessage.get_by_id(code_mail.id)
    assert row.status == OutboxStatus.SENT.value and row.subject
    assert "481516" not in f"{row.context} {row.body_text} {row.body_html}"
    assert row.context["recipient"] == "Marie Dubois"
    other = OutboxMessage.get(OutboxMessage.dossier == dossier)
    assert other.body_text and other.context["reference"] == dossier.reference


def test_email_in_the_recipients_language_once_it_is_offered(app, ctx, smtp):
    app.config["LANGUAGES_READY"] = ("fr", "de")
    received_dossier(language="de")
    notifications.deliver_due()
    [message] = smtp.messages
    assert "Guten Tag" in message.get_body(("plain",)).get_content()


def test_a_silent_mail_server_times_out_and_the_message_is_retried(app, ctx):
    """A server that accepts the connection and never greets: the send gives up after
    MAIL_TIMEOUT_SECONDS instead of holding the worker, and the email waits for a retry."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    received_dossier()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=listener.getsockname()[1])
    app.config["MAIL_TIMEOUT_SECONDS"] = 1
    notifications.mail.init_app(app)
    done = []

    def work():
        with app.app_context():
            done.append(notifications.deliver_due())

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(20)
    listener.close()
    assert not worker.is_alive(), "the worker is stuck on a silent mail server"
    assert done == [0]
    row = OutboxMessage.get()
    assert row.status == OutboxStatus.PENDING.value and row.attempts == 1
    assert "timed out" in row.last_error
