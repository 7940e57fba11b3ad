"""The audit log in the back-office (administrators and supervisors): read-only, newest first.
AuditEvent is append-only: nothing here creates, edits or deletes a row."""

from flask import g
from flask_admin.contrib.peewee.filters import FilterEqual, FilterLike
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import JOIN

from backoffice.base import StaffModelView
from backoffice.columns import datetime_column
from models import ActorKind, AuditEvent, Dossier, Person, StaffRole, StaffUser

ACTOR_KIND_LABELS = {
    ActorKind.APPLICANT: _l("Usager"),
    ActorKind.STAFF: _l("Personnel"),
    ActorKind.SYSTEM: _l("Système"),
    ActorKind.API: _l("API"),
}


def actor_column(view, context, model, name):
    if model.actor_staff_id:
        return model.actor_staff.full_name
    if model.actor_person_id:
        return model.actor_person.full_name
    if model.actor_kind == ActorKind.API:
        return (model.details or {}).get("token", "")
    return ""


def actor_kind_column(view, context, model, name):
    try:
        return ACTOR_KIND_LABELS[ActorKind(model.actor_kind)]
    except ValueError:
        return model.actor_kind


TARGET_LABELS = {
    "Dossier": _l("Dossier"),
    "Company": _l("Entreprise"),
    "Person": _l("Personne"),
    "Membership": _l("Accès"),
    "StaffUser": _l("Membre du personnel"),
    "ProcedureDefinition": _l("Formulaire"),
    "OutboxMessage": _l("E-mail"),
    "ApiToken": _l("Jeton d'API"),
    "Label": _l("Étiquette"),
}
LONGEST_DETAIL = 200


def target_column(view, context, model, name):
    if not model.target_type:
        return ""
    label = TARGET_LABELS.get(model.target_type, model.target_type)
    if model.target_type == "Dossier":
        reference = g.get("audit_references", {}).get(model.target_id)
        if reference:
            return f"{label} {reference}"
    return f"{label} n° {model.target_id}"


def details_column(view, context, model, name):
    parts = []
    for key, value in sorted((model.details or {}).items()):
        if key == "results" and isinstance(value, list):  # a bulk action's per-dossier outcome
            value = _("%(n)s dossier(s)", n=len(value))
        text = str(value)
        if len(text) > LONGEST_DETAIL:
            text = text[:LONGEST_DETAIL] + "…"
        parts.append(f"{key} : {text}")
    return "; ".join(parts)


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
        return _("Référence d'un dossier ou identifiant de la cible")

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
        """The search box finds a target by its exact id (a LIKE would find 12 for 1) or a
        dossier by its reference; the dossiers' references are read in one query."""
        count, query = super().get_list(
            page, sort_column, sort_desc, None, filters, execute=False, page_size=page_size
        )
        if search and search.strip():
            wanted = search.strip()
            dossier = Dossier.get_or_none(Dossier.reference == wanted.upper())
            if dossier is not None:
                query = query.where(
                    AuditEvent.target_type == "Dossier", AuditEvent.target_id == str(dossier.id)
                )
            else:
                query = query.where(AuditEvent.target_id == wanted)
        if not execute:
            return count, query
        rows = list(query.execute())
        ids = {r.target_id for r in rows if r.target_type == "Dossier" and r.target_id.isdigit()}
        references = (
            Dossier.select(Dossier.id, Dossier.reference)
            .where(Dossier.id.in_([int(i) for i in ids]), Dossier.reference.is_null(False))
            .tuples()
            if ids
            else []
        )
        g.audit_references = {str(id_): reference for id_, reference in references}
        return count, rows
