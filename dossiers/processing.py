"""What staff do to a dossier: receive it, start processing, close it with a decision and its
motivation, reopen it (supervisors), assign it — each through `Dossier.transition` or
`Dossier.assign`, audited in the same transaction. The transitions are also made by the
administration's other systems through the REST API, with a token of scope `process`: the same
checks, history, emails, audit row, event and documents as for staff."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from dossiers import DossierRefused
from dossiers.access import require_processor, require_staff
from models import (
    PROCESSING_ROLES,
    TRANSITIONS,
    AuditEvent,
    Decision,
    DossierStatus,
    RegistrationNumber,
    StaffRole,
    StaffUser,
    TransitionError,
    write_transaction,
)

S = DossierStatus
STAFF_ACTIONS = {
    (S.SUBMITTED, S.RECEIVED): _l("Réceptionner"),
    (S.RECEIVED, S.PROCESSING): _l("Mettre en traitement"),
    (S.PROCESSING, S.CLOSED): _l("Clôturer"),
    (S.CLOSED, S.PROCESSING): _l("Rouvrir"),
}
del S
MAX_TEXT = 5000  # characters of a motivation, a reason or a message


def agents():
    """The active staff members a dossier can be assigned to."""
    return (
        StaffUser.select()
        .where(
            StaffUser.active == True,  # noqa: E712
            StaffUser.role.in_([r.value for r in PROCESSING_ROLES]),
        )
        .order_by(StaffUser.full_name)
    )


REFUSAL_OF_ERROR = {  # TransitionError.reason: (DossierRefused.reason, field)
    "not_allowed": (DossierRefused.NOT_ALLOWED, None),
    "concurrent": (DossierRefused.CONCURRENT, None),
    "reason_required": (DossierRefused.INVALID, "comment"),
    "decision_required": (DossierRefused.INVALID, "decision"),
}


def explain(error, dossier, to):
    """A refused transition told in the staff member's language."""
    if error.reason == "role":
        if dossier.state.is_closed:
            return _("seul un superviseur rouvre un dossier clôturé.")
        return _("votre rôle ne permet pas ce changement.")
    if error.reason == "reason_required":
        return _("indiquez la raison.")
    if error.reason == "decision_required":
        return _("choisissez une décision (accordé, refusé ou sans suite).")
    if error.reason == "concurrent":
        return _("un autre changement est arrivé avant le vôtre ; rechargez la page.")
    return _(
        "le dossier est « %(status)s » : il ne peut pas passer à « %(to)s ».",
        status=dossier.state.label,
        to=to.label,
    )


def transition(actor, dossier, to, comment=None, decision=None):
    """Apply one staff transition with its audit row; DossierRefused says why not. Closing
    needs a decision and its motivation (it goes into the decision letter). The actor is staff
    of a processing role or an API token of scope `process` (`require_processor`)."""
    require_processor(actor, dossier)
    invalid = DossierRefused.INVALID
    try:
        to = DossierStatus(to)
    except ValueError:
        raise DossierRefused(_("ce changement de statut n'existe pas."), invalid) from None
    if len(comment or "") > MAX_TEXT:
        raise DossierRefused(_("%(max)d caractères au plus.", max=MAX_TEXT), invalid, "comment")
    if to == DossierStatus.CLOSED and dossier.state == DossierStatus.PROCESSING:
        if not decision or decision not in {d.value for d in Decision}:
            raise DossierRefused(
                _("choisissez une décision (accordé, refusé ou sans suite)."), invalid, "decision"
            )
        if not (comment and comment.strip()):
            raise DossierRefused(
                _("écrivez la motivation de la décision ; elle figure dans le courrier."),
                invalid,
                "comment",
            )
    try:
        with write_transaction():
            dossier.transition(to, actor, comment=comment, decision=decision)
            number = None
            if to == DossierStatus.CLOSED and Decision(decision) == Decision.GRANTED:
                number = RegistrationNumber.grant(dossier, dossier.closed_at)
            AuditEvent.record(
                "dossier.transition",
                actor,
                dossier,
                to=str(to),
                decision=decision,
                comment=comment,
                **({"registration_number": number.number} if number else {}),
            )
    except TransitionError as exc:
        reason, field = REFUSAL_OF_ERROR.get(exc.reason, (None, None))
        raise DossierRefused(explain(exc, dossier, to), reason, field) from exc
    return dossier


def receive(actor, dossier):
    return transition(actor, dossier, DossierStatus.RECEIVED)


def start_processing(actor, dossier):
    return transition(actor, dossier, DossierStatus.PROCESSING)


def close(actor, dossier, decision, motivation):
    """Close with a decision; a granted registration or approval gets its number (the one it
    already had when it is granted again after a reopening), in the same transaction."""
    return transition(actor, dossier, DossierStatus.CLOSED, motivation, decision)


def reopen(actor, dossier, reason):
    if not dossier.state.is_closed:
        raise DossierRefused(
            _("le dossier n'est pas clôturé : il n'y a rien à rouvrir."), DossierRefused.NOT_ALLOWED
        )
    return transition(actor, dossier, DossierStatus.PROCESSING, reason)


def assign(actor, dossier, agent):
    """Give the dossier to `agent` (None: to nobody); supervisors only."""
    require_staff(actor, dossier)
    if actor.staff.staff_role != StaffRole.SUPERVISOR:
        raise DossierRefused(_("Seul un superviseur assigne les dossiers."))
    if agent is not None and (not agent.active or agent.staff_role not in PROCESSING_ROLES):
        raise DossierRefused(_("Ce membre du personnel ne traite pas de dossiers."))
    with write_transaction():
        dossier.assign(agent)  # the agent follows it (DossierFollow) from now on
        AuditEvent.record("dossier.assign", actor, dossier, agent=agent.email if agent else None)
    return dossier


def record_bulk(actor, operation, results, missing=0):
    """The audit event of a bulk action: one [dossier id, refusal or None] per dossier (each
    applied by its own service call), kept to show the result page again."""
    return AuditEvent.record(
        "dossier.bulk",
        actor,
        None,
        operation=operation,
        count=len(results),
        missing=missing,
        results=results,
    )


def available_actions(staff, dossier):
    """(target status, label) of the transitions open to `staff` on the dossier."""
    role = staff.staff_role
    return [
        (to, label)
        for (origin, to), label in STAFF_ACTIONS.items()
        if origin == dossier.state and role in TRANSITIONS[(origin, to)].staff_roles
    ]
