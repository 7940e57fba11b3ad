"""The back-office dossier list at a million dossiers: the columns it reads (flat rows, no model
graph), its sorts paged by signed cursor (dossiers/keyset.py), its search and name filter
(dossiers/search.py), its filter options kept a while, and its cells formatted once per page.
`KeysetList` is the part of DossierView that reads and shows the list."""

import hashlib
from urllib.parse import urlencode

from flask import flash, g, request, url_for
from flask_admin.babel import gettext as admin_gettext
from flask_babel import format_datetime
from flask_babel import gettext as _
from markupsafe import Markup, escape
from peewee import JOIN

from backoffice.columns import list_formats
from backoffice.dossier_filters import (
    ANNOTATION_COLUMN,
    MY_GROUPS,
    FoldedLike,
    annotation_formatter,
    my_group_ids,
    one_procedure,
    with_annotation_columns,
)
from dossiers import annotations as dossier_annotations
from dossiers import keyset
from dossiers import labels as dossier_labels
from dossiers import search as dossier_search
from models import (
    Company,
    Dossier,
    ProcedureDefinition,
    StaffUser,
)
from procedures import title_of

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
    Dossier.group,
    Dossier.due_at,
    Dossier.deadline_paused_at,
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


class ListRow:
    """A row of the list's page: the values of ROW_COLUMNS, in order (read as tuples: no model
    to build for each row), then what a search counts after them (`extra`)."""

    __slots__ = (
        "agent_name",
        "assigned_to_id",
        "closed_at",
        "company_id",
        "company_name",
        "deadline_paused_at",
        "decision",
        "definition_id",
        "due_at",
        "extra",
        "group_id",
        "id",
        "procedure_title",
        "reference",
        "status",
        "submitted_at",
    )

    def __init__(self, values):
        (
            self.id,
            self.reference,
            self.status,
            self.submitted_at,
            self.decision,
            self.closed_at,
            self.company_id,
            self.definition_id,
            self.assigned_to_id,
            self.procedure_title,
            self.agent_name,
            self.group_id,
            self.due_at,
            self.deadline_paused_at,
            self.company_name,
        ) = values[: len(ROW_COLUMNS)]
        self.extra = values[len(ROW_COLUMNS) :]

    @property
    def definition(self):
        """The procedure version, read when a cell needs more than its title."""
        return ProcedureDefinition.get_by_id(self.definition_id)


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


def formats_of(context):
    """The page's ListFormats: handed by the list in its cells' context (no lookup of the
    request's globals for each cell), else the request's."""
    return context.get("formats") or list_formats()


def status_formatter(view, context, model, name):
    return formats_of(context).status[model.status]


def reference_link(view, context, model, name):
    """The list's way into a dossier: its reference, a link to its detail page (the address
    built once per page, the id put in for each row)."""
    formats = formats_of(context)
    back = context.get("return_url")
    if formats.details is None or formats.details[0] != back:
        formats.details = (back, view.get_url(".details_view"), urlencode({"url": back or ""}))
    _back, base, tail = formats.details
    url = f"{base}?id={model.id}&{tail}" if back else f"{base}?id={model.id}"
    # The address is ours (a number, a quoted return address); the reference is escaped.
    return Markup(f'<a href="{escape(url)}">{escape(model.reference)}</a>')  # noqa: S704


def cell(view, context, row, name, formatter):
    """A cell of the list: its formatter's, or the value itself (a company, an agent: their
    names), nothing for None; the template escapes what is not Markup."""
    value = formatter(view, context, row, name) if formatter else getattr(row, name)
    return "" if value is None else value


def export_datetime(value):
    """Brussels time, sortable as text (the database holds UTC)."""
    return format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""


def datetime_formatter(view, context, model, name):
    value = getattr(model, name)
    return formats_of(context).datetime(value) if value else ""


def definition_formatter(view, context, model, name):
    return formats_of(context).titles.get(model.definition_id) or (
        f"{title_of(model.definition)} (v{model.definition.version})"
    )


END_CELL = Markup("</td>")


def hits_of(row, i):
    """The count of the `i`th search condition, read with the page's first row."""
    return row.extra[i] if isinstance(row, ListRow) else getattr(row, f"hits{i}")


class KeysetList:
    """Flask-Admin's list of a ModelView, read by keyset pages and never counted."""

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
        # The list's page reads flat rows (ListRow); the exports, Flask-Admin's of a few rows
        # too, read the models their cells are made from.
        flat = execute and request.endpoint == f"{self.endpoint}.index_view"
        query = self.staff_query(*ROW_COLUMNS) if flat else self.get_query()
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
            if not flat:
                return keyset.page(
                    query, sort, bool(sort_desc), size, cursor, SORT_KEYS[sort.name], context
                )
            return keyset.page(
                query.tuples(),
                sort,
                bool(sort_desc),
                size,
                cursor,
                SORT_KEYS[sort.name],
                context,
                make=ListRow,
            )

        if not founds:
            result = read(query)
        else:  # the few found by a search or name filter, by id; the walk for more than CAP
            counted = [f.hits.alias(f"hits{i}") for i, f in enumerate(founds)]
            result = read(query.select_extend(*counted).where(*[f.narrow for f in founds]))
            hits = [
                hits_of(result.rows[0], i) if result.rows else f.hits.scalar()
                for i, f in enumerate(founds)
            ]
            if max(hits) > dossier_search.CAP:
                ways = [
                    f.wide if n > dossier_search.CAP else f.narrow
                    for f, n in zip(founds, hits, strict=True)
                ]
                result = read(query.where(*ways))
        g.dossier_page = result
        g.dossier_procedure = one_procedure(self._filters, filters)
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

    def list_page_args(self, kwargs):
        """What the list template shows of the page read by get_list: its links, and each row
        written here in one pass (the template's own per-cell macros, editable? which
        formatter?, cost more than the page's query)."""
        result = g.dossier_page
        kwargs["keyset_page"] = {
            "number": result.number,
            "next": self.page_url(result.next) if result.next else None,
            "previous": self.page_url(result.previous) if result.previous else None,
            "first": self.page_url(None) if result.number > 1 else None,
        }
        context = {
            "return_url": kwargs.get("return_url"),
            "formats": list_formats(),
            "labels": dossier_labels.labels_of_dossiers([row.id for row in kwargs.get("data", ())]),
            "annotations": dossier_annotations.shown_of_dossiers(
                (row.id, row.definition_id) for row in kwargs.get("data", ())
            ),
        }
        kwargs["list_columns"] = with_annotation_columns(
            kwargs.get("list_columns", ()), g.get("dossier_procedure")
        )
        columns = [c for c, _name in kwargs["list_columns"]]
        formatters = [
            annotation_formatter
            if c.startswith(ANNOTATION_COLUMN)
            else self.column_formatters.get(c)
            for c in columns
        ]
        opening = [Markup('<td class="col-{}">').format(c) for c in columns]
        # Flask-Admin's checkbox, its title (Flask-Admin's own text) escaped once; an id is a
        # number.
        title = str(escape(admin_gettext("Select record")))  # str: joined as text below
        checkbox = (
            '<td><input type="checkbox" name="rowid" class="action-checkbox" '
            'value="{}" title="' + title + '" /></td>'
            if kwargs.get("actions")
            else None
        )
        rows = {}
        for row in kwargs.get("data", ()):
            html = [checkbox.format(int(row.id))] if checkbox is not None else []
            for c, f, td in zip(columns, formatters, opening, strict=True):
                html += [td, escape(cell(self, context, row, c, f)), END_CELL]
            rows[row.id] = Markup("".join(html))  # noqa: S704 - every part escaped above
        kwargs["list_rows"] = rows
        kwargs["my_groups_url"] = self.my_groups_url()
        return kwargs

    def my_groups_url(self):
        """The list filtered on "Mes groupes", for a staff member who is in a group: the way to
        his groups' dossiers first."""
        if not my_group_ids():
            return None
        arg = self.get_filter_arg(self._filters.index(MY_GROUPS), MY_GROUPS)
        return url_for(".index_view", **{f"flt0_{arg}": "1"})
