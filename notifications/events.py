"""One function per event that sends an email: each writes the outbox rows of its event, in the
caller's transaction, for the recipients the event has. The worker renders and sends them once
that transaction has committed (woken by `jobs` at the end of the request or task).

The status emails of a dossier (Soumission, Réception, Traitement, Clôture) are written by
`Dossier.transition` itself, in the transaction of the change.
"""

from flask_babel import lazy_gettext as _l

from models import OutboxMessage

# The changes of access a member is told of, written in the recipient's language when the email
# is rendered (the parameters are kept, never a text in the actor's language).
ACCESS_CHANGES = {
    "roles": _l("Vos rôles : %(roles)s."),
    "co_manager": _l("Vous êtes co-gestionnaire d'accès."),
    "co_manager_ended": _l("Vous n'êtes plus co-gestionnaire d'accès."),
    "revoked": _l("Vous n'avez plus accès à l'espace de l'entreprise."),
    "gap_replaced": _l("Vous n'êtes plus gestionnaire d'accès principal."),
    "gap_named": _l("Vous êtes gestionnaire d'accès principal."),
    "email_reset": _l(
        "votre adresse e-mail professionnelle a été réinitialisée. À votre prochaine "
        "connexion dans cet espace, indiquez-en une et validez-la."
    ),
    "validation_resent": _l(
        "un nouveau code de validation de votre adresse professionnelle a été envoyé à %(email)s."
    ),
}
# The author of the changes the helpdesk makes, named in the recipient's language.
HELPDESK = "@helpdesk"
HELPDESK_NAME = _l("Le helpdesk du Guichet")


def _dossier_context(dossier):
    return {
        "dossier_id": dossier.id,
        "reference": dossier.reference,
        "procedure": dossier.definition.title,
        "company": dossier.company.name,
    }


def _to_member(event, membership, address=None, **context):
    """The event's email to a member, at `address` or where access changes reach them."""
    address = address or membership.contact_address
    if not address:
        return None
    return OutboxMessage.queue(
        event,
        address,
        person=membership.person,
        language=membership.person.language,
        company=membership.company.name,
        recipient=membership.person.full_name,
        **context,
    )


def member_invited(membership, actor_name, roles):
    """The invitation of a new member, at the address the access manager gave."""
    return _to_member("invitation", membership, actor=actor_name, roles=int(roles))


def access_changed(membership, actor_name, change, **params):
    """A change of the member's access (roles, co-manager, GAP, revocation, email reset): `change`
    is a key of ACCESS_CHANGES, `params` its values (`roles` as the Role flags)."""
    if "roles" in params:
        params["roles"] = int(params["roles"])
    return _to_member(
        "access_changed", membership, actor=actor_name, change_kind=change, change_params=params
    )


def email_validation(membership, address, code, link_path):
    """The code and link that validate a professional address, sent to that address."""
    return _to_member("email_verification", membership, address, code=code, link_path=link_path)


def login_code(address, language, recipient, code):
    """A one-time login code by email (the stand-in identity provider's)."""
    return OutboxMessage.queue(
        "login_code", address, language=language, code=code, recipient=recipient
    )


def staff_password_link(staff, link_path, hours):
    """The link (valid `hours`) with which a staff member chooses their password (a new
    account, or one an administrator sent again), in the staff member's language."""
    return OutboxMessage.queue(
        "staff_password",
        staff.email,
        language=staff.language,
        recipient=staff.full_name,
        email=staff.email,
        link_path=link_path,
        hours=hours,
        staff=True,
    )


def message_to_company(dossier, body):
    """A message from staff, to every recipient of the dossier."""
    OutboxMessage.queue_for_dossier(dossier, "message", body=body, requested_annexes=[])


def complement_requested(dossier, body, requested_annexes):
    """A complement request, to every recipient of the dossier."""
    OutboxMessage.queue_for_dossier(
        dossier, "complement", body=body, requested_annexes=list(requested_annexes)
    )


def complement_answered(dossier, followers, body, annex_count):
    """The company's reply (a message or a complement answer), to the dossier's `followers`
    who chose an email for each message (`dossiers.following`: the assigned agent follows it),
    each once."""
    return [
        OutboxMessage.queue(
            "complement_answered",
            staff.email,
            dossier=dossier,
            language=staff.language,
            recipient=staff.full_name,
            body=body,
            annex_count=annex_count,
            staff=True,
            **_dossier_context(dossier),
        )
        for staff in followers
    ]


def following_digest(staff, rows):
    """The daily digest of the dossiers `staff` follows: (dossier, number of the company's
    messages) each."""
    return OutboxMessage.queue(
        "following_digest",
        staff.email,
        language=staff.language,
        recipient=staff.full_name,
        dossiers=[
            {
                "id": dossier.id,
                "reference": dossier.reference,
                "company": dossier.company.name,
                "messages": count,
            }
            for dossier, count in rows
        ],
        staff=True,
    )


def deadline_reminder(dossier, due, days):
    """The legal deadline is near: to the agent the dossier is assigned to (none: nobody)."""
    agent = dossier.assigned_to if dossier.assigned_to_id else None
    if agent is None:
        return None
    return OutboxMessage.queue(
        "deadline_reminder",
        agent.email,
        dossier=dossier,
        language=agent.language,
        recipient=agent.full_name,
        due=due,
        days=days,
        staff=True,
        **_dossier_context(dossier),
    )


def annex_infected(annex):
    """An annex refused by the antivirus, to the person who sent it (at their validated
    professional address in the dossier's company; none: the dossier page says it)."""
    dossier = annex.dossier
    membership = annex.uploaded_by.membership_in(dossier.company_id)
    address = membership.notification_email if membership is not None else None
    if not address:
        return None
    return OutboxMessage.queue(
        "annex_infected",
        address,
        person=annex.uploaded_by,
        dossier=dossier,
        language=annex.uploaded_by.language,
        recipient=annex.uploaded_by.full_name,
        name=annex.original_name,
        found=annex.scan_detail,
        **_dossier_context(dossier),
    )


def report_reminder(company, recipients, year, due, days):
    """The activity-report reminder to the company's users who hold a role."""
    for person, address in recipients:
        OutboxMessage.queue(
            "report_reminder",
            address,
            person=person,
            language=person.language,
            company=company.name,
            recipient=person.full_name,
            year=year,
            due=due.isoformat(),
            days=days,
        )


def draft_expiring(dossier, recipients, deletion, days):
    """The warning that a draft untouched for `days` days will be deleted on `deletion` (a
    date) unless it is changed, to its author (else the company's encoders)."""
    for person, address in recipients:
        OutboxMessage.queue(
            "draft_expiring",
            address,
            person=person,
            dossier=dossier,
            language=person.language,
            dossier_id=dossier.id,
            procedure=dossier.definition.title,
            company=dossier.company.name,
            recipient=person.full_name,
            due=deletion.isoformat(),
            days=days,
        )


def webhook_paused(subscription, failures, code, error):
    """A webhook paused after repeated failures, to its owner (in the back-office's language)."""
    owner = subscription.owner
    return OutboxMessage.queue(
        "webhook_paused",
        owner.email,
        language=owner.language,
        recipient=owner.full_name,
        webhook=subscription.name,
        url=subscription.url,
        failures=failures,
        last_answer=f"HTTP {code}" if code else error,
        webhook_id=subscription.id,
        staff=True,
    )


def _opinion_context(opinion):
    dossier = opinion.dossier
    return {
        "reference": dossier.reference,
        "definition_id": dossier.definition_id,  # its title in the recipient's language
        "procedure": dossier.definition.title,
        "question": opinion.question,
        "due": opinion.due_on.isoformat(),
        "opinion_id": opinion.id,
    }


def opinion_requested(opinion, token):
    """The question to the expert, with the link to the page that answers it."""
    return _to_expert("opinion_requested", opinion, token, asker=opinion.asked_by.full_name)


def opinion_reminder(opinion, token):
    """The expert has not answered and the deadline is near: the same link again."""
    return _to_expert("opinion_reminder", opinion, token)


def _to_expert(event, opinion, token, **context):
    return OutboxMessage.queue(
        event,
        opinion.expert_email,
        dossier=opinion.dossier,  # erased with the dossier's personal data (dossiers.retention)
        language=opinion.language,
        recipient=opinion.expert_name,
        link_path=f"/avis/{token}?lang={opinion.language}",
        **_opinion_context(opinion),
        **context,
    )


def opinion_answered(opinion):
    """The expert's answer, to the agent who asked (the text is read on the dossier page)."""
    agent = opinion.asked_by
    return OutboxMessage.queue(
        "opinion_answered",
        agent.email,
        dossier=opinion.dossier,
        language=agent.language,
        recipient=agent.full_name,
        expert=opinion.expert_name,
        staff=True,
        **{**_opinion_context(opinion), **_dossier_context(opinion.dossier)},
    )
