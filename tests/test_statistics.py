"""Statistics per procedure and month (models.MonthlyStatistics, dossiers/statistics.py): counts
and processing times after real transitions, a reopened dossier counted once at its last
closing, the rebuild equal to the live counts, the supervisors' page and its CSV, the public
page of processing times (no login, cacheable, nothing personal), in three languages."""

import threading
from datetime import date, datetime, timedelta

import pytest
from clock import Clock

import backoffice.statistics
import database
import models
from dossiers import processing, statistics
from helpers import login_person, login_staff, make_company, make_dossier, make_member, make_staff
from models import (
    Actor,
    Decision,
    Dossier,
    DossierStatus,
    MonthlyProcessingDays,
    MonthlyStatistics,
    StaffRole,
    month_of,
)

MARCH = datetime(2026, 3, 1, 9, 0)  # naive UTC: 10:00 in Brussels


@pytest.fixture
def clock(monkeypatch):
    """The time of the transitions and of the pages ("the last twelve months")."""
    clock = Clock(MARCH)
    for module in (models, statistics, backoffice.statistics):
        monkeypatch.setattr(module, "utcnow", clock)
    return clock


@pytest.fixture
def supervisor(app):
    return make_staff(StaffRole.SUPERVISOR)


def submitted(clock, when, company=None):
    clock.now = when
    return make_dossier(DossierStatus.SUBMITTED, company=company)


def close(clock, supervisor, dossier, when, decision=Decision.GRANTED):
    actor = Actor.staff_member(supervisor)
    clock.now = when
    if dossier.state == DossierStatus.SUBMITTED:
        processing.receive(actor, dossier)
        processing.start_processing(actor, dossier)
    processing.close(actor, dossier, decision.value, "Motivation.")


def month_row(code, month):
    return MonthlyStatistics.get(
        MonthlyStatistics.procedure_code == code, MonthlyStatistics.month == month
    )


def procedure(code="enregistrement"):
    return next(p for p in statistics.by_procedure() if p.code == code)


def ten_closings(clock, supervisor):
    """Ten dossiers submitted on 1 March, closed after 1 to 9 days and one after 30."""
    durations = [3, 1, 4, 1, 5, 9, 2, 6, 8, 30]
    decisions = [Decision.GRANTED] * 6 + [Decision.REFUSED] * 3 + [Decision.NO_FOLLOW_UP]
    for days, decision in zip(durations, decisions, strict=True):
        dossier = submitted(clock, MARCH)
        close(clock, supervisor, dossier, MARCH + timedelta(days=days, hours=1), decision)
    return durations


def test_counts_median_and_p90_after_real_transitions(ctx, clock, supervisor):
    ten_closings(clock, supervisor)
    submitted(clock, MARCH + timedelta(days=2))  # submitted, not closed
    row = month_row("enregistrement", date(2026, 3, 1))
    assert (row.submitted, row.closed) == (11, 10)
    assert (row.granted, row.refused, row.dismissed) == (6, 3, 1)
    stats = procedure()
    march = stats.months[-1]
    assert march.month == date(2026, 3, 1) and len(stats.months) == statistics.MONTHS
    # sorted: 1 1 2 3 4 5 6 8 9 30 — the 5th (median) and the 9th (90th percentile)
    assert (march.median, march.p90) == (4, 9)
    assert (stats.closed, stats.median, stats.p90) == (10, 4, 9)
    assert all(m.closed == 0 and m.median is None for m in stats.months[:-1])


def test_percentile_by_nearest_rank():
    assert statistics.percentile({}, 0.5) is None
    assert statistics.percentile({7: 1}, 0.9) == 7
    assert statistics.percentile({1: 1, 2: 1}, 0.5) == 1
    assert statistics.percentile({0: 5, 10: 5}, 0.9) == 10


def test_months_and_days_are_brussels_time():
    assert month_of(datetime(2026, 1, 31, 23, 30)) == date(2026, 2, 1)  # 00:30 on 1 February
    assert month_of(datetime(2026, 1, 31, 22, 30)) == date(2026, 1, 1)
    # submitted at 00:30 on 3 March in Brussels, closed that morning
    assert models.processing_days(datetime(2026, 3, 2, 23, 30), datetime(2026, 3, 3, 8)) == 0
    assert models.processing_days(datetime(2026, 3, 2, 22, 30), datetime(2026, 3, 3, 8)) == 1


def test_reopened_dossier_counts_once_at_its_last_closing(ctx, clock, supervisor):
    dossier = submitted(clock, MARCH)
    close(clock, supervisor, dossier, MARCH + timedelta(days=4), Decision.REFUSED)
    assert month_row("enregistrement", date(2026, 3, 1)).refused == 1
    clock.now = datetime(2026, 4, 10, 9)
    processing.reopen(Actor.staff_member(supervisor), dossier, "Pièce retrouvée.")
    march = month_row("enregistrement", date(2026, 3, 1))
    assert (march.submitted, march.closed, march.refused) == (1, 0, 0)
    close(clock, supervisor, dossier, datetime(2026, 4, 20, 9), Decision.GRANTED)
    april = month_row("enregistrement", date(2026, 4, 1))
    assert (april.submitted, april.closed, april.granted, april.refused) == (0, 1, 1, 0)
    days = {(r.month, r.days): r.n for r in MonthlyProcessingDays.select() if r.n}
    assert days == {(date(2026, 4, 1), 50): 1}  # 1 March to 20 April: from the submission
    clock.now = datetime(2026, 4, 21, 9)
    stats = procedure()
    assert (stats.closed, stats.median, stats.p90) == (1, 50, 50)


def test_rebuild_gives_the_live_table(ctx, clock, supervisor, runner):
    ten_closings(clock, supervisor)
    reopened = submitted(clock, datetime(2026, 1, 31, 23, 30))  # February in Brussels
    close(clock, supervisor, reopened, datetime(2026, 2, 3, 9))
    clock.now = datetime(2026, 2, 5, 9)
    processing.reopen(Actor.staff_member(supervisor), reopened, "Erreur.")
    close(clock, supervisor, reopened, datetime(2026, 3, 31, 22, 30), Decision.REFUSED)  # April
    live = MonthlyStatistics.kept()
    assert MonthlyStatistics.recount() == live
    MonthlyStatistics.update(closed=MonthlyStatistics.closed + 7).execute()
    MonthlyProcessingDays.delete().execute()
    result = runner.invoke(args=["statistics", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "11 submitted and 11 closed dossier(s)" in result.output
    assert MonthlyStatistics.kept() == live
    assert live[0][("enregistrement", date(2026, 2, 1))] == {"submitted": 1}
    assert live[0][("enregistrement", date(2026, 4, 1))] == {"closed": 1, "refused": 1}


def test_the_migration_counts_the_dossiers_already_there(ctx, clock, supervisor):
    """Migration 025 undone and applied again over the same dossiers (SQLite: the session's
    PostgreSQL schema is shared) fills the same table as the live updates."""
    if not isinstance(models.db.obj, database.SqliteDatabase):
        pytest.skip("the schema of the PostgreSQL session is shared by every test")
    ten_closings(clock, supervisor)
    reopened = submitted(clock, datetime(2026, 1, 31, 23, 30))
    close(clock, supervisor, reopened, datetime(2026, 2, 3, 9))
    processing.reopen(Actor.staff_member(supervisor), reopened, "Erreur.")
    live = MonthlyStatistics.kept()
    router = database.router()
    while "025_statistics" in router.done:
        router.rollback()
    assert "monthly_statistics" not in models.db.get_tables()
    database.apply_migrations()
    assert MonthlyStatistics.kept() == live


def test_supervisor_page_and_csv(app, client, clock, supervisor):
    with app.app_context():
        ten_closings(clock, supervisor)
    login_staff(client, supervisor)
    page = client.get("/admin/statistics/")
    assert page.status_code == 200
    html = page.text
    assert "Procédure enregistrement" in html and "<svg" in html and 'role="img"' in html
    assert "<title id=" in html and "<desc id=" in html and "<caption>" in html
    assert "mars 2026" in html
    response = client.get("/admin/statistics/statistics.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0].split(";")[:4] == ["Code", "Procédure", "Mois", "Soumis"]
    assert "enregistrement;Procédure enregistrement;2026-03;10;10;6;3;1;0;4;9" in lines
    assert len(lines) == 1 + statistics.MONTHS


@pytest.mark.parametrize("role", [StaffRole.AGENT, StaffRole.HELPDESK])
def test_agents_and_helpdesk_are_refused(app, client, role):
    login_staff(client, make_staff(role))
    assert client.get("/admin/statistics/").status_code == 403
    assert client.get("/admin/statistics/statistics.csv").status_code == 403


def test_administrator_sees_the_page_and_anonymous_is_sent_to_login(app, client):
    assert client.get("/admin/statistics/").status_code == 302
    login_staff(client, make_staff(StaffRole.ADMIN))
    assert client.get("/admin/statistics/").status_code == 200


def test_public_page_without_login(app, client, clock, supervisor):
    with app.app_context():
        company = make_company(name="Intérim Secret SA")
        ten_closings(clock, supervisor)
        submitted(clock, MARCH, company=company)
    response = client.get("/statistiques")
    assert response.status_code == 200
    html = response.text
    assert "Procédure enregistrement" in html
    assert "<td>10</td>\n    <td>4</td>\n    <td>9</td>" in html
    assert "Intérim Secret" not in html and "ENR-" not in html
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "Accept-Language" in response.headers["Vary"]


def test_public_page_is_not_shared_for_a_logged_in_person(app, client):
    with app.app_context():
        company = make_company()
        person = make_member(company)
    login_person(client, person, company)
    response = client.get("/statistiques")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_in_english_and_german(app, client, clock, supervisor):
    with app.app_context():
        ten_closings(clock, supervisor)
    english = client.get("/statistiques?lang=en")
    assert 'lang="en"' in english.text and "Processing times" in english.text
    assert english.headers["Cache-Control"] == "no-store"  # this answer sets the language
    german = client.get("/statistiques?lang=de")
    assert "Bearbeitungsfristen" in german.text
    assert "public" in client.get("/statistiques").headers["Cache-Control"]
    login_staff(client, supervisor)
    page = client.get("/admin/statistics/?lang=de")
    assert "Statistik" in page.text and "März 2026" in page.text
    csv = client.get("/admin/statistics/statistics.csv").data.decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("Code;Verfahren;Monat;")


def test_concurrent_closings_lose_no_count(app):
    """Eight dossiers closed at once, each by its own connection: one month row and one day
    bucket, each upsert adding to it."""
    dossiers = [make_dossier(DossierStatus.PROCESSING) for _ in range(8)]
    supervisors = [make_staff(StaffRole.SUPERVISOR) for _ in dossiers]
    models.db.close()
    barrier = threading.Barrier(len(dossiers))
    errors = []

    def close_one(dossier, supervisor):
        with app.app_context():
            models.db.connect(reuse_if_open=True)
            try:
                copy = Dossier.get_by_id(dossier.id)
                barrier.wait()
                copy.transition(
                    DossierStatus.CLOSED, Actor.staff_member(supervisor), decision=Decision.REFUSED
                )
            except Exception as exc:  # reported below
                errors.append(exc)
            finally:
                models.db.close()

    threads = [
        threading.Thread(target=close_one, args=pair)
        for pair in zip(dossiers, supervisors, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    models.db.connect(reuse_if_open=True)
    assert errors == []
    months, days = MonthlyStatistics.kept()
    assert [c["closed"] for c in months.values()] == [8]
    assert [c["refused"] for c in months.values()] == [8]
    assert sum(days.values()) == 8
    assert MonthlyStatistics.recount() == (months, days)
