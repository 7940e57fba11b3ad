"""The job queue: SQLite by default, Redis with REDIS_URL; a real consumer sends the outbox."""

import os
import shutil
import time

import pytest
from flask import g
from huey import MemoryHuey, RedisHuey, SqliteHuey

import jobs
import models
from conftest import make_config
from helpers import make_company, make_dossier, make_member
from models import DossierStatus, OutboxMessage, OutboxStatus
from run import create_app
from smtp import SMTPServer

REDIS_URL = os.environ.get("TEST_REDIS_URL")


def test_queue_backend_follows_config(tmp_path):
    assert isinstance(jobs.make_huey({"HUEY_IMMEDIATE": True}), MemoryHuey)
    sqlite = jobs.make_huey({"HUEY_SQLITE_PATH": str(tmp_path / "q.sqlite3")})
    assert isinstance(sqlite, SqliteHuey)
    redis = jobs.make_huey({"REDIS_URL": "redis://127.0.0.1:6379/15"})
    assert isinstance(redis, RedisHuey)


def queue_params():
    params = [pytest.param(None, id="sqlite-queue")]
    if REDIS_URL:
        params.append(pytest.param(REDIS_URL, id="redis-queue"))
    else:
        params.append(
            pytest.param(None, id="redis-queue", marks=pytest.mark.skip("TEST_REDIS_URL unset"))
        )
    return params


def test_queue_name_and_schedule(tmp_path, app):
    """Instances sharing a Redis keep apart by name; one worker of several may leave the
    periodic tasks to the others."""
    named = jobs.make_huey({"REDIS_URL": "redis://127.0.0.1:6379/15", "HUEY_NAME": "staging"})
    assert named.name == "staging" and jobs.make_huey({"REDIS_URL": "redis://x"}).name == "guichet"
    assert app.config["RATELIMIT_KEY_PREFIX"] == app.config["HUEY_NAME"] == "guichet"
    worker = jobs.Jobs(app)
    worker.resume = lambda: None  # nothing to deliver: only the consumer's settings are looked at
    assert worker.consumer(1).periodic is True
    assert worker.consumer(1, periodic=False).periodic is False


@pytest.mark.parametrize("redis_url", queue_params())
def test_consumer_delivers_outbox_after_wake(tmp_path, sqlite_template, redis_url):
    path = tmp_path / "db.sqlite3"
    shutil.copy(sqlite_template, path)
    smtp = SMTPServer().start()
    app = create_app(
        make_config(
            tmp_path,
            f"sqlite:///{path}",
            HUEY_IMMEDIATE=False,
            REDIS_URL=redis_url,
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=smtp.port,
        )
    )
    huey = app.extensions["jobs"].huey
    huey.flush()
    consumer = app.extensions["jobs"].start_in_process(workers=1)
    try:
        with app.app_context():
            company = make_company()
            person = make_member(company, email="destinataire@example.test")
            make_dossier(DossierStatus.RECEIVED, company=company, person=person)
            OutboxMessage.delete().where(OutboxMessage.event == "submitted").execute()
            models.db.close()
            jobs.wake_outbox()
            deadline = time.monotonic() + 20
            while not smtp.messages and time.monotonic() < deadline:
                time.sleep(0.1)
            assert [m["To"] for m in smtp.messages] == ["destinataire@example.test"]
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                if OutboxMessage.get().status == OutboxStatus.SENT.value:
                    break
                time.sleep(0.1)
            assert OutboxMessage.get().status == OutboxStatus.SENT.value
            models.db.close()
    finally:
        consumer.stop(graceful=True)
        huey.flush()
        smtp.stop()


def test_only_committed_work_asks_the_worker_for_anything(app, ctx):
    """An email or a document asked for inside a transaction that rolls back is never handed
    to the worker, even when the request then ends without an error (an error page)."""
    dossier = make_dossier(DossierStatus.COMPLETE)
    g.pop("outbox_queued", None)
    with pytest.raises(RuntimeError), models.write_transaction():
        dossier.transition(DossierStatus.SUBMITTED, models.Actor.applicant(dossier.created_by))
        raise RuntimeError("the connection was lost before the commit")
    assert "outbox_queued" not in g and "documents_wanted" not in g
    dossier = models.Dossier.get_by_id(dossier.id)
    dossier.transition(DossierStatus.SUBMITTED, models.Actor.applicant(dossier.created_by))
    assert g.outbox_queued and g.documents_wanted == [(models.Document.RECEIPT, dossier.id)]
