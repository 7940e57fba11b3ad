"""Expert opinions on the dossier page ("Avis d'experts"): the form that asks one of a staff
member or an outside expert, the opinions asked with their answers, the withdrawal of one not
answered yet and the answer's PDF. The operations are `dossiers.opinions`'s; `DossierOpinions`
is the part of DossierView that answers their forms."""

from dataclasses import dataclass
from datetime import datetime

from flask import abort, current_app
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

import languages
import security_headers
from auth import current_actor
from backoffice.processing import attempt
from dossiers import DossierRefused, opinions
from models import StaffUser, brussels_day, utcnow

STAFF, OUTSIDE = "staff", "outside"


class OpinionForm(FlaskForm):
    # Few validators: `dossiers.opinions.ask` refuses what is missing or wrong with its message.
    expert_kind = RadioField(
        _l("Demander l'avis"),
        choices=[
            SelectChoice(STAFF, _l("d'un membre du personnel")),
            SelectChoice(OUTSIDE, _l("d'un expert extérieur, par e-mail")),
        ],
        default=OUTSIDE,
    )
    expert_staff = SelectField(_l("Membre du personnel"), coerce=int, validate_choice=False)
    expert_name = StringField(_l("Nom de l'expert extérieur"))
    expert_email = StringField(_l("Adresse e-mail de l'expert extérieur"))
    language = SelectField(_l("Langue de l'expert extérieur"))
    question = TextAreaField(_l("Question posée"))
    due_on = DateField(_l("À rendre au plus tard le"), validators=[Optional()])
    confidential = BooleanField(
        _l("Avis confidentiel : jamais montré à l'entreprise"), default=True
    )
    share_answers = BooleanField(_l("Communiquer les réponses du formulaire"))
    annexes = SelectMultipleField(
        _l("Communiquer ces annexes"),
        coerce=int,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )

    def fill_choices(self, dossier):
        self.expert_staff.choices = [SelectChoice(0, "—")] + [
            SelectChoice(staff.id, staff.full_name)
            for staff in StaffUser.select()
            .where(StaffUser.active == True)  # noqa: E712 -- peewee builds SQL from it
            .order_by(StaffUser.full_name)
        ]
        self.language.choices = [
            SelectChoice(code, languages.LANGUAGE_NAMES[code])
            for code in current_app.config["LANGUAGES_READY"]
        ]
        self.annexes.choices = [
            SelectChoice(annex.id, annex.original_name)
            for annex in opinions.shareable_annexes(dossier)
        ]
        return self


@dataclass
class OpinionEntry:
    """A line of the dossier's timeline: an opinion asked, or its answer."""

    created_at: datetime
    opinion: object
    answered: bool
    is_opinion = True


def timeline(asked):
    """The timeline's lines of the opinions `asked`: each asked, each answered."""
    entries = [OpinionEntry(opinion.created_at, opinion, False) for opinion in asked]
    entries += [OpinionEntry(o.answered_at, o, True) for o in asked if o.answered_at]
    return entries


def shared_summary(opinion):
    """What the expert was shown besides the question, in words."""
    parts = [_("les réponses")] if opinion.share_answers else []
    if opinion.shared_annexes:
        count = len(opinion.shared_annexes)
        parts.append(ngettext("%(num)d annexe", "%(num)d annexes", count))
    return ", ".join(parts) or _("la question seule")


def opinions_context(dossier, asked):
    return {
        "opinions": asked,
        "shared_summary": shared_summary,
        "today": brussels_day(utcnow()),
        "opinion_form": OpinionForm(
            formdata=None, language=languages.current_language()
        ).fill_choices(dossier),
    }


class DossierOpinions:
    """Mixed into the dossier view, which provides `dossier_or_404`, `detail_again`, `back`
    and `report`."""

    @expose("/opinion/<int:dossier_id>", methods=("POST",))
    def opinion_ask_view(self, dossier_id):
        dossier = self.dossier_or_404(dossier_id)
        form = OpinionForm().fill_choices(dossier)
        if not form.validate_on_submit():
            return self.detail_again(
                dossier, _("le formulaire a expiré ; envoyez-le à nouveau."), opinion_form=form
            )
        by_staff = form.expert_kind.data == STAFF
        expert_staff = (
            StaffUser.get_or_none(StaffUser.id == form.expert_staff.data) if by_staff else None
        )
        if by_staff and expert_staff is None:
            form.expert_staff.errors = [_("Choisissez le membre du personnel.")]
            return self.detail_again(dossier, form.expert_staff.errors[0], opinion_form=form)
        try:
            opinions.ask(
                current_actor(),
                dossier,
                form.question.data,
                form.due_on.data,
                expert_staff=expert_staff,
                expert_name=None if by_staff else form.expert_name.data,
                expert_email=None if by_staff else form.expert_email.data,
                language=form.language.data,
                confidential=form.confidential.data,
                share_answers=form.share_answers.data,
                annex_ids=form.annexes.data or (),
            )
        except DossierRefused as refused:
            if refused.field in form:
                form[refused.field].errors = [str(refused)]
            return self.detail_again(dossier, refused, opinion_form=form)
        self.report(None, _("Demande d'avis envoyée."))
        return self.back(dossier)

    @expose("/opinion/<int:dossier_id>/<int:opinion_id>/cancel", methods=("POST",))
    def opinion_cancel_view(self, dossier_id, opinion_id):
        dossier = self.dossier_or_404(dossier_id)
        opinion = opinions.opinion_of(dossier, opinion_id) or abort(404)
        if not FlaskForm().validate_on_submit():
            abort(400)
        self.report(attempt(opinions.cancel, opinion), _("Demande d'avis retirée."))
        return self.back(dossier)

    @expose("/opinion/<int:dossier_id>/<int:opinion_id>/file")
    def opinion_file_view(self, dossier_id, opinion_id):
        dossier = self.dossier_or_404(dossier_id)
        opinion = opinions.opinion_of(dossier, opinion_id) or abort(404)
        data = opinions.answer_file(current_actor(), opinion)
        if data is None:
            abort(404)
        return security_headers.download(data, opinion.file_name)
