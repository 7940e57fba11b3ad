"""Reminders of the yearly activity report: 30 and 7 days before the due date, to companies
holding a registration or an approval, while no report for the year is submitted; never twice
for the same company, year and step. A day the worker missed is caught up: the latest step
begun is sent on its next run, with the days actually left (never both steps at once, never
after the due date)."""

from datetime import date

from flask import current_app
from peewee import IntegrityError

import notifications
from models import (
    Company,
    Dossier,
    Membership,
    Person,
    ProcedureDefinition,
    RegistrationNumber,
    ReminderSent,
    db,
)

STEPS = (30, 7)
REPORT = "rapport-activites"


def due_date(year, month_day):
    return date(year, *month_day)


def companies_holding():
    """The companies with a registration or an approval in force (granted in Guichet, or
    imported)."""
    return Company.select().where(
        Company.id.in_(RegistrationNumber.granted().select(RegistrationNumber.company))
    )


def report_submitted(company, reference_year):
    reports = (
        Dossier.select()
        .join(ProcedureDefinition)
        .where(
            Dossier.company == company,
            ProcedureDefinition.code == REPORT,
            Dossier.is_staff_visible(),
        )
    )
    return any(d.answers.get("reference_year") == reference_year for d in reports)


def recipients(company):
    members = (
        Membership.select(Membership, Person)
        .join(Person)
        .where(Membership.company == company, Membership.roles > 0)
    )
    return [
        (m.person, m.notification_email)
        for m in members
        if m.notification_email and not m.person.notifications_opt_out
    ]


def send_due(today=None):
    """Queue the reminders due today; returns how many companies were reminded."""
    today = today or date.today()
    month_day = current_app.config.get("REPORT_DUE_MONTH_DAY", (3, 31))
    due = due_date(today.year, month_day)
    days_left = (due - today).days
    begun = [s for s in STEPS if 0 <= days_left <= s]
    if not begun:
        return 0
    step = min(begun)
    reference_year = today.year - 1
    sent = 0
    for company in companies_holding():
        if report_submitted(company, reference_year):
            continue
        try:
            with db.atomic():
                ReminderSent.create(company=company, year=reference_year, step=step)
                notifications.report_reminder(
                    company, recipients(company), reference_year, due, days_left
                )
        except IntegrityError:
            continue  # already reminded for this year and step
        sent += 1
    return sent
