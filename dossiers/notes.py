"""Private notes: what staff who process dossiers write to each other about one. Only they read
them (the back-office dossier page); the company never does, and no receipt, letter, email, API
answer or event carries them. A note is edited by its author alone, each replaced text kept and
shown. The audit log says who wrote or edited which note, never its text."""

from flask_babel import gettext as _
from peewee import prefetch

from dossiers import DossierRefused
from dossiers.access import require_staff
from models import (
    AuditEvent,
    PrivateNote,
    PrivateNoteVersion,
    StaffUser,
    db,
    utcnow,
    write_transaction,
)

NOTE_MAX = 5000  # characters


def checked(body):
    invalid = DossierRefused.INVALID
    body = (body or "").strip()
    if not body:
        raise DossierRefused(_("Écrivez la note."), invalid, "note")
    if len(body) > NOTE_MAX:
        raise DossierRefused(
            _(
                "La note compte %(count)d caractères ; elle en accepte au plus %(max)d. "
                "Raccourcissez-la.",
                count=len(body),
                max=NOTE_MAX,
            ),
            invalid,
            "note",
        )
    return body


def notes_of(actor, dossier):
    """The dossier's notes, oldest first, each with its earlier texts (`versions`, newest
    first)."""
    require_staff(actor, dossier)
    notes = (
        PrivateNote.select(PrivateNote, StaffUser)
        .join(StaffUser)
        .where(PrivateNote.dossier == dossier)
        .order_by(PrivateNote.created_at, PrivateNote.id)
    )
    versions = PrivateNoteVersion.select().order_by(
        PrivateNoteVersion.replaced_at.desc(), PrivateNoteVersion.id.desc()
    )
    return prefetch(notes, versions)


def add_note(actor, dossier, body):
    require_staff(actor, dossier)
    body = checked(body)
    with write_transaction():
        note = PrivateNote.create(dossier=dossier, author=actor.staff, body=body)
        AuditEvent.record("dossier.note_added", actor, dossier, note=note.id, length=len(body))
    return note


def edit_note(actor, note, body):
    """Replace the note's text, keeping the one it had; its author only."""
    dossier = note.dossier
    require_staff(actor, dossier)
    if note.author_id != actor.staff.id:
        raise DossierRefused(
            _("Seul l'auteur d'une note la modifie."), DossierRefused.NOT_ALLOWED, "note"
        )
    body = checked(body)
    with write_transaction():
        query = PrivateNote.select().where(PrivateNote.id == note.id)
        fresh = (query.for_update() if db.for_update else query).get()
        if fresh.body == body:
            return fresh
        now = utcnow()
        PrivateNoteVersion.create(
            note=fresh,
            body=fresh.body,
            written_at=fresh.edited_at or fresh.created_at,
            replaced_at=now,
        )
        PrivateNote.update(body=body, edited_at=now).where(PrivateNote.id == fresh.id).execute()
        AuditEvent.record("dossier.note_edited", actor, dossier, note=fresh.id, length=len(body))
    fresh.body, fresh.edited_at = body, now
    return fresh


def note_of(dossier, note_id):
    """The note `note_id` of the dossier, or None (a note of another dossier is not found)."""
    return PrivateNote.get_or_none(PrivateNote.id == note_id, PrivateNote.dossier == dossier)
