"""Following: staff of the processing roles follow dossiers (the agent a dossier is assigned to
follows it from the assignment on), and choose what they are emailed of the company's messages
and complement answers on them: each one as it comes, a daily digest, or nothing. Following is
the staff's own: never shown to the company, nor in the API or the events."""

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import notifications
from dossiers import DossierRefused
from dossiers.access import require_staff
from models import (
    AuditEvent,
    Dossier,
    DossierFollow,
    FollowEmails,
    Message,
    StaffUser,
    utcnow,
    write_transaction,
)

EMAIL_CHOICES = {
    FollowEmails.EACH: _l("À chaque message"),
    FollowEmails.DAILY: _l("Un résumé quotidien"),
    FollowEmails.NONE: _l("Aucun e-mail"),
}
FIRST_DIGEST = timedelta(days=1)  # what the first digest of a staff member looks back on


def follows(staff, dossier):
    return (
        DossierFollow.select()
        .where(DossierFollow.staff == staff.id, DossierFollow.dossier == dossier.id)
        .exists()
    )


def follow(actor, dossier):
    """The staff member follows the dossier; audited."""
    require_staff(actor, dossier)
    with write_transaction():
        DossierFollow.add(actor.staff, dossier)
        AuditEvent.record("dossier.follow", actor, dossier)


def unfollow(actor, dossier):
    """The staff member no longer follows the dossier (even the one it is assigned to)."""
    require_staff(actor, dossier)
    with write_transaction():
        DossierFollow.delete().where(
            DossierFollow.staff == actor.staff.id, DossierFollow.dossier == dossier.id
        ).execute()
        AuditEvent.record("dossier.unfollow", actor, dossier)


def set_emails(actor, choice):
    """The staff member's choice of emails for the dossiers they follow (FollowEmails)."""
    staff = actor.staff
    if staff is None:
        raise DossierRefused(_("votre rôle ne permet pas ce changement."))
    try:
        choice = FollowEmails(choice)
    except ValueError:
        raise DossierRefused(_("Choisissez une des options proposées.")) from None
    with write_transaction():
        StaffUser.update(follow_emails=choice.value).where(StaffUser.id == staff.id).execute()
        staff.follow_emails = choice.value
        AuditEvent.record("staff.follow_emails", actor, target=staff, emails=choice.value)


def followers_emailed_each_time(dossier):
    """The active followers of the dossier who chose an email for each message, each once."""
    return (
        StaffUser.select()
        .join(DossierFollow, on=(DossierFollow.staff == StaffUser.id))
        .where(
            DossierFollow.dossier == dossier.id,
            StaffUser.active == True,  # noqa: E712
            StaffUser.follow_emails == FollowEmails.EACH.value,
        )
        .order_by(StaffUser.id)
    )


def digest_rows(staff, since, until):
    """(dossier, number of the company's messages) of the dossiers `staff` follows with
    messages from the company in [since, until), by dossier id."""
    followed = DossierFollow.select(DossierFollow.dossier).where(DossierFollow.staff == staff.id)
    query = (
        Message.select(Message.dossier, Message.id)
        .where(
            Message.dossier.in_(followed),
            Message.direction == Message.FROM_COMPANY,
            Message.created_at >= since,
            Message.created_at < until,
        )
        .tuples()
    )
    counts = {}
    for dossier_id, _id in query:
        counts[dossier_id] = counts.get(dossier_id, 0) + 1
    if not counts:
        return []
    dossiers = Dossier.select().where(Dossier.id.in_(list(counts))).order_by(Dossier.id)
    return [(dossier, counts[dossier.id]) for dossier in dossiers]


def send_digests(now=None):
    """The daily digest to each active staff member who chose it: the dossiers they follow
    with company activity since their last digest (the first: the last day), one email, none
    when nothing happened. The mark moves only if no other worker moved it meanwhile, in the
    transaction of the email: never twice for the same activity. The number of emails sent."""
    now = now or utcnow()
    sent = 0
    readers = StaffUser.select().where(
        StaffUser.active == True,  # noqa: E712
        StaffUser.follow_emails == FollowEmails.DAILY.value,
    )
    for staff in readers.order_by(StaffUser.id):
        since = staff.digest_sent_at or now - FIRST_DIGEST
        with write_transaction():
            moved = (
                StaffUser.update(digest_sent_at=now)
                .where(
                    StaffUser.id == staff.id,
                    StaffUser.digest_sent_at.is_null()
                    if staff.digest_sent_at is None
                    else StaffUser.digest_sent_at == staff.digest_sent_at,
                )
                .execute()
            )
            if not moved:
                continue
            rows = digest_rows(staff, since, now)
            if rows:
                notifications.following_digest(staff, rows)
                sent += 1
    return sent
