"""GET /api/v1/dossiers: the dossiers staff see (never a draft), filtered and paged by a
signed cursor; one dossier whole (its files are served by `api.files`, on this blueprint).

The list is keyset-paged like the staff list (`dossiers.keyset`): the cursor names the last row
of a page by its sort key and id, is signed with the app's key, and carries a digest of the
filters and sort it was made for, so that a changed cursor, or one given with other filters, is
refused (400 `invalid-cursor`) rather than skipping or repeating dossiers.
"""

import hashlib
import json
import re
from datetime import datetime, time, timedelta

from flask import request, url_for
from flask_babel import gettext as _
from peewee import JOIN

from api.auth import audit_target, current_token, token_required
from api.base import ApiBlueprint
from api.problems import URL_PREFIX, Problem
from api.schemas import DossierPageSchema, DossierQuerySchema, DossierSchema
from dossiers import keyset
from models import (
    Annex,
    Company,
    Document,
    Dossier,
    Message,
    ProcedureDefinition,
    Signature,
    StaffUser,
    StatusChange,
)
from procedures import definition_of, display, prefill, title_of

bp = ApiBlueprint(
    "api_dossiers",
    __name__,
    url_prefix=f"{URL_PREFIX}/dossiers",
    description="Dossiers (submitted ones only), their annexes and documents.",
)
SORTS = {
    "updated_at": keyset.Sort("updated_at", Dossier.updated_at),
    "submitted_at": keyset.Sort("submitted_at", Dossier.submitted_at),
}
CURSOR_CONTEXT = "api-v1:"


# What a list row shows: the dossier's own columns but its answers, and the few of its joins.
LIST_COLUMNS = (
    Dossier.id,
    Dossier.reference,
    Dossier.status,
    Dossier.submitted_at,
    Dossier.updated_at,
    Dossier.closed_at,
    Dossier.decision,
    Dossier.company,
    Dossier.definition,
    Dossier.assigned_to,
    ProcedureDefinition.id,
    ProcedureDefinition.code,
    ProcedureDefinition.version,
    Company.id,
    Company.enterprise_number,
    Company.name,
    StaffUser.id,
    StaffUser.full_name,
)


def visible(*columns):
    """The dossiers the calling token sees: those staff see, of its procedures (with their
    procedure, company and agent; every column unless told)."""
    columns = columns or (Dossier, ProcedureDefinition, Company, StaffUser)
    query = (
        Dossier.select(*columns)
        .join(ProcedureDefinition)
        .switch(Dossier)
        .join(Company)
        .switch(Dossier)
        .join(StaffUser, JOIN.LEFT_OUTER, on=Dossier.assigned_to)
        .where(Dossier.is_staff_visible())
    )
    if current_token().procedures:
        query = query.where(Dossier.definition.in_(versions_of(current_token().procedures)))
    return query


def versions_of(codes):
    """The ids of every version of these procedures: the dossiers are filtered on their own
    column (an index condition), not through the join."""
    return [
        row.id
        for row in ProcedureDefinition.select(ProcedureDefinition.id).where(
            ProcedureDefinition.code.in_(list(codes))
        )
    ]


def load_dossier(dossier_id):
    """The dossier, if the token sees it; else 404, as for one that does not exist."""
    dossier = visible().where(Dossier.id == dossier_id).first()
    if dossier is None:
        raise Problem("not-found", _("Aucun dossier n° %(id)s.", id=dossier_id))
    audit_target(dossier)
    return dossier


def day_start(day):
    return datetime.combine(day, time.min)


def filtered(query, args):
    """The list's filters; 403 for a procedure outside the token's, 400 for an unknown one."""
    if code := args.get("procedure"):
        if not current_token().allows_procedure(code):
            raise Problem(
                "forbidden",
                _("Ce jeton n'est pas autorisé pour la procédure « %(code)s ».", code=code),
                field="procedure",
            )
        versions = versions_of([code])
        if not versions:
            raise Problem(
                "invalid-request",
                _("Procédure inconnue : %(codes)s.", codes=code),
                field="procedure",
                errors=[{"field": "procedure", "in": "query", "detail": "Unknown procedure."}],
            )
        query = query.where(Dossier.definition.in_(versions))
    if statuses := args.get("status"):
        query = query.where(Dossier.status.in_(statuses))
    if number := args.get("company"):
        query = query.where(Company.enterprise_number == re.sub(r"\D", "", number))
    ranges = (
        ("submitted_from", Dossier.submitted_at, False),
        ("submitted_to", Dossier.submitted_at, True),
        ("updated_from", Dossier.updated_at, False),
        ("updated_to", Dossier.updated_at, True),
    )
    for name, column, is_end in ranges:
        if (day := args.get(name)) is not None:
            bound = day_start(day + timedelta(days=1) if is_end else day)
            query = query.where(column < bound if is_end else column >= bound)
    if (since := args.get("updated_since")) is not None:
        query = query.where(Dossier.updated_at >= since)
    if (day := args.get("submitted_from")) is not None:
        # A dossier changes when it is submitted and only later: submitted on or after a day,
        # it was last changed on or after it too. Said, this lets the list sorted by its last
        # change start its walk there instead of at the first dossier (0.5 s at a million).
        query = query.where(Dossier.updated_at >= day_start(day))
    return query


def cursor_context(args):
    """A digest of the filters and sort a cursor is made for (not the page size)."""
    kept = {k: v for k, v in args.items() if k not in ("cursor", "limit")}
    text = json.dumps(kept, sort_keys=True, default=str)
    return CURSOR_CONTEXT + hashlib.sha256(text.encode()).hexdigest()[:16]


def read_cursor(args, sort, desc, context):
    if not args.get("cursor"):
        return None
    try:
        cursor = keyset.decode(args["cursor"], sort, desc, context)
    except keyset.OtherList:
        raise Problem(
            "invalid-cursor",
            _("Ce curseur a été fait pour d'autres filtres ou un autre tri."),
            field="cursor",
        ) from None
    except keyset.BadCursor:
        raise Problem(
            "invalid-cursor", _("Ce curseur n'a pas été produit par cette liste."), field="cursor"
        ) from None
    if cursor.backwards:
        raise Problem("invalid-cursor", _("Ce curseur n'a pas été produit par cette liste."))
    return cursor


def titles_of(dossiers):
    """{definition id: title in the caller's language} for these dossiers, in one query."""
    ids = {d.definition_id for d in dossiers}
    rows = ProcedureDefinition.select().where(ProcedureDefinition.id.in_(list(ids))) if ids else []
    return {row.id: title_of(row) for row in rows}


def summary(dossier, titles=None):
    definition = dossier.definition
    title = titles[definition.id] if titles is not None else title_of(definition)
    return {
        "id": dossier.id,
        "reference": dossier.reference,
        "status": dossier.status,
        "status_label": str(dossier.state.label),
        "procedure": {
            "code": definition.code,
            "version": definition.version,
            "title": title,
        },
        "company": {
            "enterprise_number": dossier.company.enterprise_number,
            "name": dossier.company.name,
        },
        "submitted_at": dossier.submitted_at,
        "updated_at": dossier.updated_at,
        "closed_at": dossier.closed_at,
        "decision": dossier.decision,
        "assigned_to": dossier.assigned_to.full_name if dossier.assigned_to_id else None,
        "url": url_for("api_dossiers.get_dossier", dossier_id=dossier.id),
    }


@bp.route("")
@token_required()
@bp.arguments(DossierQuerySchema, location="query", as_kwargs=False)
@bp.response(200, DossierPageSchema)
def list_dossiers(args):
    """Dossiers, filtered, a page at a time: follow `next` (or give `next_cursor` as `cursor`,
    with the same filters) until it is null. Each dossier comes once in a walk through the
    pages, unless it changes meanwhile (then it comes again, in its new place)."""
    name = args["sort"].lstrip("-")
    sort, desc = SORTS[name], args["sort"].startswith("-")
    context = cursor_context(args)
    cursor = read_cursor(args, sort, desc, context)
    page = keyset.page(
        filtered(visible(*LIST_COLUMNS), args),
        sort,
        desc,
        args["limit"],
        cursor,
        key_of=lambda row: getattr(row, name),
        context=context,
    )
    titles = titles_of(page.rows)
    next_cursor = page.next.encode() if page.next is not None else None
    following = None
    if next_cursor:
        query = request.args.to_dict()
        query["cursor"] = next_cursor
        following = url_for("api_dossiers.list_dossiers", **query)
    return {
        "items": [summary(d, titles) for d in page.rows],
        "next_cursor": next_cursor,
        "next": following,
    }


@bp.route("/<int(max=2147483647):dossier_id>")
@token_required()
@bp.response(200, DossierSchema)
@bp.doc(responses={"404": "NOT_FOUND"})
def get_dossier(dossier_id):
    """One dossier: its answers (by key, with their labels), annexes, history, messages,
    signature and documents."""
    dossier = load_dossier(dossier_id)
    return {**summary(dossier), **details(dossier)}


def details(dossier):
    definition = definition_of(dossier.definition)
    answers = dossier.answers or {}
    rows = display.answer_rows(definition, answers, prefill.company_context(dossier.company))
    signature = Signature.get_or_none(Signature.dossier == dossier)
    return {
        "answers": [
            {
                "section": section.section.key,
                "key": row.key,
                "label": str(row.label),
                "value": answers.get(row.key),
                "text": row.value,
            }
            for section in rows
            for row in section.rows
        ],
        "annexes": [annex_item(dossier, definition, a) for a in annexes_of(dossier)],
        "history": [
            {
                "from_status": change.from_status,
                "to_status": change.to_status,
                "at": change.created_at,
                "actor_kind": change.actor_kind,
                "actor": str(change.actor_name),
                "comment": change.comment,
            }
            for change in StatusChange.select()
            .where(StatusChange.dossier == dossier)
            .order_by(StatusChange.created_at, StatusChange.id)
        ],
        "messages": [
            message_item(m)
            for m in Message.select()
            .where(Message.dossier == dossier)
            .order_by(Message.created_at, Message.id)
        ],
        "documents": {
            "receipt": document_item(
                Document.latest(dossier, Document.RECEIPT), "api_dossiers.get_receipt", dossier
            ),
            "letter": document_item(
                Document.current_letter(dossier), "api_dossiers.get_letter", dossier
            ),
        },
        "signature": signature_item(signature),
    }


def message_item(message):
    return {
        "id": message.id,
        "direction": message.direction,
        "author": message.author_name,
        "body": message.body,
        "complement_request": message.is_complement_request,
        "requested_annexes": message.requested_annexes or [],
        "in_reply_to": message.in_reply_to_id,
        "created_at": message.created_at,
        "answered_at": message.answered_at,
    }


def annexes_of(dossier):
    return Annex.select().where(Annex.dossier == dossier).order_by(Annex.uploaded_at, Annex.id)


def annex_item(dossier, definition, annex):
    return {
        "id": annex.id,
        "requirement": annex.requirement,
        "requirement_label": display.annex_label(definition, annex.requirement),
        "name": annex.original_name,
        "size": annex.size,
        "pages": annex.pages,
        "sha256": annex.sha256,
        "uploaded_at": annex.uploaded_at,
        "frozen": annex.frozen,
        "scan_status": annex.scan_status,
        "message_id": annex.message_id,
        "url": url_for("api_dossiers.get_annex", dossier_id=dossier.id, annex_id=annex.id)
        if annex.is_clean
        else None,
    }


def document_item(document, endpoint, dossier):
    if document is None:
        return None
    return {
        "sha256": document.sha256,
        "size": document.size,
        "created_at": document.created_at,
        "url": url_for(endpoint, dossier_id=dossier.id),
    }


def signature_item(signature):
    if signature is None:
        return None
    return {
        "signed_by": signature.person.full_name,
        "method": signature.auth_method,
        "signed_at": signature.signed_at,
        "answers_sha256": signature.answers_sha256,
        "digest": signature.digest,
    }
