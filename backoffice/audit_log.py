"""The audit log in the back-office (administrators and supervisors): read-only, newest first.
AuditEvent is append-only: nothing here creates, edits or deletes a row."""

from flask_admin.contrib.peewee.filters import FilterEqual, FilterLike
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import JOIN

from backoffice.access import StaffModelView
from backoffice.columns import datetime_column
from models import ActorKind, AuditEvent, Person, StaffRole, StaffUser

ACTOR_KIND_LABELS = {
    ActorKind.APPLICANT: _l("Usager"),
    ActorKind.STAFF: _l("Personnel"),
    ActorKind.SYSTEM: _l("Système"),
}


def actor_column(view, context, model, name):
    if model.actor_staff_id:
        return model.actor_staff.full_name
    if model.actor_person_id:
        return model.actor_person.full_name
    return ""


def actor_kind_column(view, context, model, name):
    try:
        return ACTOR_KIND_LABELS[ActorKind(model.actor_kind)]
    except ValueError:
        return model.actor_kind


def target_column(view, context, model, name):
    return f"{model.target_type} {model.target_id}" if model.target_type else ""


def details_column(view, context, model, name):
    return "; ".join(f"{key} : {value}" for key, value in sorted((model.details or {}).items()))


class AuditLogView(StaffModelView):
    allowed_roles = frozenset({StaffRole.ADMIN, StaffRole.SUPERVISOR})
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True
    column_list = (
        "created_at",
        "action",
        "actor_kind",
        "actor",
        "target",
        "details",
        "ip_address",
    )
    column_details_list = column_list
    column_labels = {
        "created_at": _l("Date"),
        "action": _l("Action"),
        "actor_kind": _l("Type d'acteur"),
        "actor": _l("Acteur"),
        "target": _l("Cible"),
        "target_id": _l("Identifiant de la cible"),
        "details": _l("Détails"),
        "ip_address": _l("Adresse IP"),
    }
    column_default_sort = [("created_at", True), ("id", True)]
    column_sortable_list = ("created_at", "action")
    column_searchable_list = (AuditEvent.target_id,)
    column_filters = (
        FilterEqual(AuditEvent.action, _l("Action")),
        FilterLike(AuditEvent.action, _l("Action")),
        FilterEqual(
            AuditEvent.actor_kind,
            _l("Type d'acteur"),
            options=[(k.value, label) for k, label in ACTOR_KIND_LABELS.items()],
        ),
        AuditEvent.created_at,
    )
    column_formatters = {
        "created_at": datetime_column,
        "actor": actor_column,
        "actor_kind": actor_kind_column,
        "target": target_column,
        "details": details_column,
    }

    def search_placeholder(self):
        return _("Identifiant exact de la cible")

    def get_query(self):
        return (
            AuditEvent.select(AuditEvent, StaffUser, Person)
            .join(StaffUser, JOIN.LEFT_OUTER, on=AuditEvent.actor_staff)
            .switch(AuditEvent)
            .join(Person, JOIN.LEFT_OUTER, on=AuditEvent.actor_person)
            .switch(AuditEvent)
        )

    def get_one(self, id):
        return self.get_query().where(AuditEvent.id == id).first()

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True, page_size=None):
        """The search box finds a target by its exact id (a LIKE would find 12 for 1)."""
        count, query = super().get_list(
            page, sort_column, sort_desc, None, filters, execute=False, page_size=page_size
        )
        if search and search.strip():
            query = query.where(AuditEvent.target_id == search.strip())
        return count, (list(query.execute()) if execute else query)
