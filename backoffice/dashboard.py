"""The back-office dashboard: counts per status and procedure, dossiers waiting for longer than
N days in each status, and the agent's own open dossiers. The counts are read from the kept
DossierCount rows, never counted over the dossier table; "waiting" counts only the dossiers
changed in the last N days (a short range of the (status, updated_at) index) and takes them off
the kept counts; the dossiers late against their legal deadline, and those due within 7 days,
are counted on the index of the running clocks (migration 031), each a link to the list so
filtered."""

from datetime import timedelta

from flask import current_app
from peewee import fn

from backoffice.dossier_filters import DeadlineFilter
from backoffice.dossiers import DossierView, deadline_list_url
from models import (
    AWAITING_STATUSES,
    STAFF_STATUSES,
    Company,
    Dossier,
    DossierCount,
    ProcedureDefinition,
    utcnow,
)
from procedures import title_of

OPEN = [s.value for s in AWAITING_STATUSES]
VISIBLE = {s.value for s in STAFF_STATUSES}


def counts_by_status_and_procedure(kept=None):
    """{procedure title: {status: count}}: the kept counts per definition version (`kept`, read
    when not given), added up by title (the versions of one procedure)."""
    kept = DossierCount.kept() if kept is None else kept
    titles = {
        row.id: title_of(row)
        for row in ProcedureDefinition.select(
            ProcedureDefinition.id, ProcedureDefinition.title, ProcedureDefinition.yaml_text
        )
    }
    table = {}
    for (definition_id, status), count in kept.items():
        if status in VISIBLE:
            counts = table.setdefault(titles[definition_id], {})
            counts[status] = counts.get(status, 0) + count
    return table


def waiting(days, kept=None):
    """{status: dossiers unchanged for longer than `days`} for the open statuses."""
    kept = DossierCount.kept() if kept is None else kept
    since = utcnow() - timedelta(days=days)
    recent = dict(
        Dossier.select(Dossier.status, fn.COUNT(Dossier.id))
        .where(Dossier.status.in_(OPEN), Dossier.updated_at >= since)
        .group_by(Dossier.status)
        .tuples()
    )
    total = {}
    for (_definition, status), count in kept.items():
        if status in OPEN:
            total[status] = total.get(status, 0) + count
    return {status: n - recent.get(status, 0) for status, n in total.items()}


def late_count():
    """The dossiers past their legal deadline: a count on the running clocks' index."""
    return Dossier.select().where(Dossier.is_running_late(utcnow())).count()


def due_within_week_count():
    """The dossiers due within 7 days, clock running: a range of the running clocks' index."""
    return Dossier.select().where(Dossier.is_due_within(utcnow(), 7)).count()


def assigned_to(staff, limit=20):
    return list(
        Dossier.select(Dossier, Company, ProcedureDefinition)
        .join(Company)
        .switch(Dossier)
        .join(ProcedureDefinition)
        .where(Dossier.assigned_to == staff, Dossier.status.in_(OPEN))
        .order_by(Dossier.updated_at)
        .limit(limit)
    )


def context(staff):
    days = current_app.config.get("DASHBOARD_WAITING_DAYS", 14)
    kept = DossierCount.kept()
    return {
        "table": counts_by_status_and_procedure(kept),
        "statuses": STAFF_STATUSES,
        "waiting": waiting(days, kept),
        "waiting_days": days,
        "mine": assigned_to(staff),
        "late": late_count(),
        "due_within_week": due_within_week_count(),
        **deadline_links(staff),
    }


def deadline_links(staff):
    """The dossier list filtered on the late dossiers and on those due within 7 days, for the
    staff who may open it."""
    if staff.staff_role not in DossierView.allowed_roles:
        return {"late_url": None, "week_url": None}
    return {
        "late_url": deadline_list_url(DeadlineFilter.LATE),
        "week_url": deadline_list_url(DeadlineFilter.WEEK),
    }
