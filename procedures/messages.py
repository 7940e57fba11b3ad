"""The message thread of a dossier: staff write to the company (possibly asking for
complements), the company answers with text and PDF annexes. Sent messages never change."""

from models import (
    Annex,
    DossierStatus,
    Message,
    OutboxMessage,
    StaffUser,
    utcnow,
    write_transaction,
)

OPEN_STATUSES = (DossierStatus.RECEIVED, DossierStatus.PROCESSING)


class MessageRefused(Exception):
    """The message cannot be sent now; `str()` says why, for the user."""


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


def send_to_company(dossier, staff, body, complement=False, requested_annexes=()):
    """A message from staff; a complement request is only possible while the dossier is
    received or being processed. The company's users are told by email."""
    if complement and dossier.state not in OPEN_STATUSES:
        raise MessageRefused(
            "Des compléments ne peuvent être demandés qu'à un dossier réceptionné ou en traitement."
        )
    with write_transaction():
        message = Message.create(
            dossier=dossier,
            direction=Message.TO_COMPANY,
            author_staff=staff,
            body=body,
            is_complement_request=complement,
            requested_annexes=list(requested_annexes),
        )
        OutboxMessage.queue_for_dossier(
            dossier,
            "complement" if complement else "message",
            body=body,
            requested_annexes=list(requested_annexes),
        )
    return message


def reply_from_company(dossier, person, body, annexes=()):
    """The company's answer, with annexes already checked and stored: (storage key, sha256,
    size, pages, name) tuples. It closes the open complement request and tells the agent."""
    if dossier.state not in OPEN_STATUSES:
        raise MessageRefused("Ce dossier n'attend pas de message de votre part.")
    request = open_request(dossier)
    with write_transaction():
        message = Message.create(
            dossier=dossier,
            direction=Message.FROM_COMPANY,
            author_person=person,
            body=body,
            in_reply_to=request,
        )
        for key, sha256, size, pages, name in annexes:
            Annex.create(
                dossier=dossier,
                requirement="complement",
                original_name=name,
                storage_key=key,
                sha256=sha256,
                size=size,
                pages=pages,
                uploaded_by=person,
                frozen=True,
                message=message,
            )
        if request is not None:
            Message.update(answered_at=utcnow()).where(Message.id == request.id).execute()
        agent = StaffUser.get_or_none(StaffUser.id == dossier.assigned_to_id)
        if agent is not None:
            OutboxMessage.queue(
                "complement_answered",
                agent.email,
                dossier=dossier,
                dossier_id=dossier.id,
                reference=dossier.reference,
                procedure=dossier.definition.title,
                company=dossier.company.name,
                recipient=agent.full_name,
                body=body,
                annex_count=len(annexes),
                staff=True,
            )
    return message
