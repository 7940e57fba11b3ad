"""One process of test_sqlite_contention (item 19), run as a script: THREADS threads on the
database at DATABASE_URL, each doing ITERATIONS read-then-write steps through the services, as
requests do — an application context (and a connection) per step. Prints a JSON report."""

import json
import sys
import threading
import traceback
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS.parent), str(TESTS)]

import conftest  # noqa: E402
import models  # noqa: E402
from dossiers import filling  # noqa: E402
from models import Actor, Dossier, DossierStatus, Person  # noqa: E402
from run import create_app  # noqa: E402

THREADS = 8


def field(process, thread):
    return f"f{process * THREADS + thread}"


def work(app, args, thread, report):
    actor_id, shared_id = args["person"], args["shared"]
    mine = args["own"][thread::THREADS]
    key = field(args["process"], thread)
    try:
        for i in range(args["iterations"]):
            with app.app_context():
                actor = Actor.applicant(Person.get_by_id(actor_id), fresh_login=True)
                # Read the answers, merge this thread's field, write them back.
                filling.save_section(actor, Dossier.get_by_id(shared_id), "main", {key: str(i)})
                report["saves"] += 1
            with app.app_context():
                # Read the reference counter, write the next number and the status.
                own = Dossier.get_by_id(mine[i])
                own.transition(DossierStatus.SUBMITTED, Actor.applicant(own.created_by))
                report["submits"] += 1
    except Exception as exc:
        report["errors"].append(f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")


def main():
    args = json.loads(sys.argv[1])
    conftest.SEAL_FILES[:] = args["seal"]
    config = conftest.make_config(
        Path(args["tmp"]),
        args["database_url"],
        HUEY_IMMEDIATE=False,  # the receipts asked for are queued, not made: not this test's
        HUEY_SQLITE_PATH=str(Path(args["tmp"]) / "queue.sqlite3"),
    )
    app = create_app(config)
    reports = [{"saves": 0, "submits": 0, "errors": []} for _ in range(THREADS)]
    threads = [
        threading.Thread(target=work, args=(app, args, t, reports[t])) for t in range(THREADS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    models.db.close()
    print(json.dumps(reports))


if __name__ == "__main__":
    main()
