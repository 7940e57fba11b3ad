"""How long dossiers are kept, per procedure (`retention:` in its definition, see
docs/PROCEDURE_FORMAT.md; the version a dossier was started with decides).

- A draft (En cours or Complet, never submitted) untouched for `drafts_days` days is deleted
  with its annexes, but only once its author was warned by email at least WARNING_DAYS days
  before — a warning counts only if no change came after it, so any change starts again.
- A closed dossier is kept `closed_years` years after its closing; then its annexes and issued
  documents are erased and its personal data anonymised (answers, signature, messages, the
  texts of its history and emails), keeping what statistics count: reference, procedure,
  company, dates, status history and decision.

`run(now)` does the three steps (the worker every night, `flask --app run retention`); each is
idempotent, re-checks each dossier under its lock and writes one audit row per dossier.
"""

from datetime import timedelta

import notifications
import storage
from models import (
    Actor,
    Annex,
    AuditEvent,
    Document,
    Dossier,
    DossierAnnotation,
    DossierStatus,
    ExpertOpinion,
    GroupChange,
    Membership,
    Message,
    OutboxMessage,
    OutboxStatus,
    Person,
    PrivateNote,
    PrivateNoteVersion,
    ProcedureDefinition,
    Role,
    Signature,
    StatusChange,
    utcnow,
    write_transaction,
)
from procedures import definition_of
from procedures.definition import DefinitionError, Retention

WARNING_DAYS = 7
EDITABLE = [s.value for s in DossierStatus if s.is_editable]


def retention_of(row):
    """The retention of a procedure version; the defaults for one whose text no longer
    passes the checks (a version saved before a check was added)."""
    try:
        return definition_of(row).retention
    except DefinitionError:
        return Retention()


def policy(dossier):
    return retention_of(dossier.definition)


def add_years(moment, years):
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year + years, day=28)


def warned(dossier):
    """Whether the draft's author was warned since its last change."""
    return dossier.draft_warned_at is not None and dossier.draft_warned_at >= dossier.updated_at


def deletion_date(dossier):
    """When the draft is deleted if nobody changes it; None for a submitted dossier. Never
    sooner than WARNING_DAYS after its warning."""
    if not dossier.is_editable:
        return None
    due = dossier.updated_at + timedelta(days=policy(dossier).drafts_days)
    if warned(dossier):
        due = max(due, dossier.draft_warned_at + timedelta(days=WARNING_DAYS))
    return due


def kept_until(dossier):
    """Until when a closed dossier is kept whole; None for one that is not closed."""
    if dossier.state != DossierStatus.CLOSED or dossier.closed_at is None:
        return None
    return add_years(dossier.closed_at, policy(dossier).closed_years)


def _due(conditions):
    """The dossiers of every procedure version that meet `conditions(retention)`, the
    version's own retention deciding the dates."""
    found = []
    for row in ProcedureDefinition.select():
        where = conditions(retention_of(row))
        found.extend(Dossier.select().where(Dossier.definition == row, *where))
    return found


def due_warnings(now):
    return _due(
        lambda keep: (
            Dossier.status.in_(EDITABLE),
            Dossier.updated_at <= now - timedelta(days=keep.drafts_days - WARNING_DAYS),
            Dossier.draft_warned_at.is_null() | (Dossier.draft_warned_at < Dossier.updated_at),
        )
    )


def due_deletions(now):
    return _due(
        lambda keep: (
            Dossier.status.in_(EDITABLE),
            Dossier.updated_at <= now - timedelta(days=keep.drafts_days),
            Dossier.draft_warned_at >= Dossier.updated_at,
            Dossier.draft_warned_at <= now - timedelta(days=WARNING_DAYS),
        )
    )


def due_anonymisations(now):
    return _due(
        lambda keep: (
            Dossier.status == DossierStatus.CLOSED.value,
            Dossier.anonymised_at.is_null(),
            Dossier.closed_at <= add_years(now, -keep.closed_years),
        )
    )


def draft_recipients(dossier):
    """(person, address): the draft's author if still an encoder of the company with a
    validated address, else the company's encoders."""
    members = (
        Membership.select(Membership, Person)
        .join(Person)
        .where(Membership.company == dossier.company_id)
    )
    usable = [
        m
        for m in members
        if m.allows(Role.ENCODE) and m.notification_email and not m.person.notifications_opt_out
    ]
    author = [m for m in usable if m.person_id == dossier.created_by_id]
    return [(m.person, m.notification_email) for m in author or usable]


def warn_stale_drafts(now=None):
    """Warn the author of each draft due for deletion in WARNING_DAYS days, once per change;
    returns the dossiers warned."""
    now = now or utcnow()
    done = []
    for dossier in due_warnings(now):
        with write_transaction():
            claimed = (
                Dossier.update(draft_warned_at=now)
                .where(
                    Dossier.id == dossier.id,
                    Dossier.updated_at == dossier.updated_at,
                    Dossier.status.in_(EDITABLE),
                    Dossier.draft_warned_at.is_null()
                    | (Dossier.draft_warned_at < Dossier.updated_at),
                )
                .execute()
            )
            if claimed != 1:
                continue  # changed or warned meanwhile
            dossier.draft_warned_at = now
            deletion = deletion_date(dossier)
            recipients = draft_recipients(dossier)
            notifications.draft_expiring(
                dossier, recipients, deletion.date(), (now - dossier.updated_at).days
            )
            AuditEvent.record(
                "dossier.draft_warned",
                Actor.system(),
                target=dossier,
                deletion=deletion.isoformat(),
                recipients=len(recipients),
            )
        done.append(dossier)
    return done


def _still_due_for_deletion(dossier, now):
    return dossier.is_editable and warned(dossier) and deletion_date(dossier) <= now


def delete_stale_drafts(now=None):
    """Delete each draft untouched for its period and warned at least WARNING_DAYS days ago,
    with its annexes (their files once that has committed); returns the dossiers deleted."""
    now = now or utcnow()
    done = []
    for dossier in due_deletions(now):
        with write_transaction():
            try:
                fresh = Dossier.locked(dossier.id)
            except Dossier.DoesNotExist:
                continue  # deleted meanwhile
            if not _still_due_for_deletion(fresh, now):
                continue
            keys = [a.storage_key for a in Annex.select().where(Annex.dossier == fresh)]
            AuditEvent.record(
                "dossier.draft_deleted",
                Actor.system(),
                target=fresh,
                reference=str(fresh),
                procedure=fresh.definition.code,
                company=fresh.company.enterprise_number,
                created_at=fresh.created_at.isoformat(),
                updated_at=fresh.updated_at.isoformat(),
                warned_at=fresh.draft_warned_at.isoformat(),
                annexes=len(keys),
            )
            fresh.delete_instance(recursive=True)
        for key in keys:
            storage.get_storage().delete(key)
        done.append(fresh)
    return done


def anonymise(dossier, now):
    """Erase the files and personal data of one closed dossier past its period, keeping its
    reference, procedure, company, dates, status history and decision; False when it is not
    (or no longer) due."""
    with write_transaction():
        fresh = Dossier.locked(dossier.id)
        until = kept_until(fresh)
        if fresh.anonymised_at is not None or until is None or until > now:
            return False
        keys = [a.storage_key for a in Annex.select().where(Annex.dossier == fresh)]
        keys += [d.storage_key for d in Document.select().where(Document.dossier == fresh)]
        asked = ExpertOpinion.select().where(ExpertOpinion.dossier == fresh)
        keys += [o.file_key for o in asked if o.file_key]
        Annex.delete().where(Annex.dossier == fresh).execute()
        Document.delete().where(Document.dossier == fresh).execute()
        Signature.delete().where(Signature.dossier == fresh).execute()
        Message.update(body="", requested_annexes=[], author_person=None).where(
            Message.dossier == fresh
        ).execute()
        notes = PrivateNote.select(PrivateNote.id).where(PrivateNote.dossier == fresh)
        PrivateNoteVersion.delete().where(PrivateNoteVersion.note.in_(notes)).execute()
        PrivateNote.delete().where(PrivateNote.dossier == fresh).execute()  # staff's own words
        DossierAnnotation.delete().where(DossierAnnotation.dossier == fresh).execute()
        ExpertOpinion.delete().where(ExpertOpinion.dossier == fresh).execute()  # and experts'
        StatusChange.update(comment=None, actor_person=None).where(
            StatusChange.dossier == fresh
        ).execute()
        GroupChange.update(reason=None).where(GroupChange.dossier == fresh).execute()
        OutboxMessage.update(
            status=OutboxStatus.FAILED.value, last_error="dossier anonymised before sending"
        ).where(
            OutboxMessage.dossier == fresh, OutboxMessage.status == OutboxStatus.PENDING.value
        ).execute()
        OutboxMessage.update(
            to_email="", person=None, context={}, body_text=None, body_html=None
        ).where(OutboxMessage.dossier == fresh).execute()
        Dossier.update(answers={}, submitted_by=None, anonymised_at=now).where(
            Dossier.id == fresh.id
        ).execute()
        AuditEvent.record(
            "dossier.anonymised",
            Actor.system(),
            target=fresh,
            reference=fresh.reference,
            procedure=fresh.definition.code,
            closed_at=fresh.closed_at.isoformat(),
            kept_until=until.isoformat(),
            files=len(keys),
        )
    for key in keys:
        storage.get_storage().delete(key)
    return True


def anonymise_closed(now=None):
    """Anonymise every closed dossier past its period; returns the dossiers anonymised."""
    now = now or utcnow()
    return [d for d in due_anonymisations(now) if anonymise(d, now)]


def due(now=None):
    """What `run` would do now, changing nothing (`retention --dry-run`)."""
    now = now or utcnow()
    return {
        "warned": due_warnings(now),
        "deleted": [d for d in due_deletions(now) if _still_due_for_deletion(d, now)],
        "anonymised": due_anonymisations(now),
    }


def run(now=None):
    """The three steps of retention; the dossiers each one touched."""
    now = now or utcnow()
    return {
        "warned": warn_stale_drafts(now),
        "deleted": delete_stale_drafts(now),
        "anonymised": anonymise_closed(now),
    }
