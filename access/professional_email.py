"""The professional address of a member in a company: entered at their first page in the
company's space, validated by a code or a link (24 h, single use), the only address Guichet
writes to for that company. The helpdesk may reset it or send the validation again."""

from contextlib import contextmanager

from flask import url_for
from flask_babel import gettext as _

import notifications
import verification
from access import AccessRefused
from access.members import audit
from models import Membership, StaffRole, write_transaction

PURPOSE = verification.PRO_EMAIL_PURPOSE
# The portal's page that a validation link opens.
LINK_ENDPOINT = "gate.validate_link"
HELPDESK_ROLES = frozenset({StaffRole.HELPDESK})


def own(actor, membership):
    if actor.person is None or membership.person_id != actor.person.id:
        raise AccessRefused(_("Cette adresse n'est pas la vôtre."))


def helpdesk(actor):
    if actor.staff is None or actor.staff.staff_role not in HELPDESK_ROLES:
        raise AccessRefused(_("Seul le helpdesk fait cette action."))


def issue_validation(membership, address, ip_address=None):
    """A new code and link for `address`, recorded as the member's pending address, and the
    email that carries them (earlier codes stop working). Raises verification.CodeError."""
    code, token = verification.issue(
        PURPOSE,
        str(membership.id),
        "email",
        address,
        verification.PRO_EMAIL_TTL,
        with_token=True,
        ip_address=ip_address,
    )
    membership.professional_email = address
    membership.professional_email_verified_at = None
    membership.save(only=[Membership.professional_email, Membership.professional_email_verified_at])
    notifications.email_validation(membership, address, code, url_for(LINK_ENDPOINT, token=token))


@contextmanager
def sending(actor):
    """A transaction that sends a validation; a refused send is rolled back, then audited."""
    try:
        with write_transaction():
            yield
    except verification.CodeError as exc:
        verification.audit_send_refused(actor, PURPOSE, "email", exc)
        raise AccessRefused(str(exc)) from exc


def request_validation(actor, membership, address):
    """The member gives their professional address: a code and a link are sent to it."""
    own(actor, membership)
    address = address.strip().lower()
    with sending(actor):
        issue_validation(membership, address, actor.ip_address)
        audit(actor, membership, "membership.email_validation_sent", email=address)


def validate_code(actor, membership, code):
    """The code typed by the member: the pending address becomes the validated one."""
    own(actor, membership)
    try:
        verification.verify(PURPOSE, str(membership.id), code, actor=actor)
    except verification.CodeError as exc:
        raise AccessRefused(str(exc), field="code") from exc
    mark_validated(actor, membership)


def validate_link(actor, token):
    """The member opened a validation link; their membership, or None when the link is another
    person's (it then stays unused for its owner)."""
    subject = verification.token_subject(PURPOSE, token)
    membership = Membership.get_or_none(Membership.id == int(subject)) if subject else None
    if membership is not None and (actor.person is None or membership.person_id != actor.person.id):
        return None
    try:
        verification.verify_token(PURPOSE, token)
    except verification.CodeError as exc:
        raise AccessRefused(str(exc)) from exc
    if membership is None:
        return None
    mark_validated(actor, membership)
    return membership


def mark_validated(actor, membership):
    with write_transaction():
        membership.mark_email_validated()
        audit(
            actor,
            membership,
            "membership.email_validated",
            email=membership.professional_email,
        )


def reset(actor, membership):
    """The helpdesk forgets the member's address: at their next page in the company they enter
    one and validate it again. The member is told at the address being forgotten."""
    helpdesk(actor)
    if not (membership.professional_email or membership.professional_email_verified_at):
        raise AccessRefused(_("Aucune adresse professionnelle à réinitialiser."))
    previous = membership.professional_email
    with write_transaction():
        notifications.access_changed(membership, notifications.HELPDESK, "email_reset")
        membership.forget_professional_email()
        audit(actor, membership, "membership.email_reset", previous_email=previous)


def resend_validation(actor, membership):
    """The helpdesk sends a new code and link to the member's pending address."""
    helpdesk(actor)
    address = membership.professional_email
    if not address or membership.notification_email:
        raise AccessRefused(_("Aucune adresse professionnelle n'attend de validation."))
    with sending(actor):
        issue_validation(membership, address, actor.ip_address)
        notifications.access_changed(
            membership, notifications.HELPDESK, "validation_resent", email=address
        )
        audit(actor, membership, "membership.email_validation_resent", email=address)
