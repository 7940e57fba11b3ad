"""How fast the back-office dossier list, its filters and search, the detail and the dashboard
answer at volume.

    .venv/bin/python bench/backoffice_list.py                       # 100 000 dossiers, SQLite
    .venv/bin/python bench/backoffice_list.py --dossiers 20000
    .venv/bin/python bench/backoffice_list.py --database-url postgresql://postgres@127.0.0.1/guichet_bench

It builds a fresh database with the migrations (the PostgreSQL database must exist; its schema
is dropped and rebuilt), fills it with companies and dossiers in every status, logs a supervisor
in through the real pages (password and TOTP) and times each request through the Flask test
client: median and 95th percentile over `--repeat` runs, plus the number of SQL queries per
request (constant whatever the volume: joins, no query per row, no COUNT(*) on the list).
"""

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyotp

import database
import models
from config import TestingConfig
from models import (
    Company,
    Dossier,
    Person,
    ProcedureDefinition,
    StaffRole,
    StaffUser,
    utcnow,
)

STAFF_STATUSES = ["submitted", "received", "processing", "closed"]
ALL_STATUSES = ["draft", "complete", *STAFF_STATUSES]
PASSWORD = "bench-password-1234"


def fresh_database(url):
    db = database.open_database(url)
    if url.startswith("postgres"):
        db.connect()
        db.execute_sql("DROP SCHEMA public CASCADE")
        db.execute_sql("CREATE SCHEMA public")
        db.close()
    models.db.initialize(db)
    with models.db.connection_context():
        database.apply_migrations()
    models.db.close()


def fill(n_dossiers, n_companies):
    import procedures

    rng = random.Random(42)
    with models.db.connection_context():
        definitions = procedures.sync_builtin() or list(ProcedureDefinition.select())
        person = Person.create(national_number="85031200123", surname="Bench", given_name="B")
        with models.db.atomic():
            rows = [
                {
                    "enterprise_number": f"0{i:09d}",
                    "name": f"Agence {i} SRL",
                    "search_name": models.fold(f"Agence {i} SRL"),
                }
                for i in range(100_000, 100_000 + n_companies)
            ]
            for start in range(0, len(rows), 1000):
                Company.insert_many(rows[start : start + 1000]).execute()
        company_ids = [c.id for c in Company.select(Company.id)]
        staff = StaffUser.create(
            email="bench@guichet.test",
            full_name="Bench Superviseur",
            role=StaffRole.SUPERVISOR.value,
            password_hash=__import__("auth").hash_password(PASSWORD),
            totp_secret=pyotp.random_base32(),
        )
        agents = [
            StaffUser.create(
                email=f"agent{i}@guichet.test",
                full_name=f"Agent {i}",
                role="agent",
                password_hash="x",
            ).id
            for i in range(10)
        ]
        now = utcnow()
        batch = []
        with models.db.atomic():
            for i in range(n_dossiers):
                status = rng.choice(ALL_STATUSES)
                submitted = status in STAFF_STATUSES
                definition = rng.choice(definitions)
                when = now - timedelta(minutes=rng.randrange(0, 60 * 24 * 700))
                batch.append(
                    {
                        "company": rng.choice(company_ids),
                        "definition": definition.id,
                        "status": status,
                        "answers": {},
                        "reference": f"{definition.reference_prefix}-B-{i:07d}"
                        if submitted
                        else None,
                        "created_by": person.id,
                        "submitted_by": person.id if submitted else None,
                        "assigned_to": rng.choice(agents) if submitted and i % 3 else None,
                        "decision": "granted" if status == "closed" else None,
                        "created_at": when,
                        "updated_at": when,
                        "submitted_at": when if submitted else None,
                    }
                )
                if len(batch) == 1000:
                    Dossier.insert_many(batch).execute()
                    batch = []
            if batch:
                Dossier.insert_many(batch).execute()
        models.DossierCount.rebuild()  # rows inserted in bulk, not through Dossier.create
        database.refresh_statistics()  # what the nightly job does once the tables are full
        sample = Dossier.select().where(Dossier.status == "processing").first()
        return staff, sample, definitions[0].code


def make_app(url, workdir):
    from run import create_app

    config = TestingConfig()
    config.DATABASE_URL = url
    config.INSTANCE_DIR = str(workdir / "instance")
    config.STORAGE_DIR = str(workdir / "storage")
    config.HUEY_SQLITE_PATH = str(workdir / "huey.sqlite3")
    config.HUEY_IMMEDIATE = True
    config.RATELIMIT_ENABLED = False
    return create_app(config)


def csrf(html):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)[1]


def login(client, staff):
    page = client.get("/admin/login/").text
    client.post(
        "/admin/login/",
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf(page)},
    )
    page = client.get("/admin/login/code/").text
    response = client.post(
        "/admin/login/code/",
        data={"code": pyotp.TOTP(staff.totp_secret).now(), "csrf_token": csrf(page)},
    )
    assert response.status_code == 302, "the bench login failed"


class QueryCounter:
    """Counts the SQL statements the app runs (peewee's execute_sql)."""

    def __init__(self, db):
        self.count = 0
        inner = db.obj.execute_sql

        def counting(*args, **kwargs):
            self.count += 1
            return inner(*args, **kwargs)

        db.obj.execute_sql = counting


def measure(client, counter, url, repeat):
    client.get(url)  # warm: templates compiled, connections open
    times, queries = [], []
    for _ in range(repeat):
        before = counter.count
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        queries.append(counter.count - before)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, max(queries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="guichet-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
    start = time.perf_counter()
    fresh_database(url)
    staff, sample, code = fill(args.dossiers, args.companies)
    print(
        f"{args.dossiers} dossiers, {args.companies} companies on {url.split(':')[0]}: "
        f"filled in {time.perf_counter() - start:.1f} s"
    )
    app = make_app(url, workdir)
    counter = QueryCounter(models.db)
    client = app.test_client()
    login(client, staff)
    base = "/admin/dossiers/"
    status_filter = "flt0_0=processing"  # the first filter: status equals
    cases = [
        ("list, first page", base),
        ("list, page 200", base + "?page=199"),
        ("list, sorted by reference", base + "?sort=0"),
        ("filter: status", f"{base}?{status_filter}"),
        ("filter: procedure", f"{base}?flt1_1={code}"),
        ("filter: company name", f"{base}?flt2_2=Agence+1234"),
        ("search: reference", f"{base}?search={sample.reference}"),
        ("search: enterprise number", f"{base}?search=0100.001.234"),
        ("search: company name", f"{base}?search=Agence+4321"),
        ("detail", f"{base}details/?id={sample.id}"),
        ("dashboard", "/admin/"),
    ]
    print(f"{'request':32} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    for label, path in cases:
        median, p95, queries = measure(client, counter, path, args.repeat)
        print(f"{label:32} {median:10.1f} {p95:8.1f} {queries:8d}")


if __name__ == "__main__":
    main()
