"""Dossiers in the back-office: list, detail, and the staff transitions."""

from flask import flash, redirect, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.contrib.peewee.filters import FilterEqual
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from peewee import JOIN
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, Optional

import jobs
from auth import current_staff
from backoffice.access import StaffModelView, audit
from models import (
    PROCESSING_ROLES,
    STAFF_STATUSES,
    TRANSITIONS,
    Actor,
    Company,
    Decision,
    Dossier,
    DossierStatus,
    ProcedureDefinition,
    StaffUser,
    StatusChange,
    TransitionError,
    write_transaction,
)

S = DossierStatus
STAFF_ACTIONS = {
    (S.SUBMITTED, S.RECEIVED): _l("Réceptionner"),
    (S.RECEIVED, S.PROCESSING): _l("Mettre en traitement"),
    (S.PROCESSING, S.CLOSED): _l("Clôturer"),
}
del S


class TransitionForm(FlaskForm):
    to = HiddenField(validators=[DataRequired()])
    decision = SelectField(
        _l("Décision"),
        choices=[SelectChoice("", "—")] + [SelectChoice(d.value, d.label) for d in Decision],
        validators=[Optional()],
    )
    comment = TextAreaField(_l("Motivation ou commentaire"), validators=[Optional()])


def transition_as_staff(dossier, to, comment=None, decision=None):
    """Apply one staff transition with its audit row; returns an error message or None."""
    try:
        with write_transaction():
            dossier.transition(
                to, Actor.staff_member(current_staff()), comment=comment, decision=decision
            )
            audit("dossier.transition", dossier, to=str(to), decision=decision)
    except TransitionError as exc:
        return str(exc)
    return None


def status_formatter(view, context, model, name):
    return Markup('<span class="badge badge-info">{}</span>').format(model.state.label)


def datetime_formatter(view, context, model, name):
    value = getattr(model, name)
    return format_datetime(value, "short") if value else ""


class DossierView(StaffModelView):
    allowed_roles = PROCESSING_ROLES
    can_view_details = True
    details_template = "backoffice/dossier_details.html"
    column_list = ("reference", "definition", "company", "status", "submitted_at", "assigned_to")
    column_labels = {
        "reference": _l("Référence"),
        "definition": _l("Procédure"),
        "company": _l("Entreprise"),
        "status": _l("Statut"),
        "submitted_at": _l("Soumis le"),
        "assigned_to": _l("Agent"),
        "updated_at": _l("Dernière modification"),
        "decision": _l("Décision"),
        "created_by": _l("Créé par"),
        "submitted_by": _l("Soumis par"),
        "archived": _l("Archivé (côté entreprise)"),
        "closed_at": _l("Clôturé le"),
    }
    column_sortable_list = ("reference", "submitted_at", "status")
    column_default_sort = ("submitted_at", True)
    column_searchable_list = (Dossier.reference, Company.name, Company.enterprise_number)
    column_filters = (
        FilterEqual(
            Dossier.status, _l("Statut"), options=[(s.value, s.label) for s in STAFF_STATUSES]
        ),
        FilterEqual(ProcedureDefinition.code, _l("Procédure")),
        Company.name,
    )
    column_details_list = (
        "reference",
        "definition",
        "company",
        "status",
        "decision",
        "created_by",
        "submitted_by",
        "submitted_at",
        "assigned_to",
        "archived",
        "updated_at",
        "closed_at",
    )
    column_formatters = {
        "status": status_formatter,
        "decision": lambda v, c, m, n: m.decision_label or "",
        "archived": lambda v, c, m, n: _("oui") if m.archived else _("non"),
        **{name: datetime_formatter for name in ("submitted_at", "updated_at", "closed_at")},
    }
    prejoined = frozenset({"Company", "ProcedureDefinition", "StaffUser"})

    def get_query(self):
        return (
            Dossier.select(Dossier, Company, ProcedureDefinition, StaffUser)
            .join(Company)
            .switch(Dossier)
            .join(ProcedureDefinition)
            .switch(Dossier)
            .join(StaffUser, JOIN.LEFT_OUTER)
            .switch(Dossier)
            .where(Dossier.status.in_([s.value for s in STAFF_STATUSES]))
        )

    def _handle_join(self, query, field, joins):
        model = getattr(field, "model", None)
        if model is not None and model.__name__ in self.prejoined:
            return query
        return super()._handle_join(query, field, joins)

    def get_one(self, id):
        return self.get_query().where(Dossier.id == id).first()

    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            dossier = kwargs["model"]
            kwargs["history"] = (
                StatusChange.select()
                .where(StatusChange.dossier == dossier)
                .order_by(StatusChange.created_at, StatusChange.id)
            )
            kwargs["next_actions"] = next_actions(dossier)
            kwargs["transition_form"] = TransitionForm()
        return super().render(template, **kwargs)

    @expose("/transition/<int:dossier_id>", methods=("POST",))
    def transition_view(self, dossier_id):
        dossier = self.get_one(dossier_id)
        back = url_for(".details_view", id=dossier_id)
        if dossier is None:
            flash(_("Ce dossier n'existe pas ou n'est pas visible."), "error")
            return redirect(url_for(".index_view"))
        form = TransitionForm()
        if not form.validate_on_submit():
            flash(_("Le formulaire est incomplet."), "error")
            return redirect(back)
        error = transition_as_staff(
            dossier,
            form.to.data,
            comment=form.comment.data or None,
            decision=form.decision.data or None,
        )
        if error:
            flash(_("Action refusée : %(reason)s", reason=error), "error")
        else:
            if dossier.state == DossierStatus.CLOSED:
                jobs.letter_soon(dossier.id)
            jobs.wake_outbox()
            flash(
                _("Dossier %(ref)s : %(status)s.", ref=dossier, status=dossier.state.label),
                "success",
            )
        return redirect(back)

    def bulk_transition(self, ids, to):
        done, refused = [], []
        for dossier in self.get_query().where(Dossier.id.in_([int(i) for i in ids])):
            error = transition_as_staff(dossier, to)
            (refused if error else done).append(str(dossier))
        if done:
            jobs.wake_outbox()
            flash(
                _("%(status)s : %(refs)s.", status=DossierStatus(to).label, refs=", ".join(done)),
                "success",
            )
        if refused:
            flash(_("Refusé (statut incompatible) : %(refs)s.", refs=", ".join(refused)), "error")

    @action("receive", _l("Réceptionner"), _l("Réceptionner les dossiers sélectionnés ?"))
    def action_receive(self, ids):
        self.bulk_transition(ids, DossierStatus.RECEIVED)

    @action(
        "process",
        _l("Mettre en traitement"),
        _l("Mettre en traitement les dossiers sélectionnés ?"),
    )
    def action_process(self, ids):
        self.bulk_transition(ids, DossierStatus.PROCESSING)


def next_actions(dossier):
    """Staff transitions open from the dossier's status to the current staff member."""
    role = current_staff().staff_role
    return [
        (to, label)
        for (origin, to), label in STAFF_ACTIONS.items()
        if origin == dossier.state and role in TRANSITIONS[(origin, to)].staff_roles
    ]
