"""Dossiers in the back-office: the list (filters, search, sort, export, no count; read by
backoffice/dossier_list.py), the detail (answers by the definition's version, annexes,
timeline, thread, signature, receipt), and the staff actions, single and in bulk."""

from flask import (
    abort,
    flash,
    g,
    redirect,
    request,
    url_for,
)
from flask_admin import expose
from flask_admin.contrib.peewee.filters import (
    DateTimeBetweenFilter,
    FilterEmpty,
    FilterEqual,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields import SelectChoice

import security_headers
from auth import current_actor, current_staff
from backoffice import processing
from backoffice.annotations import DossierAnnotations, annotations_context
from backoffice.base import StaffModelView
from backoffice.bulk import BulkActions
from backoffice.dossier_filters import (
    ANNOTATION_COLUMN,
    BY_PROCEDURE,
    DEADLINE,
    FOLLOWED,
    MY_GROUPS,
    AnnotationFilter,
    FoldedLike,
    FollowedFilter,
    LabelFilter,
    agent_options,
    annotation_options,
    annotations_formatter,
    deadline_formatter,
    deadline_summary,
    group_formatter,
    group_options,
    label_options,
    labels_formatter,
    one_procedure,
    with_annotation_columns,
)
from backoffice.dossier_list import (
    KeysetList,
    datetime_formatter,
    definition_formatter,
    export_datetime,
    reference_link,
    status_formatter,
)
from backoffice.exports import BackgroundExport
from backoffice.following import DossierFollowing, following_context
from backoffice.groups import MoveForm
from backoffice.marks import DossierMarks, marks_context
from backoffice.opinions import DossierOpinions, opinions_context
from backoffice.opinions import timeline as opinion_timeline
from dossiers import (
    DossierNotFound,
    DossierRefused,
    annotations,
    documents,
    groups,
    messages,
    opinions,
    scanning,
)
from dossiers import processing as operations
from dossiers.exports import safe_cell
from models import (
    PROCESSING_ROLES,
    STAFF_STATUSES,
    Annex,
    Company,
    Document,
    Dossier,
    Message,
    RegistrationNumber,
    Signature,
    StaffGroup,
    StaffUser,
    StatusChange,
)
from procedures import definition_of, display, prefill


class DossierView(
    KeysetList,
    BackgroundExport,
    DossierMarks,
    DossierAnnotations,
    DossierFollowing,
    DossierOpinions,
    BulkActions,
    StaffModelView,
):
    allowed_roles = PROCESSING_ROLES
    export_source = file_prefix = "dossiers"
    can_view_details = True
    column_display_actions = False  # the reference is the link to the dossier
    can_export = True
    export_types = ["csv", "xlsx"]
    export_max_rows = 100_000
    details_template = "backoffice/dossier_details.html"
    list_template = "backoffice/dossier_list.html"
    column_list = (
        "reference",
        "definition",
        "company",
        "status",
        "submitted_at",
        "assigned_to",
        "due_at",
        "labels",
        "group",
        "annotations",
    )
    column_export_list = (
        "reference",
        "definition",
        "company",
        "status",
        "submitted_at",
        "assigned_to",
        "decision",
        "closed_at",
        "group",
        "annotations",
    )
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
        "labels": _l("Étiquettes"),
        "group": _l("Groupe"),
        "annotations": _l("Annotations privées"),
        "due_at": _l("Jours restants"),
    }
    column_sortable_list = (
        "reference",
        ("definition", Dossier.procedure_title),
        ("company", Company.name),
        "status",
        "submitted_at",
        ("assigned_to", Dossier.agent_name),
    )
    column_default_sort = ("submitted_at", True)
    column_searchable_list = (Dossier.reference, Company.search_name, Company.enterprise_number)
    column_filters = (
        FilterEqual(
            Dossier.status, _l("Statut"), options=[(s.value, s.label) for s in STAFF_STATUSES]
        ),
        BY_PROCEDURE,
        FoldedLike(Company.search_name, _l("Entreprise")),
        FilterEqual(Dossier.assigned_to, _l("Agent"), options=lambda: agent_options()),
        FilterEmpty(Dossier.assigned_to, _l("Agent")),
        DateTimeBetweenFilter(Dossier.submitted_at, _l("Soumis entre")),
        DateTimeBetweenFilter(Dossier.updated_at, _l("Modifié entre")),
        MY_GROUPS,
        FilterEqual(Dossier.group, _l("Groupe"), options=lambda: group_options()),
        LabelFilter(Dossier.id, _l("Étiquette"), options=lambda: label_options()),
        AnnotationFilter(Dossier.id, _l("Annotation privée"), options=lambda: annotation_options()),
        FollowedFilter(Dossier.id, _l("Suivis"), options=[(FOLLOWED, _l("Dossiers que je suis"))]),
        DEADLINE,
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
        "group",
        "archived",
        "updated_at",
        "closed_at",
    )
    column_formatters_detail = {
        "status": status_formatter,
        "definition": definition_formatter,
        "decision": lambda v, c, m, n: m.decision_label or "",
        "archived": lambda v, c, m, n: _("oui") if m.archived else _("non"),
        "group": group_formatter,
        **{name: datetime_formatter for name in ("submitted_at", "updated_at", "closed_at")},
    }
    column_formatters = {
        **column_formatters_detail,
        "reference": reference_link,
        "company": lambda v, c, m, n: m.company_name,  # the list's rows (ROW_COLUMNS)
        "assigned_to": lambda v, c, m, n: m.agent_name,
        "labels": labels_formatter,
        "annotations": annotations_formatter,
        "due_at": deadline_formatter,
    }
    column_formatters_export = {
        "status": lambda v, c, m, n: str(m.state.label),
        "decision": lambda v, c, m, n: str(m.decision_label or ""),
        "submitted_at": lambda v, c, m, n: export_datetime(m.submitted_at),
        "closed_at": lambda v, c, m, n: export_datetime(m.closed_at),
        "group": group_formatter,
        "annotations": lambda v, c, m, n: export_annotations(m),
    }
    prejoined = frozenset({"Company", "ProcedureDefinition", "StaffUser"})

    def export_batch(self, rows):
        """The private annotations of the batch's dossiers, in one query (its cells read them)."""
        g.export_annotations = annotations.shown_of_dossiers(
            (row.id, row.definition_id) for row in rows
        )

    def export_columns(self, args):
        """The list's export columns, one per annotation when filtered on one procedure."""
        code = one_procedure(self._filters, args.get("filters"))
        return with_annotation_columns(self._export_columns, code)

    def export_value(self, row, name):
        if name.startswith(ANNOTATION_COLUMN):
            key = name.removeprefix(ANNOTATION_COLUMN)
            return safe_cell(annotations.shown_value(export_shown(row), key))
        return super().export_value(row, name)

    def search_placeholder(self):
        return _("Référence, n° d'entreprise, nom de l'entreprise ou du demandeur")

    def export_args(self):
        """The list's arguments for the worker's export, "Mes groupes" written out as the
        groups it means now: the worker has no staff member logged in."""
        args = super().export_args()
        for flt in args["filters"]:
            if self._filters[flt[0]] is MY_GROUPS:
                flt[2] = MY_GROUPS.written_out()
        return args

    def get_one(self, id):
        return self.full_query().where(Dossier.id == id).first()

    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            kwargs = {**detail_context(kwargs["model"]), **kwargs}
        if template == self.list_template and "dossier_page" in g:
            kwargs = self.list_page_args(kwargs)
        return super().render(template, **kwargs)

    def detail_again(self, dossier, error, **forms):
        """The detail page again, with the refusal and what was typed (nothing is lost): the
        posted `forms` in place of the page's empty ones."""
        flash(_("Action refusée : %(reason)s", reason=error), "error")
        return self.render(
            self.details_template,
            model=dossier,
            details_columns=self._details_columns,
            get_value=self.get_detail_value,
            return_url=self.get_url(".index_view"),
            **forms,
        )

    def dossier_or_404(self, dossier_id):
        dossier = self.get_one(dossier_id)
        if dossier is None:
            abort(404)
        return dossier

    def back(self, dossier):
        return redirect(url_for(".details_view", id=dossier.id))

    def report(self, error, success):
        if error:
            flash(_("Action refusée : %(reason)s", reason=error), "error")
        else:
            flash(success, "success")

    @expose("/transition/<int:dossier_id>", methods=("POST",))
    def transition_view(self, dossier_id):
        dossier = self.dossier_or_404(dossier_id)
        form = processing.TransitionForm()
        if not form.validate_on_submit():
            return self.detail_again(dossier, first_error(form))
        error = processing.attempt(
            operations.transition,
            dossier,
            form.to.data,
            form.comment.data or None,
            form.decision.data or None,
        )
        if error:
            return self.detail_again(dossier, error)
        self.report(
            None, _("Dossier %(ref)s : %(status)s.", ref=dossier, status=dossier.state.label)
        )
        return self.back(dossier)

    @expose("/assign/<int:dossier_id>", methods=("POST",))
    def assign_view(self, dossier_id):
        dossier = self.dossier_or_404(dossier_id)
        form = assign_form(dossier)
        if not form.validate_on_submit():
            abort(400)
        agent = StaffUser.get_by_id(form.agent.data) if form.agent.data else None
        self.report(
            processing.attempt(operations.assign, dossier, agent),
            _("Dossier %(ref)s assigné à %(name)s.", ref=dossier, name=agent.full_name)
            if agent
            else _("Dossier %(ref)s : plus assigné à personne.", ref=dossier),
        )
        return self.back(dossier)

    @expose("/group/<int:dossier_id>", methods=("POST",))
    def move_view(self, dossier_id):
        dossier = self.dossier_or_404(dossier_id)
        form = MoveForm.for_dossier(dossier)
        if not form.validate_on_submit():
            return self.detail_again(dossier, first_error(form))
        group = StaffGroup.get_or_none(StaffGroup.id == form.group.data)
        error = processing.attempt(groups.move, dossier, group, form.reason.data)
        if error:
            return self.detail_again(dossier, error)
        self.report(None, _("Dossier %(ref)s : groupe « %(name)s ».", ref=dossier, name=group.name))
        return self.back(dossier)

    @expose("/complement/<int:dossier_id>", methods=("POST",))
    def complement_view(self, dossier_id):
        dossier = self.dossier_or_404(dossier_id)
        form = processing.ComplementForm.for_definition(definition_of(dossier.definition))
        if not form.validate_on_submit():
            return self.detail_again(dossier, first_error(form))
        annexes = form.requested_list({choice.value for choice in form.requested.choices})
        error = processing.attempt(messages.request_complement, dossier, form.body.data, annexes)
        if error:
            return self.detail_again(dossier, error)
        self.report(None, _("Compléments demandés à %(name)s.", name=dossier.company.name))
        return self.back(dossier)

    @expose("/annex/<int:dossier_id>/<int:annex_id>")
    def annex_view(self, dossier_id, annex_id):
        dossier = self.dossier_or_404(dossier_id)
        inline = request.args.get("voir") == "1"
        try:
            annex, data = documents.annex_file(current_actor(), dossier, annex_id, inline)
        except DossierNotFound:
            abort(404)
        except scanning.AnnexQuarantined as quarantined:
            abort(403 if quarantined.annex.is_infected else 409, str(quarantined))
        except DossierRefused:
            abort(409, _("Ce fichier ne correspond plus à son empreinte ; il n'est pas servi."))
        return serve(data, annex.original_name, inline=inline)

    @expose("/receipt/<int:dossier_id>")
    def receipt_view(self, dossier_id):
        return self.document(dossier_id, Document.RECEIPT, "accuse-de-reception")

    @expose("/letter/<int:dossier_id>")
    def letter_view(self, dossier_id):
        return self.document(dossier_id, Document.DECISION_LETTER, "decision")

    def document(self, dossier_id, kind, prefix):
        dossier = self.dossier_or_404(dossier_id)
        try:
            doc, data = documents.document_file(current_actor(), dossier, kind)
        except DossierRefused:
            abort(409, _("Ce fichier ne correspond plus à son empreinte ; il n'est pas servi."))
        if doc is None:
            abort(404)
        return serve(data, f"{prefix}-{dossier.reference}.pdf")

    @expose("/bundle/<int:dossier_id>")
    def bundle_view(self, dossier_id):
        """The receipt and every annex merged into one PDF, for reading or archiving."""
        dossier = self.dossier_or_404(dossier_id)
        try:
            data = documents.bundle(current_actor(), dossier)
        except scanning.AnnexQuarantined as quarantined:
            flash(str(quarantined), "error")
            return self.back(dossier)
        except DossierRefused:
            abort(409, _("Un fichier du dossier ne correspond plus à son empreinte."))
        if data is None:
            flash(_("Ce dossier n'a encore ni accusé de réception ni annexe à rassembler."), "info")
            return self.back(dossier)
        return security_headers.download(data, f"dossier-{dossier.reference}.pdf")


def deadline_list_url(value):
    """The dossier list filtered on the legal deadline (DeadlineFilter: "late" or "week")."""
    return url_for(
        "admin_dossiers.index_view",
        **{f"flt0_{DossierView.column_filters.index(DEADLINE)}": value},
    )


def first_error(form):
    """The first validation message of `form`, for the flash that explains a refusal."""
    for name, errors in form.errors.items():
        if errors:
            label = form[name].label.text if name in form else ""
            return f"{label} : {errors[0]}" if label else str(errors[0])
    return _("le formulaire est incomplet.")


def serve(data, name, inline=False):
    """A stored PDF (already checked against its SHA-256); `inline` opens it in the browser's
    viewer, sandboxed (no script, no same-origin access) since its content comes from a
    company."""
    return security_headers.download(data, name, inline=inline)


def export_shown(dossier):
    """The dossier's private annotations for the export: from its batch's
    (DossierView.export_batch), or read for this row alone by an export that reads no
    batches."""
    found = g.get("export_annotations")
    if found is None or dossier.id not in found:
        found = annotations.shown_of_dossiers([(dossier.id, dossier.definition_id)])
    return found.get(dossier.id, ())


def export_annotations(dossier):
    """The export's cell of all the dossier's private annotations."""
    return annotations.shown_text(export_shown(dossier))


def detail_context(dossier):
    definition = definition_of(dossier.definition)
    asked = opinions.opinions_of(current_actor(), dossier)
    return {
        "definition": definition,
        "answer_sections": display.answer_rows(
            definition, dossier.answers, prefill.company_context(dossier.company)
        ),
        "annex_label": display.annex_label,
        "history": sorted(
            [
                *StatusChange.select()
                .where(StatusChange.dossier == dossier)
                .order_by(StatusChange.created_at, StatusChange.id),
                *groups.history(dossier),
                *opinion_timeline(asked),
            ],
            key=lambda change: change.created_at,
        ),
        "annexes": Annex.select().where(Annex.dossier == dossier).order_by(Annex.uploaded_at),
        "thread": Message.select().where(Message.dossier == dossier).order_by(Message.created_at),
        "has_parts": Annex.select().where(Annex.dossier == dossier).exists(),
        "signature": Signature.get_or_none(Signature.dossier == dossier),
        "receipt": Document.latest(dossier, Document.RECEIPT),
        "letter": Document.current_letter(dossier),
        "registration": RegistrationNumber.of_dossier(dossier),
        "next_actions": operations.available_actions(current_staff(), dossier),
        "transition_form": processing.TransitionForm(),
        "assign_form": assign_form(dossier),
        "complement_form": processing.ComplementForm.for_definition(definition),
        "move_form": MoveForm.for_dossier(dossier),
        "can_move": not dossier.state.is_closed,
        "is_supervisor": current_staff().staff_role.value == "supervisor",
        "can_request": dossier.in_instruction,
        "deadline": deadline_summary(dossier),
        **marks_context(dossier),
        **annotations_context(dossier),
        **following_context(dossier),
        **opinions_context(dossier, asked),
    }


def assign_form(dossier):
    """The agents to choose from, the one assigned now chosen (until a choice is posted)."""
    form = processing.AssignForm()
    form.agent.choices = [SelectChoice(0, _("— personne —"))] + [
        SelectChoice(a.id, a.full_name) for a in operations.agents()
    ]
    if not form.is_submitted():
        form.agent.data = dossier.assigned_to_id or 0
    return form
