"""Emails and audit rows for changes of access, shared by activation and access management."""

import jobs
from models import Actor, AuditEvent, OutboxMessage


def access_event(actor_person, membership, action, email_event=None, request=None, **details):
    """Audit the change and tell the person concerned (after commit, through the outbox)."""
    AuditEvent.record(
        action,
        Actor.applicant(actor_person),
        target=membership,
        ip_address=request.remote_addr if request else None,
        company=membership.company.enterprise_number,
        person=membership.person.national_number,
        **details,
    )
    address = membership.contact_address
    if email_event and address:
        OutboxMessage.queue(
            email_event,
            address,
            person=membership.person,
            language=membership.person.language,
            company=membership.company.name,
            recipient=membership.person.full_name,
            actor=actor_person.full_name,
            change=details.get("change", ""),
        )


def send_soon():
    jobs.wake_outbox()
