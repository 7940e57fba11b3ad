"""Two requests changing the same dossier at once: exactly one wins, on SQLite and PostgreSQL.
(Concurrent submits of one dossier: tests/reliability/test_double_submit.py; references
gap-free under contention: tests/reliability/test_sqlite_contention.py.)"""

import threading

import models
from helpers import make_company, make_dossier, make_member, make_staff
from models import (
    Actor,
    ConcurrentTransitionError,
    Dossier,
    DossierStatus,
    OutboxMessage,
    StatusChange,
)


def race(app, targets):
    """Run each callable in its own thread and connection, released together."""
    barrier = threading.Barrier(len(targets))
    results = [None] * len(targets)

    def worker(i, fn):
        with app.app_context():
            models.db.connect(reuse_if_open=True)
            try:
                barrier.wait()
                results[i] = fn()
            except Exception as exc:
                results[i] = exc
            finally:
                models.db.close()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_concurrent_transitions_one_wins(app):
    company = make_company()
    make_member(company)
    dossier = make_dossier(DossierStatus.SUBMITTED, company=company)
    agents = [make_staff(), make_staff()]
    emails_before = OutboxMessage.select().count()
    models.db.close()  # each thread takes its own connection

    def receive(agent):
        copy = Dossier.get_by_id(dossier.id)  # both read SUBMITTED before either writes
        return lambda: copy.transition(DossierStatus.RECEIVED, Actor.staff_member(agent))

    results = race(app, [receive(a) for a in agents])
    models.db.connect(reuse_if_open=True)

    winners = [r for r in results if isinstance(r, Dossier)]
    losers = [r for r in results if isinstance(r, ConcurrentTransitionError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert Dossier.get_by_id(dossier.id).status == DossierStatus.RECEIVED.value
    received = StatusChange.select().where(
        StatusChange.dossier == dossier, StatusChange.to_status == DossierStatus.RECEIVED.value
    )
    assert received.count() == 1
    new_emails = OutboxMessage.select().count() - emails_before
    assert new_emails == 2  # one 'received' email for each of the two company users
