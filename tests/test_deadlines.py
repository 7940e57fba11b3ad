"""Legal deadlines: the `deadline:` key checked with its line; the clock started at Réceptionné,
paused by a complement request and moved by the paused time on its answer, stopped at the
closing and resumed by a reopening; the list's column and filters, the dashboard's count, and
the agent's reminder sent once."""

import re
from datetime import date, datetime, timedelta

import pytest
from clock import Clock
from peewee import SqliteDatabase
from test_definitions import BASE

import backoffice.dashboard
import backoffice.dossier_filters
import dossiers.deadlines
import dossiers.messages
import models
from backoffice.dossier_filters import DeadlineFilter
from dossiers import deadlines, messages
from helpers import (
    login_staff,
    make_company,
    make_definition,
    make_dossier,
    make_member,
    make_staff,
    text,
)
from models import (
    Actor,
    Decision,
    Dossier,
    DossierStatus,
    MonthlyStatistics,
    OutboxMessage,
    ProcedureDefinition,
    Role,
    StaffRole,
)
from procedures.definition import DefinitionError, parse_definition

START = datetime(2026, 3, 2, 9, 0)  # naive UTC


@pytest.fixture
def clock(app, monkeypatch):
    clock = Clock(START)
    for module in (
        models,
        dossiers.messages,
        dossiers.deadlines,
        backoffice.dossier_filters,
        backoffice.dashboard,
    ):
        monkeypatch.setattr(module, "utcnow", clock)
    return clock


def definition_with(days):
    """A procedure version whose dossiers have a legal deadline of `days` days."""
    definition = make_definition()
    ProcedureDefinition.update(deadline_days=days).where(
        ProcedureDefinition.id == definition.id
    ).execute()
    return ProcedureDefinition.get_by_id(definition.id)


def fresh(dossier):
    return Dossier.get_by_id(dossier.id)


# --- the definition ---------------------------------------------------------------------------


def test_the_deadline_key_is_read_and_a_bad_value_refused_with_its_line():
    text_ok = BASE.replace("sections:\n", "deadline: {days: 60, from: received}\nsections:\n", 1)
    definition = parse_definition(text_ok)
    assert definition.deadline.days == 60 and definition.deadline.when_passed == "flag"
    assert definition.deadline_days == 60
    nothing = BASE.replace(
        "sections:\n", "deadline: {days: 30, when_passed: nothing}\nsections:\n", 1
    )
    assert parse_definition(nothing).deadline_days is None  # no clock is kept
    assert parse_definition(BASE).deadline is None

    line = BASE.splitlines().index("sections:") + 1  # the deadline lands on that line
    for bad in (
        "deadline: {days: 60, when_passed: reject}",
        "deadline: {days: 0}",
        "deadline: {days: 60, from: submitted}",
        "deadline: {when_passed: flag}",
    ):
        with pytest.raises(DefinitionError) as refused:
            parse_definition(BASE.replace("sections:\n", bad + "\nsections:\n", 1))
        problems = refused.value.problems
        assert any(p.line == line and p.path.startswith("deadline") for p in problems), problems


# --- the clock --------------------------------------------------------------------------------


def test_the_clock_starts_at_received_pauses_on_a_complement_request_and_resumes(app, clock):
    definition = definition_with(60)
    company = make_company()
    person = make_member(company, Role.ENCODE)
    submitted = make_dossier(DossierStatus.SUBMITTED, company=company, definition=definition)
    assert fresh(submitted).due_at is None  # the clock starts at Réceptionné
    agent = make_staff(StaffRole.AGENT)
    staff = Actor.staff_member(agent)
    submitted.transition(DossierStatus.RECEIVED, staff)
    assert fresh(submitted).due_at == START + timedelta(days=60)
    assert fresh(submitted).remaining_days() == 60

    clock.advance(days=10)
    messages.request_complement(staff, submitted, "Vos statuts ?", ["Statuts"])
    paused = fresh(submitted)
    assert paused.deadline_paused_at == START + timedelta(days=10)
    assert paused.remaining_days() is None  # shown "en pause"

    clock.advance(days=15)  # the company takes 15 days to answer
    with app.test_request_context():
        messages.reply(Actor.applicant(person), fresh(submitted), "Voici nos statuts", [])
    resumed = fresh(submitted)
    assert resumed.deadline_paused_at is None
    assert resumed.due_at == START + timedelta(days=75)  # 60 + the 15 paused days
    assert resumed.remaining_days() == 50


def test_closing_stops_the_clock_and_reopening_resumes_it(clock):
    dossier = make_dossier(DossierStatus.PROCESSING, definition=definition_with(20))
    staff = Actor.staff_member(make_staff(StaffRole.SUPERVISOR))
    clock.advance(days=5)
    dossier.transition(DossierStatus.CLOSED, staff, decision=Decision.GRANTED)
    assert fresh(dossier).due_at == START + timedelta(days=20)
    clock.advance(days=30)  # closed for 30 days: not counted
    fresh(dossier).transition(DossierStatus.PROCESSING, staff, comment="Erreur de décision")
    assert fresh(dossier).due_at == START + timedelta(days=50)
    assert fresh(dossier).remaining_days() == 15


def test_a_dossier_closed_during_a_pause_keeps_the_time_it_had(clock):
    dossier = make_dossier(DossierStatus.PROCESSING, definition=definition_with(20))
    staff = Actor.staff_member(make_staff(StaffRole.SUPERVISOR))
    messages.request_complement(staff, dossier, "Un document ?", [])
    clock.advance(days=40)
    fresh(dossier).transition(DossierStatus.CLOSED, staff, decision=Decision.NO_FOLLOW_UP)
    closed = fresh(dossier)
    assert closed.deadline_paused_at is None and closed.due_at == START + timedelta(days=60)
    assert closed.closed_at < closed.due_at  # not closed late


def test_no_clock_without_a_deadline(clock):
    dossier = make_dossier(DossierStatus.PROCESSING)
    assert fresh(dossier).due_at is None and fresh(dossier).remaining_days() is None


# --- the list, the dashboard, the reminder ----------------------------------------------------


def deadline_arg(app):
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "admin_dossiers")
    index = next(i for i, f in enumerate(view._filters) if isinstance(f, DeadlineFilter))
    return f"flt0_{index}"


@pytest.fixture
def three(clock):
    """A dossier late by 2 days, one due in 5 days, one due in 30 days, one paused."""
    staff = Actor.staff_member(make_staff(StaffRole.SUPERVISOR))
    late = make_dossier(DossierStatus.PROCESSING, definition=definition_with(10))
    clock.advance(days=7)
    week = make_dossier(DossierStatus.RECEIVED, definition=definition_with(10))
    later = make_dossier(DossierStatus.RECEIVED, definition=definition_with(35))
    paused = make_dossier(DossierStatus.RECEIVED, definition=definition_with(1))
    messages.request_complement(staff, paused, "Un document ?", [])
    clock.advance(days=5)
    return late, week, later, paused


def references(page):
    return set(re.findall(r"ENR-\d{4}-\d+", page))


def test_the_list_shows_remaining_days_and_filters_late_and_due_within_7_days(app, client, three):
    late, week, _later, _paused = three
    login_staff(client, make_staff(StaffRole.SUPERVISOR))
    arg = deadline_arg(app)
    page = text(client.get("/admin/dossiers/"))
    assert "Jours restants" in page
    assert "2 jours de retard" in page and "5 jours" in page and "en pause" in page
    shown = references(text(client.get(f"/admin/dossiers/?{arg}=late")))
    assert shown == {late.reference}
    shown = references(text(client.get(f"/admin/dossiers/?{arg}=week")))
    assert shown == {week.reference}


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            [
                *("Days left", "2 days late", "paused", "Legal deadlines", "1 application late"),
                *("1 application due within 7 days", "Legal deadline:", "2 days late."),
            ],
        ),
        (
            "de",
            [
                *("Verbleibende Tage", "2 Tage Verspätung", "pausiert", "Gesetzliche Fristen"),
                *(
                    "1 Akte innerhalb von 7 Tagen fällig",
                    "Gesetzliche Frist:",
                    "2 Tage überfällig.",
                ),
            ],
        ),
    ],
)
def test_the_pages_in_english_and_german(app, client, three, language, words):
    app.config["LANGUAGES_READY"] = ("fr", "de", "en")
    login_staff(client, make_staff(StaffRole.SUPERVISOR))
    page = text(client.get(f"/admin/dossiers/?lang={language}"))
    page += text(client.get(f"/admin/?lang={language}"))
    page += text(client.get(f"/admin/dossiers/details/?id={three[0].id}&lang={language}"))
    for word in words:
        assert word in page, word


@pytest.mark.parametrize("days", [None, 7])
def test_late_and_due_soon_read_the_running_clocks_index_newest_first(three, days):
    """On PostgreSQL the late are read newest first on the running clocks' index, their due
    date checked in it (the older dossiers are the late: a read of (submitted_at, id) went
    through every recent one). SQLite cannot prove a partial index whose condition holds
    parameters and reads its (status, due_at) index."""
    now = models.utcnow()
    due = Dossier.is_due_within(now, days) if days else Dossier.is_running_late(now)
    query = (
        Dossier.select(Dossier.id)
        .where(Dossier.is_staff_visible(), due)
        .order_by(Dossier.submitted_at.desc(), Dossier.id.desc())
        .limit(50)
    )
    sql, params = query.sql()
    if isinstance(models.db.obj, SqliteDatabase):
        plan = " ".join(str(r) for r in models.db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "dossier_status_due_at" in plan, plan
        return
    models.db.execute_sql("SET enable_seqscan = off")
    plan = " ".join(r[0] for r in models.db.execute_sql(f"EXPLAIN {sql}", params))
    assert "dossier_submitted_at_id_due_at" in plan, plan
    assert "Index Cond: (due_at <" in plan or "Index Cond: ((due_at >=" in plan, plan
    assert "Sort" not in plan, plan


def test_the_dashboard_counts_the_late_dossiers(client, three):
    login_staff(client, make_staff(StaffRole.SUPERVISOR))
    assert "1 dossier en retard" in text(client.get("/admin/"))
    assert backoffice.dashboard.late_count() == 1


def test_the_dashboard_links_its_counts_to_the_list_so_filtered(app, client, three):
    late, week, _later, _paused = three
    login_staff(client, make_staff(StaffRole.AGENT))
    page = client.get("/admin/").text
    arg = deadline_arg(app)
    links = dict(
        re.findall(r'<a href="([^"]+)">(\d+ dossiers? (?:en retard|à échéance[^<]*))</a>', page)
    )
    assert links == {
        f"/admin/dossiers/?{arg}=late": "1 dossier en retard",
        f"/admin/dossiers/?{arg}=week": "1 dossier à échéance dans les 7 jours",
    }
    for url, dossier in zip(links, (late, week), strict=True):
        assert references(text(client.get(url))) == {dossier.reference}
    assert backoffice.dashboard.due_within_week_count() == 1


def test_the_dashboard_of_the_helpdesk_counts_without_a_link(client, three):
    login_staff(client, make_staff(StaffRole.HELPDESK))
    page = client.get("/admin/").text
    assert "1 dossier en retard" in page and "/admin/dossiers/?" not in page


def test_the_dossier_page_tells_its_legal_deadline_near_the_top(client, three):
    late, week, later, paused = three
    login_staff(client, make_staff(StaffRole.AGENT))

    def deadline_of(dossier):
        page = re.sub(r"<[^>]+>", "", text(client.get(f"/admin/dossiers/details/?id={dossier.id}")))
        found = re.search(r"Délai légal : ([^\n]*)", page)
        assert found and page.index(found[0]) < page.index("Réponses"), page
        return found[1].strip()

    assert deadline_of(late) == "échéance le 12 mars 2026, en retard de 2 jours."
    assert deadline_of(week) == "échéance le 19 mars 2026, 5 jours restants."
    assert deadline_of(later) == "échéance le 13 avril 2026, 30 jours restants."
    assert deadline_of(paused) == (
        "suspendu depuis le 9 mars 2026 : une demande de compléments attend la réponse de "
        "l'entreprise."
    )
    plain = make_dossier(DossierStatus.RECEIVED, definition=make_definition("autre", "AUT"))
    assert "Délai légal" not in text(client.get(f"/admin/dossiers/details/?id={plain.id}"))


def test_the_reminder_goes_once_to_the_assigned_agent_in_their_language(clock):
    agent = make_staff(StaffRole.AGENT, language="de")
    dossier = make_dossier(DossierStatus.RECEIVED, definition=definition_with(10))
    dossier.assign(agent)
    unassigned = make_dossier(DossierStatus.RECEIVED, definition=definition_with(10))
    assert deadlines.send_reminders() == 0  # 10 days left: not yet
    clock.advance(days=4)
    assert deadlines.send_reminders() == 1
    clock.advance(days=1)
    assert deadlines.send_reminders() == 0  # never twice
    mails = list(OutboxMessage.select().where(OutboxMessage.event == "deadline_reminder"))
    assert [(m.to_email, m.language) for m in mails] == [(agent.email, "de")]
    assert fresh(dossier).deadline_reminded_at is not None
    assert fresh(unassigned).deadline_reminded_at is None


def test_a_late_closing_is_counted_in_its_month_and_taken_back_on_reopening(app, client, clock):
    dossier = make_dossier(DossierStatus.PROCESSING, definition=definition_with(10))
    on_time = make_dossier(DossierStatus.PROCESSING, definition=definition_with(30))
    staff = Actor.staff_member(make_staff(StaffRole.SUPERVISOR))
    clock.advance(days=12)
    fresh(dossier).transition(DossierStatus.CLOSED, staff, decision=Decision.REFUSED)
    fresh(on_time).transition(DossierStatus.CLOSED, staff, decision=Decision.GRANTED)
    months, _days = MonthlyStatistics.kept()
    assert months[("enregistrement", date(2026, 3, 1))]["late"] == 1
    assert MonthlyStatistics.recount()[0] == months
    login_staff(client, make_staff(StaffRole.SUPERVISOR))
    assert "Clôturés en retard" in text(client.get("/admin/statistics/"))
    lines = client.get("/admin/statistics/statistics.csv").data.decode("utf-8-sig").splitlines()
    header = lines[0].split(";")
    assert header[8] == "Clôturés en retard"
    march = next(line.split(";") for line in lines if ";2026-03;" in line)
    assert march[3:9] == ["2", "2", "1", "1", "0", "1"]  # submitted, closed, decisions, late
    fresh(dossier).transition(DossierStatus.PROCESSING, staff, comment="À revoir")
    months, _days = MonthlyStatistics.kept()
    assert "late" not in months[("enregistrement", date(2026, 3, 1))]
