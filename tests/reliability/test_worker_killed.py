"""Item 17: the worker killed with SIGKILL after claiming an email and before handing it over,
and again after the SMTP server accepted one and before marking it sent; an email committed
while no worker runs. After each restart every email is delivered, none lost, the only
duplicate the one a mail system recognises (same Message-ID); and the restarted worker takes
over the dead one's claims at once, not at the end of their lease."""

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from conftest import make_config
from dossiers import processing
from helpers import make_company, make_dossier, make_member, make_staff
from models import Actor, Dossier, DossierStatus, OutboxMessage, OutboxStatus
from reliability.faults import faulty_smtp
from run import create_app

ROOT = Path(__file__).resolve().parents[2]
# Far below the 300 s lease the dead worker's claims would otherwise wait for.
DEADLINE = 60


def wait_for(predicate, what, timeout=DEADLINE):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


class Worker:
    """`flask --app run worker` in a process of its own, on the test's database and queue."""

    def __init__(self, tmp_path, config):
        self.log = tmp_path / "worker.log"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GUICHET_", "DATABASE_", "REDIS_", "MAIL_", "HUEY_"))
        }
        self.env.update(
            GUICHET_ENV="testing",
            GUICHET_INSTANCE_DIR=config.INSTANCE_DIR,
            DATABASE_URL=config.DATABASE_URL,
            HUEY_SQLITE_PATH=config.HUEY_SQLITE_PATH,
            STORAGE_DIR=config.STORAGE_DIR,
            SEAL_CERT_FILE=config.SEAL_CERT_FILE,
            SEAL_KEY_FILE=config.SEAL_KEY_FILE,
            MAIL_SERVER="127.0.0.1",
        )
        self.process = None

    def start(self, smtp_port):
        self.env["MAIL_PORT"] = str(smtp_port)
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "run", "worker", "--workers", "1"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self.process.pid

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def setting(tmp_path, database_url):
    """The app of the requests (its emails go to the SQLite job queue, never sent from here),
    the worker process beside it and the SMTP server."""
    config = make_config(
        tmp_path,
        database_url,
        HUEY_IMMEDIATE=False,
        HUEY_SQLITE_PATH=str(tmp_path / "queue.sqlite3"),
    )
    app = create_app(config)
    smtp = faulty_smtp().start()
    worker = Worker(tmp_path, config)
    yield app, worker, smtp
    worker.stop()
    smtp.stop()
    app.extensions["jobs"].huey.flush()
    if worker.log.exists():
        print(worker.log.read_text())


def receive(app, agent, dossier_id):
    """A status change as a request makes it: committed, then the worker woken (queued)."""
    with app.app_context():
        processing.receive(agent, Dossier.get_by_id(dossier_id))


def killed_at(smtp, worker, point):
    smtp.sink.killed.clear()
    smtp.sink.kill_at = point
    smtp.sink.kill_pid = worker.start(smtp.port)
    wait_for(smtp.sink.killed.is_set, f"the worker reaching SMTP {point}")
    assert worker.process.wait(10) == -9


def test_worker_killed_between_claim_and_send_and_between_send_and_mark(setting):
    app, worker, smtp = setting
    with app.app_context():
        agent = Actor.staff_member(make_staff())
        submitted = []
        for n in range(5):
            company = make_company()
            person = make_member(company, email=f"destinataire{n}@example.test")
            submitted.append(
                make_dossier(DossierStatus.SUBMITTED, company=company, person=person).id
            )
        OutboxMessage.delete().execute()
    app.extensions["jobs"].huey.flush()  # the receipts asked for above are not this test's
    for dossier_id in submitted[:4]:
        receive(app, agent, dossier_id)

    # 1. Killed after claiming the first email, before handing anything over.
    killed_at(smtp, worker, "MAIL")
    assert smtp.messages == []
    # 2. An email committed while no worker runs (its wake-up waits in the queue).
    receive(app, agent, submitted[4])
    # 3. Restarted, and killed again once the server has accepted an email, before marking it.
    killed_at(smtp, worker, "DATA")
    [accepted_before_kill] = smtp.messages
    # 4. Restarted: everything is delivered now, not when the dead workers' leases end.
    worker.start(smtp.port)
    with app.app_context():

        def all_sent():
            rows = OutboxMessage.select(OutboxMessage.status)
            return len(rows) == 5 and {r.status for r in rows} == {OutboxStatus.SENT.value}

        wait_for(all_sent, "every email sent after the restart")
        expected = {f"<{r.message_id}@guichet.test>" for r in OutboxMessage.select()}

    received = Counter(m["Message-ID"] for m in smtp.messages)
    assert set(received) == expected, "none lost"
    twice = accepted_before_kill["Message-ID"]
    assert received == Counter({**dict.fromkeys(expected, 1), twice: 2}), (
        "one duplicate, only of the email accepted before the kill, under its Message-ID"
    )
    copies = [m for m in smtp.messages if m["Message-ID"] == twice]
    assert copies[0].get_body(("plain",)).get_content() == (
        copies[1].get_body(("plain",)).get_content()
    )
