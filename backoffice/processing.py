"""What staff do to a dossier: transitions, assignment, complement requests, reopening — each
through the model (`Dossier.transition`, procedures.messages) and each audited."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

import jobs
from auth import current_staff
from backoffice.base import audit
from models import (
    TRANSITIONS,
    Actor,
    Decision,
    DossierStatus,
    StaffRole,
    StaffUser,
    TransitionError,
    write_transaction,
)
from procedures import messages

S = DossierStatus
STAFF_ACTIONS = {
    (S.SUBMITTED, S.RECEIVED): _l("Réceptionner"),
    (S.RECEIVED, S.PROCESSING): _l("Mettre en traitement"),
    (S.PROCESSING, S.CLOSED): _l("Clôturer"),
    (S.CLOSED, S.PROCESSING): _l("Rouvrir"),
}
del S
BULK_LIMIT = 500
MAX_TEXT = 5000  # characters of a motivation, a reason or a message


class TransitionForm(FlaskForm):
    to = HiddenField(validators=[DataRequired()])
    decision = SelectField(
        _l("Décision"),
        choices=[SelectChoice("", "—")] + [SelectChoice(d.value, d.label) for d in Decision],
        validators=[Optional()],
    )
    comment = TextAreaField(
        _l("Motivation ou commentaire"),
        validators=[
            Optional(),
            Length(max=MAX_TEXT, message=_l("%(max)d caractères au plus.")),
        ],
    )


class AssignForm(FlaskForm):
    agent = SelectField(_l("Agent"), coerce=int)


class ComplementForm(FlaskForm):
    body = TextAreaField(
        _l("Message à l'entreprise"),
        validators=[
            DataRequired(message=_l("Écrivez le message à l'entreprise.")),
            Length(max=MAX_TEXT, message=_l("%(max)d caractères au plus.")),
        ],
    )
    # The annexes of the dossier's definition, ticked; checked against it in the view.
    requested = SelectMultipleField(_l("Annexes demandées"), validate_choice=False)
    annexes = StringField(
        _l("Autres documents demandés (séparés par des virgules)"),
        validators=[Optional(), Length(max=1000)],
    )

    def requested_list(self, offered=None):
        """The ticked annexes (those `offered`, when given) then the typed ones, once each."""
        ticked = [a for a in self.requested.data or [] if offered is None or a in offered]
        typed = [a.strip() for a in (self.annexes.data or "").split(",") if a.strip()]
        return list(dict.fromkeys(ticked + typed))


class BulkCloseForm(FlaskForm):
    decision = SelectField(
        _l("Décision"),
        choices=[SelectChoice("", "—")] + [SelectChoice(d.value, d.label) for d in Decision],
        validators=[DataRequired(message=_l("Choisissez une décision."))],
    )
    comment = TextAreaField(
        _l("Motivation"),
        validators=[
            DataRequired(message=_l("Écrivez la motivation de la décision.")),
            Length(max=MAX_TEXT, message=_l("%(max)d caractères au plus.")),
        ],
    )


class BulkReopenForm(FlaskForm):
    comment = TextAreaField(
        _l("Raison de la réouverture"),
        validators=[
            DataRequired(message=_l("Indiquez la raison.")),
            Length(max=MAX_TEXT, message=_l("%(max)d caractères au plus.")),
        ],
    )


def agents():
    return (
        StaffUser.select()
        .where(
            StaffUser.active == True,  # noqa: E712
            StaffUser.role.in_([StaffRole.AGENT.value, StaffRole.SUPERVISOR.value]),
        )
        .order_by(StaffUser.full_name)
    )


def transition(dossier, to, comment=None, decision=None):
    """Apply one staff transition with its audit row; an error message, or None."""
    try:
        to = DossierStatus(to)
    except ValueError:
        return _("ce changement de statut n'existe pas.")
    if to == DossierStatus.CLOSED and dossier.state == DossierStatus.PROCESSING:
        if not decision:
            return _("choisissez une décision (accordé, refusé ou sans suite).")
        if not (comment and comment.strip()):
            return _("écrivez la motivation de la décision ; elle figure dans le courrier.")
    try:
        with write_transaction():
            dossier.transition(
                to, Actor.staff_member(current_staff()), comment=comment, decision=decision
            )
            audit("dossier.transition", dossier, to=str(to), decision=decision, comment=comment)
    except TransitionError as exc:
        return explain(exc, dossier, to)
    if dossier.state == DossierStatus.CLOSED:
        jobs.letter_soon(dossier.id)
    return None


def explain(error, dossier, to):
    """A refused transition told in the staff member's language."""
    if error.reason == "role":
        if dossier.state == DossierStatus.CLOSED:
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


def assign(dossier, agent):
    if current_staff().staff_role != StaffRole.SUPERVISOR:
        return _("Seul un superviseur assigne les dossiers.")
    with write_transaction():
        dossier.assign(agent)
        audit("dossier.assign", dossier, agent=agent.email if agent else None)
    return None


def request_complement(dossier, body, annexes):
    try:
        messages.send_to_company(
            dossier, current_staff(), body, complement=True, requested_annexes=annexes
        )
    except messages.MessageRefused as exc:
        return str(exc)
    audit("dossier.complement_request", dossier, annexes=annexes)
    return None


def available_actions(dossier):
    """(target status, label) of the transitions open to the current staff member."""
    role = current_staff().staff_role
    return [
        (to, label)
        for (origin, to), label in STAFF_ACTIONS.items()
        if origin == dossier.state and role in TRANSITIONS[(origin, to)].staff_roles
    ]
