"""Refused requests, in the audit log: who asked for what they may not see or do.

The interfaces still answer 404 (another company's dossier: nothing is said of it) or 403 (a
role that does not allow the action); the audit row says which. It is written in a transaction
of its own, so that it stays when the refused operation's own transaction is rolled back.
"""

from models import AuditEvent, write_transaction

# Why a request was refused (the audit row's `reason`).
OTHER_COMPANY = "other_company"  # an object of a company the person does not act for
ROLE = "role"  # the role in the company, or the staff role, does not allow it
NOT_VALIDATED = "email_not_validated"  # the professional address is not validated yet


def record(actor, reason, path, target_type=None, target_id=None):
    """One `access.denied` row: the actor and their address, the object when there is one, the
    path asked for (never its query string, which may carry a token)."""
    with write_transaction():
        return AuditEvent.create(
            actor_kind=actor.kind.value,
            actor_person=actor.person,
            actor_staff=actor.staff,
            action="access.denied",
            target_type=target_type,
            target_id=str(target_id) if target_id is not None else None,
            details={"reason": reason, "path": path[:200]},
            ip_address=actor.ip_address,
        )
