"""Item 19: 2 processes × 8 threads doing read-then-write on one database for a bounded number
of steps (the answers of one shared dossier merged and saved; the reference counter read and
advanced by submissions): no "database is locked", no lost write. SQLite is the point (one
writer at a time, waiting on the busy timeout); PostgreSQL runs it too."""

import json
import subprocess
import sys
from pathlib import Path

import conftest
from helpers import make_company, make_dossier, make_member
from models import Dossier, DossierStatus, ProcedureDefinition, Role, StatusChange
from reliability.contention import THREADS, field

PROCESSES = 2
ITERATIONS = 12
WRITERS = PROCESSES * THREADS
SHARED_DEFINITION = "\n".join(
    [
        "code: contention",
        "version: 1",
        "title: Procédure à seize champs",
        "reference_prefix: CON",
        "sections:",
        "  - key: main",
        "    title: Demande",
        "    fields:",
        *(f"      - {{key: f{n}, type: text, label: Champ {n}}}" for n in range(WRITERS)),
    ]
)


def test_two_processes_of_eight_threads_read_then_write_without_lock_errors_or_lost_writes(
    app, database_url, tmp_path
):
    company = make_company()
    person = make_member(company, Role.SIGN)
    definition = ProcedureDefinition.create(
        code="contention",
        version=1,
        title="Procédure à seize champs",
        reference_prefix="CON",
        yaml_text=SHARED_DEFINITION,
        published=True,
    )
    shared = make_dossier(company=company, person=person, definition=definition)
    own = [
        make_dossier(DossierStatus.COMPLETE, company=company, person=person).id
        for _ in range(WRITERS * ITERATIONS)
    ]
    common = {
        "database_url": database_url,
        "seal": conftest.SEAL_FILES,
        "person": person.id,
        "shared": shared.id,
        "iterations": ITERATIONS,
    }
    processes = []
    for p in range(PROCESSES):
        args = dict(
            common,
            process=p,
            tmp=str(tmp_path / f"process{p}"),
            own=own[p * THREADS * ITERATIONS : (p + 1) * THREADS * ITERATIONS],
        )
        script = Path(__file__).with_name("contention.py")
        processes.append(
            subprocess.Popen(
                [sys.executable, str(script), json.dumps(args)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err
        reports.extend(json.loads(out.strip().splitlines()[-1]))

    errors = [e for r in reports for e in r["errors"]]
    assert errors == [], errors[0]
    assert (
        sum(r["saves"] for r in reports)
        == sum(r["submits"] for r in reports)
        == (WRITERS * ITERATIONS)
    )
    answers = Dossier.get_by_id(shared.id).answers
    last = str(ITERATIONS - 1)
    lost = {
        field(p, t): answers.get(field(p, t))
        for p in range(PROCESSES)
        for t in range(THREADS)
        if answers.get(field(p, t)) != last
    }
    assert lost == {}, "every writer's last save is there"
    submitted = Dossier.select().where(Dossier.id.in_(own))
    assert all(d.state == DossierStatus.SUBMITTED for d in submitted)
    numbers = sorted(int(d.reference.rsplit("-", 1)[1]) for d in submitted)
    assert numbers == list(range(1, WRITERS * ITERATIONS + 1)), "no number given twice or lost"
    to_submitted = StatusChange.to_status == DossierStatus.SUBMITTED.value
    assert StatusChange.select().where(to_submitted).count() == WRITERS * ITERATIONS
