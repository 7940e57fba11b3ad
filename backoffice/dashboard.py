"""The back-office dashboard: counts per status and procedure, dossiers waiting for longer than
N days in each status, and the agent's own open dossiers. Grouped queries, no query per row."""

from datetime import timedelta

from flask import current_app
from peewee import fn

from models import (
    AWAITING_STATUSES,
    STAFF_STATUSES,
    Company,
    Dossier,
    ProcedureDefinition,
    utcnow,
)
from procedures import title_of

OPEN = [s.value for s in AWAITING_STATUSES]


def counts_by_status_and_procedure():
    """{procedure title: {status: count}}: counted per definition version on the covering
    (definition, status) index, then added up by title (the versions of one procedure)."""
    rows = (
        Dossier.select(Dossier.definition, Dossier.status, fn.COUNT(Dossier.id))
        .where(Dossier.is_staff_visible())
        .group_by(Dossier.definition, Dossier.status)
        .tuples()
    )
    titles = {
        row.id: title_of(row)
        for row in ProcedureDefinition.select(
            ProcedureDefinition.id, ProcedureDefinition.title, ProcedureDefinition.yaml_text
        )
    }
    table = {}
    for definition_id, status, count in rows:
        counts = table.setdefault(titles[definition_id], {})
        counts[status] = counts.get(status, 0) + count
    return table


def waiting(days):
    since = utcnow() - timedelta(days=days)
    return dict(
        Dossier.select(Dossier.status, fn.COUNT(Dossier.id))
        .where(Dossier.status.in_(OPEN), Dossier.updated_at < since)
        .group_by(Dossier.status)
        .tuples()
    )


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
    return {
        "table": counts_by_status_and_procedure(),
        "statuses": STAFF_STATUSES,
        "waiting": waiting(days),
        "waiting_days": days,
        "mine": assigned_to(staff),
    }
