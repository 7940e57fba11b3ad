"""Issue #13, item 5: several worker processes make receipts in parallel — two `flask worker`
processes, then one `flask worker --processes 2`, on the test's database and queue (Redis with
TEST_REDIS_URL), every receipt job queued twice more after the one its submission asked for,
adjacent so that both processes take the same dossier's jobs at once. Each dossier gets one
receipt and one stored file; SIGTERM stops every process of the command."""

import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import storage
from conftest import make_config
from helpers import make_company, make_member, make_signed_dossier
from models import Document, OutboxMessage
from reliability.test_worker_killed import ROOT, wait_for
from run import create_app

REDIS_URL = os.environ.get("TEST_REDIS_URL")
DOSSIERS = 8


def worker_process(config, log, *options):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GUICHET_", "DATABASE_", "REDIS_", "MAIL_", "HUEY_"))
    }
    env.update(
        GUICHET_ENV="testing",
        GUICHET_INSTANCE_DIR=config.INSTANCE_DIR,
        DATABASE_URL=config.DATABASE_URL,
        HUEY_SQLITE_PATH=config.HUEY_SQLITE_PATH,
        HUEY_NAME=config.HUEY_NAME,
        STORAGE_DIR=config.STORAGE_DIR,
        SEAL_CERT_FILE=config.SEAL_CERT_FILE,
        SEAL_KEY_FILE=config.SEAL_KEY_FILE,
        **({"REDIS_URL": config.REDIS_URL} if config.REDIS_URL else {}),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "run", "worker", *(options or ("--workers", "2"))],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def queued(tmp_path, database_url):
    # A queue of its own: the other test workers' jobs share the CI Redis database.
    queue = f"receipts-{uuid.uuid4().hex[:12]}"
    config = make_config(
        tmp_path, database_url, HUEY_IMMEDIATE=False, REDIS_URL=REDIS_URL, HUEY_NAME=queue
    )
    app = create_app(config)
    huey = app.extensions["jobs"].huey
    huey.flush()
    yield app, config
    huey.flush()


def test_two_worker_processes_make_each_receipt_once(queued, tmp_path):
    app, config = queued
    jobs = app.extensions["jobs"]
    logs = [tmp_path / f"worker{n}.log" for n in range(2)]
    processes = [worker_process(config, log.open("w")) for log in logs]
    try:
        wait_for(lambda: all("consumer started" in log.read_text() for log in logs), "workers up")
        dossier_ids = []
        for n in range(DOSSIERS):
            dossier_ids.append(submitted(app, n))
            jobs.produce_receipt(dossier_ids[-1])  # the same job twice more, at once
            jobs.produce_receipt(dossier_ids[-1])
        with app.app_context():
            wait_for(lambda: all_done(jobs, logs), "every receipt made, every job", timeout=120)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(20)
    for log in logs:
        output = log.read_text()
        assert "produce_receipt" in output and "Traceback" not in output, output

    one_receipt_each(app, dossier_ids)


def test_one_worker_command_runs_two_processes(queued, tmp_path):
    app, config = queued
    jobs = app.extensions["jobs"]
    log = tmp_path / "worker.log"
    supervisor = worker_process(config, log.open("w"), "--processes", "2", "--workers", "1")
    try:
        wait_for(lambda: log.read_text().count("consumer started") == 2, "two consumers up")
        workers = children_of(supervisor.pid)
        assert len(workers) == 2, (workers, log.read_text())
        dossier_ids = [submitted(app, n) for n in range(DOSSIERS)]
        for dossier_id in dossier_ids:
            jobs.produce_receipt(dossier_id)
            jobs.produce_receipt(dossier_id)
        with app.app_context():
            wait_for(lambda: all_done(jobs, [log]), "every receipt made, every job", timeout=120)
        output = log.read_text()
        assert "Traceback" not in output, output
        supervisor.send_signal(signal.SIGTERM)  # stop now: a periodic task may be cut short
        assert supervisor.wait(30) == 0, log.read_text()
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
            supervisor.wait()
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "no worker left"
    assert output.count("Periodic tasks are enabled") == 1, "one process schedules them"
    assert output.count("Periodic tasks are disabled") == 1
    started = [line for line in output.splitlines() if "Huey consumer started" in line]
    assert {int(line.split(", PID ")[1].split()[0]) for line in started} == set(workers)
    one_receipt_each(app, dossier_ids)


def all_done(jobs, logs):
    """Every dossier has its receipt, the queue is empty and every receipt job taken has
    finished (one cut short by stopping its worker would leave its PDF stored)."""
    made = Document.select().where(Document.kind == Document.RECEIPT).count()
    output = "".join(log.read_text() for log in logs)
    taken = output.count("Executing jobs.produce_receipt")
    finished = len(re.findall(r"jobs\.produce_receipt: .* executed in", output))
    return made >= DOSSIERS and jobs.huey.pending_count() == 0 and taken == finished > 0


def children_of(pid):
    """The pids of the processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def one_receipt_each(app, dossier_ids):
    with app.app_context():
        receipts = list(Document.select().where(Document.kind == Document.RECEIPT))
        assert sorted(d.dossier_id for d in receipts) == sorted(dossier_ids), "one each"
        stored = {key for key, _ in storage.get_storage().listing()}
        assert stored == {d.storage_key for d in receipts}, "no second PDF left stored"


def submitted(app, n):
    """A signed and submitted dossier, its receipt asked for as a submission asks for it."""
    with app.app_context():
        company = make_company()
        person = make_member(company, email=f"signataire{n}@example.test")
        dossier = make_signed_dossier(company=company, person=person)
        OutboxMessage.delete().execute()  # no SMTP server here: the emails are not this test's
        return dossier.id
