"""The staff dossier list's filters and the option lists and cells they go with (labels,
annotations, following, deadlines, groups): each filter an IN or a range on its own index."""

from flask_admin.contrib.peewee.filters import BasePeeweeFilter, FilterEqual, FilterLike
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from auth import current_staff
from backoffice.columns import kept_options, list_formats
from dossiers import annotations as dossier_annotations
from dossiers import groups
from dossiers import processing as operations
from dossiers import search as dossier_search
from models import (
    INSTRUCTION_STATUSES,
    Dossier,
    DossierFollow,
    DossierLabel,
    Label,
    ProcedureDefinition,
    brussels_day,
    fold,
    remaining_days,
    utcnow,
)
from procedures import title_of


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


class LabelFilter(FilterEqual):
    """The dossiers bearing a label: an IN on the (label, dossier) index, no join."""

    def clean(self, value):
        return int(value) if str(value).isdigit() else 0

    def apply(self, query, value):
        bearing = DossierLabel.select(DossierLabel.dossier).where(DossierLabel.label == value)
        return query.where(Dossier.id.in_(bearing))


class AnnotationFilter(FilterEqual):
    """The dossiers whose private annotation equals a value ("key=value": an option of a
    choice or yes/no annotation, or typed, e.g. `visit_date=2026-11-30`): an IN on the
    (key, value_text, dossier) index, no join."""

    def apply(self, query, value):
        return query.where(Dossier.id.in_(dossier_annotations.bearing(value)))


def annotation_options():
    return kept_options("annotations", dossier_annotations.filter_options)


def annotations_formatter(view, context, model, name):
    """The row's private annotations, read for the whole page at once (list_page_args)."""
    return dossier_annotations.shown_text(context.get("annotations", {}).get(model.id, ()))


ANNOTATION_COLUMN = dossier_annotations.PREFIX  # "annotation-<key>": one annotation's column


def annotation_formatter(view, context, model, name):
    """One annotation of the row (a column of the list filtered on one procedure)."""
    shown = context.get("annotations", {}).get(model.id, ())
    return dossier_annotations.shown_value(shown, name.removeprefix(ANNOTATION_COLUMN))


def with_annotation_columns(columns, code):
    """The list's or the export's (name, label) columns; filtered on one procedure (`code`),
    the single "annotations" column becomes one column per annotation it declares."""
    if code is None:
        return columns
    shown = []
    for name, label in columns:
        if name == "annotations":
            shown += [
                (ANNOTATION_COLUMN + key, label)
                for key, label in dossier_annotations.fields_of_procedure(code)
            ]
        else:
            shown.append((name, label))
    return shown


def one_procedure(view_filters, filters):
    """The procedure code the list is filtered on (the "Procédure" filter), when it is exactly
    one; `filters` are (index, name, value) as the list and the export's args give them."""
    codes = {
        str(value) for index, _name, value in filters or () if view_filters[index] is BY_PROCEDURE
    }
    return codes.pop() if len(codes) == 1 else None


class FollowedFilter(FilterEqual):
    """The dossiers the staff member follows: an IN on the (staff, dossier) index, no join."""

    def clean(self, value):
        return str(value) == FOLLOWED

    def apply(self, query, value):
        if not value:
            return query
        followed = DossierFollow.select(DossierFollow.dossier).where(
            DossierFollow.staff == current_staff().id
        )
        return query.where(Dossier.id.in_(followed))


FOLLOWED = "1"


class DeadlineFilter(FilterEqual):
    """The dossiers late against their legal deadline, or due within 7 days: read newest first
    on the index of the running clocks, their due date checked in it (migration 031)."""

    LATE, WEEK = "late", "week"

    def clean(self, value):
        return value if value in (self.LATE, self.WEEK) else self.LATE

    def apply(self, query, value):
        now = utcnow()
        if value == self.WEEK:
            return query.where(Dossier.is_due_within(now, 7))
        return query.where(Dossier.is_running_late(now))


def deadline_options():
    return [
        (DeadlineFilter.LATE, _("En retard")),
        (DeadlineFilter.WEEK, _("Échéance dans les 7 jours")),
    ]


def deadline_formatter(view, context, model, name):
    """The days left before the legal deadline (negative: late), or that its clock is paused."""
    if model.due_at is None or model.status not in INSTRUCTION_STATUSES:
        return ""
    if model.deadline_paused_at is not None:
        return _("en pause")
    left = remaining_days(model.due_at)
    if left < 0:
        return Markup('<span class="deadline-late">{}</span>').format(
            ngettext("%(num)d jour de retard", "%(num)d jours de retard", -left)
        )
    return ngettext("%(num)d jour", "%(num)d jours", left)


def deadline_summary(dossier):
    """The legal deadline as the dossier page shows it near its top ({"text", "late"}): its due
    date and the days left, or how late it is, or that its clock is suspended; None without a
    running deadline (none declared, or out of instruction)."""
    if dossier.due_at is None or dossier.status not in INSTRUCTION_STATUSES:
        return None
    if dossier.deadline_paused_at is not None:
        since = format_date(brussels_day(dossier.deadline_paused_at), "long")
        text = _(
            "suspendu depuis le %(date)s : une demande de compléments attend la réponse de "
            "l'entreprise.",
            date=since,
        )
        return {"text": text, "late": False}
    due, left = format_date(brussels_day(dossier.due_at), "long"), remaining_days(dossier.due_at)
    if left < 0:
        text = ngettext(
            "échéance le %(date)s, en retard de %(num)d jour.",
            "échéance le %(date)s, en retard de %(num)d jours.",
            -left,
            date=due,
        )
    else:
        text = ngettext(
            "échéance le %(date)s, %(num)d jour restant.",
            "échéance le %(date)s, %(num)d jours restants.",
            left,
            date=due,
        )
    return {"text": text, "late": left < 0}


def label_options():
    """(id, "procedure — label") of every label, kept a while like the other options."""

    def read():
        titles = dict(procedures())
        return [
            (str(label.id), f"{titles.get(label.procedure_code, label.procedure_code)} — {label}")
            for label in Label.select().order_by(Label.procedure_code, Label.name)
        ]

    return kept_options("labels", read)


def label_tags(labels):
    """The labels of a dossier as tags in their colours ((name, colour) pairs)."""
    return Markup(" ").join(
        Markup('<span class="bo-label label-{}">{}</span>').format(colour, name)
        for name, colour in labels
    )


def labels_formatter(view, context, model, name):
    """The row's labels, read for the whole page at once (list_page_args)."""
    return label_tags(context.get("labels", {}).get(model.id, ()))


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


def group_names():
    """{group id: name}, kept a while (kept_options), for the list's "Groupe" cells."""
    return kept_options("group_names", lambda: {g.id: g.name for g in groups.groups()})


def group_options():
    return [(str(i), name) for i, name in group_names().items()]


def group_formatter(view, context, model, name):
    return group_names().get(model.group_id, "")


def my_group_ids():
    """The groups of the staff member, kept a while as the filters' options are (no query on
    most pages; a change of members made on another node shows within OPTIONS_SECONDS)."""
    staff = current_staff()
    return kept_options(f"my_groups/{staff.id}", lambda: groups.my_group_ids(staff))


class InMyGroups(BasePeeweeFilter):
    """ "Mes groupes": the dossiers of the groups the staff member belongs to, read on the
    partial index of (group, submitted_at, id): in its order for one group, the ranges of a
    few groups merged. The background export, made by the worker (no staff member logged in),
    gets the groups written out (`written_out`): `groups:3,5`."""

    PREFIX = "groups:"

    def written_out(self):
        return self.PREFIX + ",".join(str(i) for i in my_group_ids())

    def apply(self, query, value):
        value = str(value)
        if value.startswith(self.PREFIX):
            ids = [int(i) for i in value[len(self.PREFIX) :].split(",") if i.isdigit()]
        else:
            ids = my_group_ids()
        if len(ids) == 1:
            return query.where(Dossier.group == ids[0])
        # no group: nothing (a group that cannot exist keeps the query on the same index)
        return query.where(Dossier.group.in_(ids or [0]))

    def operation(self):
        return _l("de mes groupes")


DEADLINE = DeadlineFilter(Dossier.due_at, _l("Délai légal"), options=lambda: deadline_options())
BY_PROCEDURE = FilterEqual(ProcedureDefinition.code, _l("Procédure"), options=lambda: procedures())
MY_GROUPS = InMyGroups(Dossier.group, _l("Mes groupes"), options=[("1", _l("oui"))])
