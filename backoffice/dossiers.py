"""Dossiers in the back-office: the list (filters, search, sort, export, no count), the detail
(answers by the definition's version, annexes, timeline, thread, signature, receipt), and the
staff actions, single and in bulk."""

import hashlib
from urllib.parse import urlencode

from flask import (
    abort,
    flash,
    g,
    redirect,
    request,
    url_for,
)
from flask_admin import expose
from flask_admin.babel import gettext as admin_gettext
from flask_admin.contrib.peewee.filters import (
    DateTimeBetweenFilter,
    FilterEmpty,
    FilterEqual,
    FilterLike,
)
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from peewee import JOIN

import security_headers
from auth import current_actor, current_staff
from backoffice import processing
from backoffice.base import StaffModelView
from backoffice.bulk import BulkActions
from backoffice.columns import kept_options, list_formats
from backoffice.exports import BackgroundExport
from dossiers import DossierNotFound, DossierRefused, documents, keyset, messages, scanning
from dossiers import processing as operations
from dossiers import search as dossier_search
from models import (
    PROCESSING_ROLES,
    STAFF_STATUSES,
    Annex,
    Company,
    Document,
    Dossier,
    Message,
    ProcedureDefinition,
    RegistrationNumber,
    Signature,
    StaffUser,
    StatusChange,
    fold,
)
from procedures import definition_of, display, prefill, title_of

# The dossier's own columns the list and its export show.
OWN_COLUMNS = (
    Dossier.id,
    Dossier.reference,
    Dossier.status,
    Dossier.submitted_at,
    Dossier.decision,
    Dossier.closed_at,
    Dossier.company,
    Dossier.definition,
    Dossier.assigned_to,
    Dossier.procedure_title,
    Dossier.agent_name,
)
# The export's rows (models joined, as its cells read them).
LIST_COLUMNS = (
    *OWN_COLUMNS,
    Company.id,
    Company.name,
    Company.enterprise_number,
    ProcedureDefinition.id,
    ProcedureDefinition.code,
    ProcedureDefinition.title,
    ProcedureDefinition.version,
    StaffUser.id,
    StaffUser.full_name,
)
# A row of the list's page: the dossier's own columns and its company's name, read as one flat
# object (no company, procedure or agent instance to build for each row).
ROW_COLUMNS = (*OWN_COLUMNS, Company.name.alias("company_name"))
# The list's sorts (Flask-Admin's column names), each paged by keyset on (key, id).
SORTS = {
    "reference": keyset.Sort("reference", Dossier.reference),
    "definition": keyset.Sort("definition", Dossier.procedure_title),
    "company": keyset.Sort("company", Company.name, own=False),
    "status": keyset.Sort("status", Dossier.status),
    "submitted_at": keyset.Sort("submitted_at", Dossier.submitted_at),
    "assigned_to": keyset.Sort("assigned_to", Dossier.agent_name, nullable=True),
}
SORT_KEYS = {
    "reference": lambda d: d.reference,
    "definition": lambda d: d.procedure_title,
    "company": lambda d: d.company_name,
    "status": lambda d: d.status,
    "submitted_at": lambda d: d.submitted_at,
    "assigned_to": lambda d: d.agent_name,
}
CURSOR_ARG = "cursor"


def status_formatter(view, context, model, name):
    return list_formats().status[model.status]


def reference_link(view, context, model, name):
    """The list's way into a dossier: its reference, a link to its detail page (the address
    built once per page, the id put in for each row)."""
    formats = list_formats()
    back = context.get("return_url")
    if formats.details is None or formats.details[0] != back:
        formats.details = (back, view.get_url(".details_view"), urlencode({"url": back or ""}))
    _back, base, tail = formats.details
    url = f"{base}?id={model.id}&{tail}" if back else f"{base}?id={model.id}"
    return Markup('<a href="{}">{}</a>').format(url, model.reference)


def cell(view, context, row, name, formatter):
    """A cell of the list: its formatter's, or the value itself (a company, an agent: their
    names), nothing for None; the template escapes what is not Markup."""
    value = formatter(view, context, row, name) if formatter else getattr(row, name)
    return "" if value is None else value


class FoldedLike(FilterLike):
    """ "contains", whatever the case and the accents typed (the column holds folded text):
    the dossiers of the companies whose name contains it, found on the trigram index."""

    def clean(self, value):
        return fold(value)

    def found(self, value):
        """What it finds, read by the list like a search (see DossierView.get_list)."""
        return dossier_search.company_named(self.clean(value))

    def apply(self, query, value):
        found = dossier_search.company_named(value)
        return query if found is None else query.where(found.wide)


def export_datetime(value):
    """Brussels time, sortable as text (the database holds UTC)."""
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


def datetime_formatter(view, context, model, name):
    value = getattr(model, name)
    return list_formats().datetime(value) if value else ""


def definition_formatter(view, context, model, name):
    return list_formats().titles.get(model.definition_id) or (
        f"{title_of(model.definition)} (v{model.definition.version})"
    )


class DossierView(BackgroundExport, BulkActions, StaffModelView):
    allowed_roles = PROCESSING_ROLES
    export_source = file_prefix = "dossiers"
    can_view_details = True
    column_display_actions = False  # the reference is the link to the dossier
    can_export = True
    export_types = ["csv", "xlsx"]
    export_max_rows = 100_000
    details_template = "backoffice/dossier_details.html"
    list_template = "backoffice/dossier_list.html"
    column_list = ("reference", "definition", "company", "status", "submitted_at", "assigned_to")
    column_export_list = (
        "reference",
        "definition",
        "company",
        "status",
        "submitted_at",
        "assigned_to",
        "decision",
        "closed_at",
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
        FilterEqual(ProcedureDefinition.code, _l("Procédure"), options=lambda: procedures()),
        FoldedLike(Company.search_name, _l("Entreprise")),
        FilterEqual(Dossier.assigned_to, _l("Agent"), options=lambda: agent_options()),
        FilterEmpty(Dossier.assigned_to, _l("Agent")),
        DateTimeBetweenFilter(Dossier.submitted_at, _l("Soumis entre")),
        DateTimeBetweenFilter(Dossier.updated_at, _l("Modifié entre")),
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
    column_formatters_detail = {
        "status": status_formatter,
        "definition": definition_formatter,
        "decision": lambda v, c, m, n: m.decision_label or "",
        "archived": lambda v, c, m, n: _("oui") if m.archived else _("non"),
        **{name: datetime_formatter for name in ("submitted_at", "updated_at", "closed_at")},
    }
    column_formatters = {
        **column_formatters_detail,
        "reference": reference_link,
        "company": lambda v, c, m, n: m.company_name,  # the list's rows (ROW_COLUMNS)
        "assigned_to": lambda v, c, m, n: m.agent_name,
    }
    column_formatters_export = {
        "status": lambda v, c, m, n: str(m.state.label),
        "decision": lambda v, c, m, n: str(m.decision_label or ""),
        "submitted_at": lambda v, c, m, n: export_datetime(m.submitted_at),
        "closed_at": lambda v, c, m, n: export_datetime(m.closed_at),
    }
    prejoined = frozenset({"Company", "ProcedureDefinition", "StaffUser"})

    def search_placeholder(self):
        return _("Référence, n° d'entreprise, nom de l'entreprise ou du demandeur")

    def staff_query(self, *columns):
        return (
            Dossier.select(*columns)
            .join(Company)
            .switch(Dossier)
            .join(ProcedureDefinition)
            .switch(Dossier)
            .join(StaffUser, JOIN.LEFT_OUTER)
            .switch(Dossier)
            .where(Dossier.is_staff_visible())
        )

    def get_query(self):
        """The list and the export: the columns they show, nothing more (a sort or a deep page
        then moves small rows, not the answers nor each definition's YAML)."""
        return self.staff_query(*LIST_COLUMNS)

    def full_query(self):
        return self.staff_query(Dossier, Company, ProcedureDefinition, StaffUser)

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        """The list (keyset pages, see dossiers.keyset) and the export: searched through
        dossiers.search, filtered by Flask-Admin's filters, never counted."""
        if sort_column not in SORTS:
            sort_column, sort_desc = None, True  # the default, or a hand-written ?sort= on
            # a column that does not sort
        sort = SORTS[sort_column or "submitted_at"]
        query = self.get_query() if not execute else self.staff_query(*ROW_COLUMNS)
        founds = [dossier_search.condition(search)] if search else []
        joins = set()
        for index, _name, value in filters or ():
            flt = self._filters[index]
            if isinstance(flt, FoldedLike):
                founds.append(flt.found(value))
                continue
            query = self._handle_join(query, flt.column, joins)
            query = flt.apply(query, flt.clean(value))
        founds = [f for f in founds if f is not None]
        size = page_size or self.page_size
        if not execute:  # the exports: every row (page_size 0: no bound), in the list's order
            query = query.where(*[f.wide for f in founds]) if founds else query
            query = query.order_by(*keyset.order(sort, bool(sort_desc)))
            return None, query.limit(None if page_size == 0 else size)
        context = self.list_context(search, filters)
        cursor = self.read_cursor(sort, bool(sort_desc), context)

        def read(query):
            return keyset.page(
                query.objects(), sort, bool(sort_desc), size, cursor, SORT_KEYS[sort.name], context
            )

        if not founds:
            result = read(query)
        else:  # the few found by a search or name filter, by id; the walk for more than CAP
            counted = [f.hits.alias(f"hits{i}") for i, f in enumerate(founds)]
            result = read(query.select_extend(*counted).where(*[f.narrow for f in founds]))
            hits = [
                getattr(result.rows[0], f"hits{i}") if result.rows else f.hits.scalar()
                for i, f in enumerate(founds)
            ]
            if max(hits) > dossier_search.CAP:
                ways = [
                    f.wide if n > dossier_search.CAP else f.narrow
                    for f, n in zip(founds, hits, strict=True)
                ]
                result = read(query.where(*ways))
        g.dossier_page = result
        return None, result.rows

    def list_context(self, search, filters):
        """A digest of what the list shows (search, filters): a cursor is only followed on the
        list it was made for."""
        shown = repr((search or "", [(i, str(v)) for i, _n, v in filters or ()]))
        return hashlib.sha256(shown.encode()).hexdigest()[:16]

    def read_cursor(self, sort, desc, context):
        """The cursor of the page asked for; None (the first page) when there is none, or when
        it belongs to another sort, search or filter (a link kept from before a change), and
        with a message when it is not one of ours."""
        token = request.args.get(CURSOR_ARG)
        if not token:
            return None
        try:
            cursor = keyset.decode(token, sort, desc, context)
        except keyset.OtherList:
            return None
        except keyset.BadCursor:
            flash(_("Ce lien de page n'est pas valable : voici la première page de la liste."))
            return None
        return cursor

    def page_url(self, cursor):
        args = {k: v for k, v in request.args.items() if k not in (CURSOR_ARG, "page")}
        if cursor is not None:
            args[CURSOR_ARG] = cursor.encode()
        return url_for(".index_view", **args)

    def get_one(self, id):
        return self.full_query().where(Dossier.id == id).first()

    def render(self, template, **kwargs):
        if template == self.details_template and kwargs.get("model") is not None:
            kwargs = {**detail_context(kwargs["model"]), **kwargs}
        if template == self.list_template and "dossier_page" in g:
            result = g.dossier_page
            kwargs["keyset_page"] = {
                "number": result.number,
                "next": self.page_url(result.next) if result.next else None,
                "previous": self.page_url(result.previous) if result.previous else None,
                "first": self.page_url(None) if result.number > 1 else None,
            }
            # Every cell of the page formatted here, in one pass: the template's own per-cell
            # macros (editable? which formatter?) cost more than the page's query.
            context = {"return_url": kwargs.get("return_url")}
            columns = [c for c, _name in kwargs.get("list_columns", ())]
            formatters = [self.column_formatters.get(c) for c in columns]
            kwargs["select_title"] = admin_gettext("Select record")  # Flask-Admin's own text
            kwargs["list_cells"] = {
                row.id: [
                    cell(self, context, row, c, f) for c, f in zip(columns, formatters, strict=True)
                ]
                for row in kwargs.get("data", ())
            }
        return super().render(template, **kwargs)

    def detail_again(self, dossier, error):
        """The detail page again, with the refusal and what was typed (nothing is lost)."""
        flash(_("Action refusée : %(reason)s", reason=error), "error")
        return self.render(
            self.details_template,
            model=dossier,
            details_columns=self._details_columns,
            get_value=self.get_detail_value,
            return_url=self.get_url(".index_view"),
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

    @expose("/complement/<int:dossier_id>", methods=("POST",))
    def complement_view(self, dossier_id):
        dossier = self.dossier_or_404(dossier_id)
        form = processing.ComplementForm.for_definition(definition_of(dossier.definition))
        if not form.validate_on_submit():
            return self.detail_again(dossier, first_error(form))
        annexes = form.requested_list({value for value, _label in form.requested.choices})
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


def first_error(form):
    """The first validation message of `form`, for the flash that explains a refusal."""
    for name, errors in form.errors.items():
        if errors:
            label = form[name].label.text if name in form else ""
            return f"{label} : {errors[0]}" if label else str(errors[0])
    return _("le formulaire est incomplet.")


def procedures():
    """(code, title) of each procedure, by the title of its latest version; the title of every
    version is kept for the list's cells (one query for both, kept a while: kept_options)."""

    def read():
        titles, shown = {}, {}
        for row in ProcedureDefinition.select(
            ProcedureDefinition.id,
            ProcedureDefinition.code,
            ProcedureDefinition.title,
            ProcedureDefinition.version,
            ProcedureDefinition.yaml_text,
        ).order_by(ProcedureDefinition.version):
            titles[row.code] = title_of(row)
            shown[row.id] = f"{titles[row.code]} (v{row.version})"
        return sorted(titles.items(), key=lambda item: item[1]), shown

    options, shown = kept_options("procedures", read)
    list_formats().titles.update(shown)
    return options


def agent_options():
    return kept_options("agents", lambda: [(str(a.id), a.full_name) for a in operations.agents()])


def serve(data, name, inline=False):
    """A stored PDF (already checked against its SHA-256); `inline` opens it in the browser's
    viewer, sandboxed (no script, no same-origin access) since its content comes from a
    company."""
    return security_headers.download(data, name, inline=inline)


def detail_context(dossier):
    definition = definition_of(dossier.definition)
    return {
        "definition": definition,
        "answer_sections": display.answer_rows(
            definition, dossier.answers, prefill.company_context(dossier.company)
        ),
        "annex_label": display.annex_label,
        "history": StatusChange.select()
        .where(StatusChange.dossier == dossier)
        .order_by(StatusChange.created_at, StatusChange.id),
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
        "is_supervisor": current_staff().staff_role.value == "supervisor",
        "can_request": dossier.in_instruction,
    }


def assign_form(dossier):
    """The agents to choose from, the one assigned now chosen (until a choice is posted)."""
    form = processing.AssignForm()
    form.agent.choices = [(0, _("— personne —"))] + [
        (a.id, a.full_name) for a in operations.agents()
    ]
    if not form.is_submitted():
        form.agent.data = dossier.assigned_to_id or 0
    return form
