"""The volume every bench over the staff's and the companies' pages reads: a fresh database
built with the migrations (the PostgreSQL database must exist or is created; its schema is
dropped and rebuilt), filled with companies and dossiers in every status (a third of them
drafts, which staff never see), the labels, annotations, following and legal deadlines of the
list's filters, by COPY, INSERT ... SELECT and UPDATE at the database's own speed. Seeded once
per run (`seed`) and shared by the benches that read it; `--reuse` keeps the one a previous run
of the same size left, brought to today's migrations and seeds.
"""

import argparse
import csv
import io
import logging
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyotp
from peewee import Value

import database
import models
import sealed
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
# The benches' app key (bench/backoffice_list.make_app): the seeded TOTP secret is sealed under it.
SECRET_KEY = "bench-volume-" + "k" * 40


def sealed_totp(secret):
    """`secret` sealed as the staff login keeps it (access.staff), under the benches' key."""
    from flask import Flask

    from access import staff as access_staff

    app = Flask(__name__)
    app.config["SECRET_KEY"] = SECRET_KEY
    with app.app_context():
        return sealed.seal(access_staff.TOTP_PURPOSE, secret)


def fresh_database(url):
    """The database of `url` with the schema of the migrations and nothing else."""
    if url.startswith("postgres"):
        database.create_if_missing(url)
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
            totp_secret=sealed_totp(pyotp.random_base32()),
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
        seed_deadlines()
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


def seed_follows(staff):
    """The bench's staff member follows one dossier in twenty (the list's "Suivis" filter)."""
    now = utcnow()
    followed = Dossier.select(Value(staff.id), Dossier.id, Value(now)).where(
        residue(Dossier.id, 20) == 3
    )
    fields = [DossierFollow.staff, DossierFollow.dossier, DossierFollow.created_at]
    DossierFollow.insert_from(followed, fields).execute()


def seed_deadlines():
    """The legal deadline's clock of the dossiers received (those in instruction and the
    closed): due 60 to 89 days after their submission, as a 60-day deadline with a complement
    request or two answered leaves it, so that the late are the older ones, as in life; one
    dossier in 25 being processed waits for a complement, its clock paused (the list's
    "Délai légal" filter, its column and the dashboard's count of late dossiers)."""
    if isinstance(models.db.obj, database.SqliteDatabase):
        due_at = "datetime(submitted_at, '+' || (60 + id % 30) || ' days')"
    else:
        due_at = "submitted_at + (60 + MOD(id, 30)) * interval '1 day'"
    models.db.execute_sql(
        f"UPDATE dossier SET due_at = {due_at} "  # noqa: S608 - our own SQL
        "WHERE status IN ('received', 'processing', 'closed')"
    )
    Dossier.update(deadline_paused_at=utcnow()).where(
        Dossier.status == "processing", residue(Dossier.id, 25) == 0
    ).execute()


def settle():
    """The statistics (and on PostgreSQL the visibility map) of tables just filled or
    rewritten, as the nightly job and autovacuum would leave them once settled."""
    if isinstance(models.db.obj, database.SqliteDatabase):
        database.refresh_statistics()
    else:
        models.db.execute_sql("VACUUM ANALYZE")


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
            if not Dossier.select().where(Dossier.due_at.is_null(False)).exists():
                seed_deadlines()  # seeded before the deadlines' clock
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
