"""The message thread of a dossier: staff, or another system of the administration through the
REST API, write to the company (possibly asking for complements), the company answers with text
and PDF annexes. Sent messages never change."""

from flask_babel import gettext as _

import notifications
import storage
from dossiers import DossierRefused, following, scanning
from dossiers.access import member_for, require_processor
from dossiers.annexes import check_files, new_annex
from dossiers.processing import MAX_TEXT
from models import AuditEvent, Event, EventType, Message, Role, utcnow, write_transaction
from procedures import display


def open_request(dossier):
    """The complement request still waiting for the company's answer, or None."""
    return (
        Message.select()
        .where(
            Message.dossier == dossier,
            Message.is_complement_request == True,  # noqa: E712
            Message.answered_at.is_null(),
        )
        .order_by(Message.created_at.desc())
        .first()
    )


def send_to_company(actor, dossier, body, complement=False, requested_annexes=()):
    """A message from staff or an API token of scope `process`; a complement request only while
    the dossier is received or being processed, naming the documents asked for as the company
    reads them (the annexes' labels, or texts). The company's users are told by email; the
    message is audited. A complement request stops the legal deadline's clock until its
    answer (`reply`)."""
    require_processor(actor, dossier)
    invalid = DossierRefused.INVALID
    if not (body or "").strip():
        raise DossierRefused(_("Écrivez le message à l'entreprise."), invalid, "body")
    if len(body) > MAX_TEXT:
        raise DossierRefused(_("%(max)d caractères au plus.", max=MAX_TEXT), invalid, "body")
    if complement and not dossier.in_instruction:
        raise DossierRefused(
            _(
                "Des compléments ne peuvent être demandés qu'à un dossier réceptionné ou en "
                "traitement."
            ),
            DossierRefused.NOT_ALLOWED,
        )
    requested = list(dict.fromkeys(a.strip() for a in requested_annexes if a and a.strip()))
    with write_transaction():
        message = Message.create(
            dossier=dossier,
            direction=Message.TO_COMPANY,
            author_staff=actor.staff,
            author_token=actor.api_token,
            body=body,
            is_complement_request=complement,
            requested_annexes=requested,
        )
        if complement:
            dossier.pause_deadline(utcnow())
            notifications.complement_requested(dossier, body, requested)
            AuditEvent.record("dossier.complement_request", actor, dossier, annexes=requested)
            Event.record(
                EventType.COMPLEMENT_REQUESTED,
                actor,
                dossier,
                message_id=message.id,
                requested_annexes=requested,
            )
        else:
            notifications.message_to_company(dossier, body)
            AuditEvent.record("dossier.message", actor, dossier)
            Event.record(EventType.MESSAGE, actor, dossier, message_id=message.id)
    return message


def request_complement(actor, dossier, body, requested_annexes):
    return send_to_company(actor, dossier, body, True, requested_annexes)


def reply(actor, dossier, body, files=()):
    """The company's answer with PDF annexes (filename, bytes): every file is checked before
    anything is stored; the open complement request is closed and its followers told."""
    member_for(actor, dossier, Role.ENCODE)
    body = (body or "").strip()
    if not body:
        raise DossierRefused(_("Écrivez votre message avant de l'envoyer."))
    if len(body) > MAX_TEXT:
        raise DossierRefused(
            _(
                "Votre message compte %(count)d caractères ; il en accepte au plus %(max)d. "
                "Raccourcissez-le, ou joignez le texte en PDF.",
                count=len(body),
                max=MAX_TEXT,
            )
        )
    if not dossier.in_instruction:
        raise DossierRefused(_("Ce dossier n'attend pas de message de votre part."))
    try:
        checked = check_files(files)
    except DossierRefused as refused:
        raise DossierRefused(
            f"{refused} " + _("Votre message n'est pas envoyé ; joignez des PDF valables.")
        ) from refused
    stored = [(name, storage.store(data), info) for name, data, info in checked]
    try:
        with write_transaction():
            request = open_request(dossier)
            message = Message.create(
                dossier=dossier,
                direction=Message.FROM_COMPANY,
                author_person=actor.person,
                body=body,
                in_reply_to=request,
            )
            annexes = [
                new_annex(
                    dossier,
                    display.COMPLEMENT,
                    name,
                    kept,
                    info,
                    actor.person,
                    frozen=True,
                    message=message,
                )
                for name, kept, info in stored
            ]
            if request is not None:
                now = utcnow()
                Message.update(answered_at=now).where(Message.id == request.id).execute()
                if open_request(dossier) is None:  # the clock waits for every open request
                    dossier.resume_deadline(now)
            notifications.complement_answered(
                dossier, following.followers_emailed_each_time(dossier), body, len(stored)
            )
            Event.record(
                EventType.COMPLEMENT_ANSWERED,
                actor,
                dossier,
                message_id=message.id,
                in_reply_to=request.id if request is not None else None,
                annex_ids=[annex.id for annex in annexes],
            )
    except Exception:
        for _name, kept, _info in stored:
            storage.get_storage().delete(kept.key)
        raise
    for annex in message.annexes:
        scanning.scan(annex)
    return message
