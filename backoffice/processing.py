"""The forms of what staff do to a dossier (transitions, assignment, complement requests,
reopening), single and in bulk; the operations themselves are `dossiers.processing`'s and
`dossiers.messages`'s."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from auth import current_actor
from dossiers import DossierRefused
from dossiers import processing as operations
from dossiers.processing import MAX_TEXT
from models import Decision, StaffUser

BULK_LIMIT = 500


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
    # Check boxes of the annexes of the dossier's definition (`for_definition`); in bulk the
    # dossiers' definitions differ, so there are none and any label is taken as typed.
    requested = SelectMultipleField(
        _l("Annexes demandées"),
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    annexes = StringField(
        _l("Autres documents demandés (séparés par des virgules)"),
        validators=[Optional(), Length(max=1000)],
    )

    @classmethod
    def for_definition(cls, definition):
        form = cls()
        form.requested.choices = [SelectChoice(a.label, a.label) for a in definition.annexes]
        return form

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


class BulkAssignForm(FlaskForm):
    """The agent the selected dossiers go to (supervisors); "— personne —" unassigns them."""

    agent = SelectField(_l("Agent"), coerce=int)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.agent.choices = [SelectChoice(-1, "—"), SelectChoice(0, _("— personne —"))] + [
            SelectChoice(a.id, a.full_name) for a in operations.agents()
        ]

    def validate_agent(self, field):
        if field.data == -1:
            raise ValidationError(_("Choisissez l'agent (ou « personne »)."))

    def chosen(self):
        return StaffUser.get_by_id(self.agent.data) if self.agent.data > 0 else None


class BulkReopenForm(FlaskForm):
    comment = TextAreaField(
        _l("Raison de la réouverture"),
        validators=[
            DataRequired(message=_l("Indiquez la raison.")),
            Length(max=MAX_TEXT, message=_l("%(max)d caractères au plus.")),
        ],
    )


def attempt(operation, *args):
    """Run one `dossiers` service for the current staff member: None when done, else the
    reason it was refused (the bulk result page lists one per dossier)."""
    try:
        operation(current_actor(), *args)
    except DossierRefused as refused:
        return str(refused)
    return None
