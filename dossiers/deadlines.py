"""The legal deadline's reminder: once, some days before the due date, to the agent a dossier
is assigned to; sent by the worker's daily task. The clock itself is kept by the dossier's
transitions and its complement requests (models.Dossier, dossiers/messages.py)."""

import notifications
from models import Actor, AuditEvent, Dossier, brussels_day, utcnow, write_transaction

REMINDER_DAYS = 7


def reminders_due(now):
    """The dossiers to remind of now: due within REMINDER_DAYS, clock running, assigned, not
    reminded yet (a range of the (status, due_at) index)."""
    return (
        Dossier.select()
        .where(
            Dossier.is_due_within(now, REMINDER_DAYS),
            Dossier.assigned_to.is_null(False),
            Dossier.deadline_reminded_at.is_null(),
        )
        .order_by(Dossier.due_at, Dossier.id)
    )


def send_reminders(now=None):
    """Queue each due reminder with its mark in one transaction (the mark is set only if still
    unset: two workers never send it twice); returns how many were queued."""
    now = now or utcnow()
    sent = 0
    for dossier in list(reminders_due(now)):
        with write_transaction():
            marked = (
                Dossier.update(deadline_reminded_at=now)
                .where(Dossier.id == dossier.id, Dossier.deadline_reminded_at.is_null())
                .execute()
            )
            if not marked:
                continue
            days = max((dossier.due_at - now).days, 0)
            notifications.deadline_reminder(dossier, brussels_day(dossier.due_at).isoformat(), days)
            AuditEvent.record("dossier.deadline_reminded", Actor.system(), target=dossier)
            sent += 1
    return sent
