"""How fast the back-office dossier list, its filters and search, the detail and the dashboard
answer at volume, beside a plain Flask-Admin view of the same table.

    .venv/bin/python bench/backoffice_list.py                       # 100 000 dossiers, SQLite
    .venv/bin/python bench/backoffice_list.py --dossiers 20000
    .venv/bin/python bench/backoffice_list.py --database-url postgresql://postgres@127.0.0.1/guichet_bench

It builds a fresh database with the migrations (the PostgreSQL database must exist; its schema
is dropped and rebuilt), fills it with companies and dossiers in every status (a third of them
drafts, which staff never see), logs a supervisor in through the real pages (password and
TOTP) and times each request through the Flask test client after a warm-up: median and 95th
percentile over `--repeat` runs, plus the number of SQL queries per request at page sizes 20
and 100 (constant whatever the volume and the page size: joins, no query per row, no COUNT).
The deep page is read through a cursor at the 25 000th dossier (page 500 of 50), as the
"Page suivante" links would reach it. A Flask-Admin peewee `ModelView` with its default
settings, registered on the same app over the same Dossier table, is timed on its first page
and its page 500 (COUNT and OFFSET), and the ratio printed.
"""

import argparse
import csv
import io
import logging
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import common
import pyotp
from peewee import Value

import database
import models
from config import TestingConfig
from models import (
    Company,
    Dossier,
    DossierAnnotation,
    DossierFollow,
    DossierLabel,
    Label,
    Person,
    ProcedureDefinition,
    StaffRole,
    StaffUser,
    utcnow,
)

STAFF_STATUSES = ["submitted", "received", "processing", "closed"]
ALL_STATUSES = ["draft", "complete", *STAFF_STATUSES]
PASSWORD = "bench-password-1234"


def create_if_missing(url):
    """Create the PostgreSQL database of `url` when the server does not have it yet."""
    import psycopg2

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    connection = psycopg2.connect(parts._replace(path="/postgres").geturl())
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


def fresh_database(url):
    """The database of `url` with the schema of the migrations and nothing else."""
    if url.startswith("postgres"):
        create_if_missing(url)
    db = database.open_database(url)
    if url.startswith("postgres"):
        db.connect()
        db.execute_sql("DROP SCHEMA public CASCADE")
        db.execute_sql("CREATE SCHEMA public")
        db.close()
    models.db.initialize(db)
    quiet = logging.getLogger("database")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # no line per migration
    with models.db.connection_context():
        database.apply_migrations()
    quiet.setLevel(level)
    models.db.close()


DOSSIER_COLUMNS = (
    "company_id, definition_id, status, answers, reference, created_by_id, submitted_by_id, "
    "assigned_to_id, procedure_title, agent_name, decision, archived, created_at, updated_at, "
    "submitted_at, event_sequence, group_id"
)


def bulk_insert(rows):
    """Dossier rows (tuples in DOSSIER_COLUMNS' order) written at the database's own speed:
    COPY on PostgreSQL, executemany on SQLite (peewee's insert_many costs more than the
    database at a million rows)."""
    cursor = models.db.cursor()
    if isinstance(models.db.obj, database.SqliteDatabase):
        marks = ", ".join("?" * len(rows[0]))
        cursor.executemany(f"INSERT INTO dossier ({DOSSIER_COLUMNS}) VALUES ({marks})", rows)  # noqa: S608 - our own columns
        return
    text = io.StringIO()
    csv.writer(text).writerows(rows)  # None: an empty field, which COPY reads as NULL
    text.seek(0)
    cursor.copy_expert(f"COPY dossier ({DOSSIER_COLUMNS}) FROM STDIN WITH (FORMAT csv)", text)


def fill(n_dossiers, n_companies, heavy=0):
    """Companies and dossiers in every status; with `heavy`, the first company (lowest id)
    holds exactly that many of the dossiers, spread over the others' dates (the portal bench's
    "Mes dossiers" of a big company)."""
    import procedures

    rng = random.Random(42)
    with models.db.connection_context():
        definitions = procedures.sync_builtin() or list(ProcedureDefinition.select())
        with models.db.atomic():  # the applicants who submit: many, as in life
            Person.insert_many(
                [
                    {
                        "national_number": f"{85_000_000_000 + i:011d}",
                        "surname": f"Demandeur{i}",
                        "given_name": "Bench",
                        "search_name": models.fold(f"Bench Demandeur{i}"),
                    }
                    for i in range(2_000)
                ]
            ).execute()
        person_ids = [p.id for p in Person.select(Person.id)]
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
        company_ids = [c.id for c in Company.select(Company.id).order_by(Company.id)]
        others = company_ids[1:] if heavy else company_ids
        heavy_every = max(1, n_dossiers // heavy) if heavy else 0
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
            )
            for i in range(10)
        ]
        group_ids = [  # the list's "Mes groupes": the bench's supervisor is in the first
            models.StaffGroup.create(name=f"Groupe {i}", code=f"groupe-{i}", is_default=i == 0).id
            for i in range(11)
        ]
        models.StaffGroupMember.create(group=group_ids[0], staff=staff)
        now = utcnow()
        batch = []
        with models.db.atomic():
            for i in range(n_dossiers):
                if i % 50_000 == 0:
                    print(f"\rseeding: {i:,} / {n_dossiers:,} dossiers", end="", flush=True)
                status = rng.choice(ALL_STATUSES)
                submitted = status in STAFF_STATUSES
                definition = rng.choice(definitions)
                person = rng.choice(person_ids)
                agent = rng.choice(agents) if submitted and i % 3 else None
                when = str(now - timedelta(minutes=rng.randrange(0, 60 * 24 * 700)))
                company = rng.choice(others)
                if heavy_every and i % heavy_every == 0 and i // heavy_every < heavy:
                    company = company_ids[0]
                batch.append(
                    (
                        company,
                        definition.id,
                        status,
                        "{}",
                        f"{definition.reference_prefix}-B-{i:07d}" if submitted else None,
                        person,
                        person if submitted else None,
                        agent.id if agent else None,
                        definition.title,  # as Dossier.save copies them
                        agent.full_name if agent else None,
                        "granted" if status == "closed" else None,
                        False,
                        when,
                        when,
                        when if submitted else None,
                        0,  # no event written: rows seeded, not changed through the services
                        rng.choice(group_ids) if submitted else None,
                    )
                )
                if len(batch) == 10_000:
                    bulk_insert(batch)
                    batch = []
            if batch:
                bulk_insert(batch)
        print(f"\rseeding: {n_dossiers:,} / {n_dossiers:,} dossiers", flush=True)
        models.DossierCount.rebuild()  # rows inserted in bulk, not through Dossier.create
        seed_labels(definitions[0].code)
        seed_annotations()
        seed_follows(staff)
        settle()
        sample = Dossier.select().where(Dossier.status == "processing").first()
        return staff, sample, definitions[0].code


def residue(column, n):
    """`column mod n` in SQL (peewee's `%` is LIKE), as integer division on both databases."""
    return column - (column / n) * n


def seed_labels(code):
    """Three labels of the procedure `code`, each on a tenth of its dossiers (the list's label
    column and filter)."""
    now = utcnow()
    for i, (name, colour) in enumerate(
        (("Urgent", "red"), ("À vérifier", "orange"), ("Vu", "green"))
    ):
        label = Label.create(procedure_code=code, name=name, colour=colour)
        bearing = (
            Dossier.select(Value(label.id), Dossier.id, Value(now))
            .join(ProcedureDefinition)
            .where(ProcedureDefinition.code == code, residue(Dossier.id, 10) == i)
        )
        fields = [DossierLabel.label, DossierLabel.dossier, DossierLabel.set_at]
        DossierLabel.insert_from(bearing, fields).execute()


def seed_annotations():
    """The approval procedure's "avis de l'inspection" on a third of its dossiers, one value of
    three each (the list's annotation column and filter)."""
    for i, value in enumerate(("favourable", "reserved", "unfavourable")):
        annotated = (
            Dossier.select(Dossier.id, Value("inspection_opinion"), Value(value))
            .join(ProcedureDefinition)
            .where(ProcedureDefinition.code == "agrement-interim", residue(Dossier.id, 9) == i)
        )
        fields = [DossierAnnotation.dossier, DossierAnnotation.key, DossierAnnotation.value_text]
        DossierAnnotation.insert_from(annotated, fields).execute()


def annotation_filter(view):
    """The list's arguments that filter by a favourable inspection's opinion."""
    from backoffice.dossier_filters import AnnotationFilter

    index = next(i for i, f in enumerate(view._filters) if isinstance(f, AnnotationFilter))
    return f"flt4_{index}=inspection_opinion%3Dfavourable"


def seed_follows(staff):
    """The bench's staff member follows one dossier in twenty (the list's "Suivis" filter)."""
    now = utcnow()
    followed = Dossier.select(Value(staff.id), Dossier.id, Value(now)).where(
        residue(Dossier.id, 20) == 3
    )
    fields = [DossierFollow.staff, DossierFollow.dossier, DossierFollow.created_at]
    DossierFollow.insert_from(followed, fields).execute()


def followed_filter(view):
    """The list's argument that shows the dossiers the bench's staff member follows."""
    from backoffice.dossier_filters import FOLLOWED, FollowedFilter

    index = next(i for i, f in enumerate(view._filters) if isinstance(f, FollowedFilter))
    return f"flt4_{index}={FOLLOWED}"


def label_filter(view):
    """The list's arguments that filter by the first label seeded."""
    from backoffice.dossier_filters import LabelFilter

    index = next(i for i, f in enumerate(view._filters) if isinstance(f, LabelFilter))
    with models.db.connection_context():
        label = Label.select().order_by(Label.id).first()
    return f"flt3_{index}={label.id}"


def settle():
    """The statistics (and on PostgreSQL the visibility map) of tables just filled or
    rewritten, as the nightly job and autovacuum would leave them once settled."""
    if isinstance(models.db.obj, database.SqliteDatabase):
        database.refresh_statistics()
    else:
        models.db.execute_sql("VACUUM ANALYZE")


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
    totp = pyotp.TOTP(staff.totp_secret)
    for _attempt in range(2):
        page = client.get("/admin/login/code/").text
        response = client.post(
            "/admin/login/code/", data={"code": totp.now(), "csrf_token": csrf(page)}
        )
        if response.status_code == 302:
            return
        # A code is taken once: a run just before (--reuse) used this one; wait for the next.
        time.sleep(totp.interval - time.time() % totp.interval + 1)
    raise AssertionError("the bench login failed")


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
    for _ in range(3):  # warm: templates compiled, connections open, caches filled
        client.get(url)
    times, queries = [], []
    for _ in range(repeat):
        before = counter.count
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        queries.append(counter.count - before)
        assert response.status_code == 200, (url, response.status_code)
    median, p95 = common.p50_p95(times)
    return median, p95, max(queries)


def view_of(app, endpoint):
    return next(v for v in app.extensions["admin"][0]._views if v.endpoint == endpoint)


def deep_cursor(app, view, position):
    """The cursor of the list's "Page suivante" link after `position` dossiers, newest first."""
    from backoffice.dossier_list import SORTS
    from dossiers import keyset

    sort = SORTS["submitted_at"]
    with app.test_request_context():
        row = view.get_query().order_by(*keyset.order(sort, True)).offset(position - 1).first()
        cursor = keyset.Cursor(
            "submitted_at",
            True,
            row.submitted_at,
            row.id,
            position // view.page_size,
            context=view.list_context(None, []),
        )
        return cursor.encode()


def add_plain_view(app):
    """Flask-Admin's peewee ModelView with its default settings over the same Dossier table."""
    from flask_admin.contrib.peewee import ModelView

    app.extensions["admin"][0].add_view(
        ModelView(Dossier, name="Plain", endpoint="plain_dossiers", url="plain-dossiers")
    )


def seed(args):
    """A fresh database at `args.database_url` (a SQLite file in a new folder by default), filled
    once for every bench of a run: `args.seeded`, reused when already there."""
    if getattr(args, "seeded", None) is None:
        workdir = Path(tempfile.mkdtemp(prefix="guichet-bench-"))
        url = args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}"
        start = time.perf_counter()
        kept = already_seeded(url, args.dossiers) if getattr(args, "reuse", False) else None
        if kept is None:
            fresh_database(url)
            kept = fill(args.dossiers, args.companies, heavy=args.company_dossiers)
        args.seeded = Seeded(url, workdir, *kept, time.perf_counter() - start)
    return args.seeded


def already_seeded(url, n_dossiers):
    """(staff, sample, code) of a database this bench filled with `n_dossiers` before, brought
    to today's migrations; None when it is not one."""
    models.db.initialize(database.open_database(url))
    try:
        with models.db.connection_context():
            staff = StaffUser.get_or_none(StaffUser.email == "bench@guichet.test")
            if staff is None or Dossier.select().count() != n_dossiers:
                return None
            code = ProcedureDefinition.select().order_by(ProcedureDefinition.id).first().code
            if database.router().diff:  # migrations that came since it was seeded
                database.apply_migrations()
                settle()
            if not Label.select().exists():  # seeded before the labels
                seed_labels(code)
                settle()
            if not DossierAnnotation.select().exists():  # seeded before the annotations
                seed_annotations()
            if not DossierFollow.select().exists():  # seeded before the following
                seed_follows(staff)
                settle()
            sample = Dossier.select().where(Dossier.status == "processing").first()
            print(f"reusing the {n_dossiers:,} dossiers already in the database")
            return staff, sample, code
    except Exception:  # an empty or foreign database: seed it
        return None
    finally:
        models.db.close()


@dataclass
class Seeded:
    url: str
    workdir: Path
    staff: StaffUser
    sample: Dossier
    code: str
    seconds: float

    @property
    def engine(self):
        return self.url.split(":")[0]


def parser(description=__doc__):
    """The options of a bench over the shared volume (`seed`), with `description`'s first line."""
    p = argparse.ArgumentParser(description=description.splitlines()[0])
    p.add_argument("--dossiers", type=int, default=100_000)
    p.add_argument("--companies", type=int, default=5_000)
    p.add_argument("--company-dossiers", type=int, default=5_000, help="in the first company")
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--database-url")
    p.add_argument("--reuse", action="store_true", help="keep a volume this bench seeded before")
    return p


def run(args):
    report = common.Report("Back-office: the dossier list, its searches, the dashboard")
    seeded = seed(args)
    report.print(
        f"{args.dossiers} dossiers, {args.companies} companies on {seeded.engine}: "
        f"filled in {seeded.seconds:.1f} s"
    )
    app = make_app(seeded.url, seeded.workdir)
    add_plain_view(app)
    counter = QueryCounter(models.db)
    client = app.test_client()
    login(client, seeded.staff)
    base = "/admin/dossiers/"
    view = view_of(app, "admin_dossiers")
    deep = deep_cursor(app, view, 25_000 if args.dossiers > 40_000 else args.dossiers // 2)
    sample, code = seeded.sample, seeded.code
    cases = [
        ("list, first page", base),
        ("list, page 500 (cursor)", f"{base}?cursor={deep}"),
        ("list, sorted by reference", base + "?sort=0"),
        ("list, sorted by status", base + "?sort=3"),
        ("list, sorted by company", base + "?sort=2"),
        ("list, sorted by procedure", base + "?sort=1"),
        ("list, sorted by agent", base + "?sort=5"),
        ("filter: status", f"{base}?flt0_0=processing"),
        ("filter: procedure", f"{base}?flt1_1={code}"),
        ("filter: company name", f"{base}?flt2_2=Agence+1234"),
        ("filter: my groups", f"{base}?flt3_7=1"),
        ("filter: label", f"{base}?{label_filter(view)}"),
        ("filter: annotation", f"{base}?{annotation_filter(view)}"),
        ("filter: dossiers I follow", f"{base}?{followed_filter(view)}"),
        ("search: reference", f"{base}?search={sample.reference}"),
        ("search: enterprise number", f"{base}?search=0000.101.234"),
        ("search: company name", f"{base}?search=Agence+4321"),
        ("search: applicant name", f"{base}?search=demandeur1234"),
        ("search: nothing found", f"{base}?search=introuvable"),
        ("detail", f"{base}details/?id={sample.id}"),
        ("dashboard", "/admin/"),
        ("plain ModelView, first page", "/admin/plain-dossiers/"),
        ("plain ModelView, page 500", "/admin/plain-dossiers/?page=499"),
    ]
    report.print(f"{'request':32} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    results = {}
    for label, path in cases:
        results[label] = measure(client, counter, path, args.repeat)
        median, p95, queries = results[label]
        report.print(f"{label:32} {median:10.1f} {p95:8.1f} {queries:8d}")
    ratios = {}
    for mine, plain in (
        ("list, first page", "plain ModelView, first page"),
        ("list, page 500 (cursor)", "plain ModelView, page 500"),
    ):
        ratios[mine] = results[plain][0] / results[mine][0]
        report.print(f"{plain} / {mine}: {ratios[mine]:.1f}x (median)")
    report.print("queries per page by page size:")
    paged = cases[:3] + cases[7:16]
    most = 0
    for size in (20, 100):
        view.page_size = size
        for label, path in paged:
            _median, _p95, queries = measure(client, counter, path, 2)
            most = max(most, queries)
            report.print(f"  {size:3d} rows  {label:32} {queries:3d}")
    view.page_size = 50
    ratio = ratios["list, first page"]
    if ratio < 10:  # what the list's first page spends its time on
        report.print("profile of the list's first page (cProfile, by cumulative time):")
        for line in common.profile(client, base, args.repeat, top=30, sort="cumulative"):
            report.print(line)

    def worst(prefix):
        return max(p95 for label, (_m, p95, _q) in results.items() if label.startswith(prefix))

    p95 = {label: r[1] for label, r in results.items()}
    report.goals += [
        common.at_most("staff list first page p95", p95["list, first page"], 100),
        common.at_least(
            "staff list vs plain Flask-Admin view",
            ratio,
            10,
            "x faster (median)",
            limit="the list's own page is Flask-Admin's page machinery and templates (filters, "
            "menus, the layout) plus 50 rows against the plain view's 20: the profile above",
        ),
        common.at_most("staff list page 500 p95", p95["list, page 500 (cursor)"], 100),
        common.at_most("staff list sorts p95 (slowest)", worst("list, sorted"), 100),
        common.at_most("filter by procedure p95", p95["filter: procedure"], 100),
        common.at_most("filter my groups p95", p95["filter: my groups"], 100),
        common.at_most("filter by label p95", p95["filter: label"], 100),
        common.at_most("filter by annotation p95", p95["filter: annotation"], 100),
        common.at_most("searches p95 (slowest)", worst("search"), 100),
        common.at_most("dashboard p95", p95["dashboard"], 100),
        common.Goal("queries per list page (sizes 20 and 100)", str(most), "≤ 5", most <= 5),
    ]
    models.db.close()
    return report


def main():
    common.finish(run(parser().parse_args()))


if __name__ == "__main__":
    main()
