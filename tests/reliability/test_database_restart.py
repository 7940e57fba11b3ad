"""Item 18: the database lost under load — PostgreSQL restarting (every backend of the database
terminated, a transaction among them half-way through a submission, new connections refused),
or not there at all. Requests fail cleanly with the 503 page in the user's language, nothing
half-written is left, and the app reconnects by itself once the server is back."""

import threading
import time
from urllib.parse import urlsplit

import psycopg2
import pytest

from conftest import BASE_URL, make_config
from helpers import csrf_from, login_person, make_company, make_dossier, make_member, text
from models import (
    Document,
    Dossier,
    DossierStatus,
    OutboxMessage,
    ReferenceCounter,
    Role,
    Signature,
    StatusChange,
)
from run import create_app
from smtp import free_port

TITLE = {
    "fr": "Service momentanément indisponible",
    "de": "Dienst vorübergehend nicht verfügbar",
    "en": "Service temporarily unavailable",
}
LANGUAGES = ["fr", "de", "fr", "de"]  # one client thread each
DEADLINE = 60
# Transactions holding uncommitted rows of the status history (of this database).
HALF_WRITTEN = """
    SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE c.relname = 'status_change' AND l.mode = 'RowExclusiveLock' AND l.granted
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.pid <> pg_backend_pid()
"""


def assert_unavailable_page(response, language):
    page = text(response)
    assert response.status_code == 503, (response.status_code, page[:300])
    assert f'<html lang="{language}"' in page
    assert f"<h1>{TITLE[language]}</h1>" in page or f">{TITLE[language]}</h1>" in page
    assert "Traceback" not in page and "OperationalError" not in page
    assert response.headers["Retry-After"].isdigit()


def session_with(client, **values):
    with client.session_transaction() as session:
        session.update(values)


def test_database_unreachable_answers_503_in_the_users_language(tmp_path):
    """No server at the address at all: the portal and the back-office answer the 503 page,
    French by default, else the language chosen or the browser's."""
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/guichet"
    app = create_app(make_config(tmp_path, url, PUBLIC_BASE_URL=BASE_URL))
    client = app.test_client()
    session_with(client, _user_id="person:1", sid="a-session")  # a logged-in visitor
    assert_unavailable_page(client.get("/dossiers/"), "fr")
    assert_unavailable_page(client.get("/dossiers/?lang=de"), "de")
    assert_unavailable_page(client.get("/dossiers/"), "de")  # the choice kept for the visit
    browser = app.test_client()
    session_with(browser, _user_id="person:1", sid="a-session")
    assert_unavailable_page(browser.get("/dossiers/", headers={"Accept-Language": "en"}), "en")
    staff = app.test_client()
    session_with(staff, _user_id="staff:1", sid="a-session")
    response = staff.get("/admin/")
    assert_unavailable_page(response, "fr")
    assert "back-office" in text(response)
    assert client.get("/healthz").status_code == 503


class Database:
    """Our test database on the shared PostgreSQL server, restarted as a server restart does
    it to its clients — without touching anyone else's database: new connections refused
    (ALLOW_CONNECTIONS false), every backend terminated."""

    def __init__(self, url):
        self.name = urlsplit(url).path.lstrip("/")
        self.admin = psycopg2.connect(urlsplit(url)._replace(path="/postgres").geturl())
        self.admin.autocommit = True
        self.holder = psycopg2.connect(url)  # a session of ours that outlives the restart

    def query(self, sql, *args):
        with self.admin.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall() if cursor.description else None

    def waiting_on_locks(self):
        return self.query(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
            self.name,
        )[0][0]

    def go_down(self):
        self.query(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
        self.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
            "AND pid <> %s",
            self.name,
            self.holder.get_backend_pid(),
        )

    def come_back(self):
        self.query(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')

    def count(self, sql):
        with self.holder.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]

    def close(self, restore=True):
        try:
            if restore:
                self.come_back()
        finally:
            self.holder.close()
            self.admin.close()


@pytest.fixture
def restartable(app, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL server restart (SQLite has no server)")
    database = Database(database_url)
    try:
        database.come_back()  # a no-op that needs the right to alter the database
    except psycopg2.errors.InsufficientPrivilege:
        database.close(restore=False)
        pytest.skip("the role of TEST_DATABASE_URL may not alter its database")
    yield database
    database.close()


class Applicant(threading.Thread):
    """One browser submitting its dossiers one after another, reloading after an error page as
    a person would; the first one before the restart, the second sent into it, the last after."""

    def __init__(self, app, person, company, dossiers, language, phase):
        super().__init__()
        self.client = app.test_client()
        login_person(self.client, person, company)
        session_with(self.client, lang=language)
        self.dossiers, self.language, self.phase = dossiers, language, phase
        self.responses, self.error = [], None
        self.first_done, self.failed = threading.Event(), threading.Event()

    def submit(self, dossier_id, token):
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            response = self.client.post(
                f"/dossiers/{dossier_id}/signer", data={"csrf_token": token, "declaration": "y"}
            )
            self.responses.append(response)
            if response.status_code == 302:
                assert response.headers["Location"] == f"/dossiers/{dossier_id}"
                return
            assert_unavailable_page(response, self.language)
            self.failed.set()
            time.sleep(0.05)
        raise AssertionError(f"dossier {dossier_id} never submitted")

    def run(self):
        try:
            first, during, after = self.dossiers
            token = csrf_from(self.client.get(f"/dossiers/{first}/signer").text)
            self.submit(first, token)
            self.first_done.set()
            self.phase["restart"].wait(DEADLINE)
            self.submit(during, token)
            self.phase["back"].wait(DEADLINE)
            self.submit(after, token)
            assert self.client.get("/dossiers/").status_code == 200
        except BaseException as exc:
            self.error = exc
            self.failed.set()


def wait_for(predicate, what):
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {DEADLINE} s"
        time.sleep(0.05)


@pytest.mark.postgres
def test_postgresql_restart_during_load_fails_cleanly_and_reconnects(app, client, restartable):
    company = make_company()
    person = make_member(company, Role.SIGN)
    dossiers = [
        make_dossier(DossierStatus.COMPLETE, company=company, person=person).id for _ in range(12)
    ]
    phase = {"restart": threading.Event(), "back": threading.Event()}
    applicants = [
        Applicant(app, person, company, dossiers[i::4], language, phase)
        for i, language in enumerate(LANGUAGES)
    ]
    for applicant in applicants:
        applicant.start()
    try:
        wait_for(lambda: all(a.first_done.is_set() for a in applicants), "first submissions")
        # Hold the email table: the next submissions stop inside their transaction (one has
        # already written its signature, status and history rows and waits to write its email;
        # the others wait for its reference number), and the restart hits them.
        holder = restartable.holder.cursor()
        holder.execute("LOCK TABLE outbox_message IN EXCLUSIVE MODE")
        phase["restart"].set()
        wait_for(lambda: restartable.waiting_on_locks() == 4, "four submissions in flight")
        assert restartable.count(HALF_WRITTEN) == 1, "one has written its history row"
        restartable.go_down()
        restartable.holder.rollback()
        wait_for(lambda: all(a.failed.is_set() for a in applicants), "an error page for each")
        # Down: nothing of the interrupted submissions is left, only the four made before.
        assert restartable.count("SELECT count(*) FROM signature") == 4
        assert (
            restartable.count("SELECT count(*) FROM status_change WHERE to_status = 'submitted'")
            == 4
        )
        assert restartable.count("SELECT count(*) FROM dossier WHERE status = 'submitted'") == 4
        assert restartable.count("SELECT max(last_number) FROM reference_counter") == 4
        restartable.come_back()
        phase["back"].set()
    finally:
        phase["restart"].set()
        phase["back"].set()
        for applicant in applicants:
            applicant.join(DEADLINE)
    for applicant in applicants:
        assert applicant.error is None, applicant.error
        codes = {r.status_code for r in applicant.responses}
        assert codes <= {302, 503} and 503 in codes, codes

    # Back: every dossier submitted once, whole — signature, history, email, reference.
    assert client.get("/healthz").status_code == 200
    for dossier_id in dossiers:
        dossier = Dossier.get_by_id(dossier_id)
        assert dossier.state == DossierStatus.SUBMITTED
        assert Signature.select().where(Signature.dossier == dossier).count() == 1
        submitted = StatusChange.to_status == DossierStatus.SUBMITTED.value
        assert StatusChange.select().where(StatusChange.dossier == dossier, submitted).count() == 1
        emails = OutboxMessage.select().where(
            OutboxMessage.dossier == dossier, OutboxMessage.event == "submitted"
        )
        assert emails.count() == 1
    numbers = sorted(int(Dossier.get_by_id(d).reference.rsplit("-", 1)[1]) for d in dossiers)
    assert numbers == list(range(1, 13)), "gap-free: the interrupted numbers were rolled back"
    assert [c.last_number for c in ReferenceCounter.select()] == [12]
    receipts = Document.select().where(Document.kind == Document.RECEIPT)
    assert sorted(d.dossier_id for d in receipts) == sorted(dossiers), "one receipt each"
