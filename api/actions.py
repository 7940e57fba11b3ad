"""POST /api/v1/dossiers/<id>/receive, /start-processing, /close, /reopen and /messages: what
another system of the administration does to a dossier, with a token of scope `process`,
through the same services as the back-office (`dossiers.processing`, `dossiers.messages`):
the same checks, history, emails, audit row, event and documents, the token named as the actor.

A refusal of the services (`DossierRefused`) is answered by its reason: a transition that does
not start from the dossier's status is 409 `transition-not-allowed`, a change that came first
409 `concurrent-change` (both with the dossier's `current_status`), a field refused 400
`invalid-request` naming it, anything else not allowed now 409 `conflict`.
"""

from flask_babel import gettext as _

from api.auth import current_actor, token_required
from api.dossiers import bp, details, load_dossier, message_item, summary
from api.problems import Problem
from api.schemas import (
    CloseSchema,
    DossierSchema,
    MessageInSchema,
    MessageSchema,
    ReopenSchema,
)
from dossiers import DossierNotFound, DossierRefused, messages, processing
from models import ApiScope, Dossier

ID = "<int(max=2147483647):dossier_id>"
ERRORS = {"400": "BAD_REQUEST", "404": "NOT_FOUND", "409": "CONFLICT"}


def sentence(text):
    """The services' refusals are phrased to follow « Action refusée : »; alone, a sentence."""
    return text[:1].upper() + text[1:]


def problem_of(refused, dossier, fields=None, not_allowed="transition-not-allowed"):
    """The problem details of a service's refusal; `fields` renames the service's fields to
    those of the call (`comment` is a close's `motivation`)."""
    detail = sentence(str(refused))
    if isinstance(refused, DossierNotFound):
        return Problem("not-found", _("Aucun dossier n° %(id)s.", id=dossier.id))
    if refused.reason in (DossierRefused.NOT_ALLOWED, DossierRefused.CONCURRENT):
        status = Dossier.select(Dossier.status).where(Dossier.id == dossier.id).scalar()
        slug = not_allowed if refused.reason == DossierRefused.NOT_ALLOWED else "concurrent-change"
        return Problem(slug, detail, current_status=status)
    if refused.reason == DossierRefused.INVALID:
        field = (fields or {}).get(refused.field, refused.field)
        errors = [{"field": field, "in": "json", "detail": detail}] if field else None
        return Problem("invalid-request", detail, field=field, errors=errors)
    return Problem("conflict", detail)


def answer(dossier_id):
    dossier = load_dossier(dossier_id)
    return {**summary(dossier), **details(dossier)}


def transit(dossier_id, operation, *args, fields=None):
    dossier = load_dossier(dossier_id)
    try:
        operation(current_actor(), dossier, *args)
    except DossierRefused as refused:
        raise problem_of(refused, dossier, fields) from None
    return answer(dossier_id)


@bp.route(f"/{ID}/receive", methods=["POST"])
@token_required(ApiScope.PROCESS)
@bp.response(200, DossierSchema)
@bp.doc(responses=ERRORS)
def receive(dossier_id):
    """Receive a submitted dossier (Soumis → Réceptionné); the company is told by email."""
    return transit(dossier_id, processing.receive)


@bp.route(f"/{ID}/start-processing", methods=["POST"])
@token_required(ApiScope.PROCESS)
@bp.response(200, DossierSchema)
@bp.doc(responses=ERRORS)
def start_processing(dossier_id):
    """Start processing a received dossier (Réceptionné → En traitement)."""
    return transit(dossier_id, processing.start_processing)


@bp.route(f"/{ID}/close", methods=["POST"])
@token_required(ApiScope.PROCESS)
@bp.arguments(CloseSchema)
@bp.response(200, DossierSchema)
@bp.doc(responses=ERRORS)
def close(args, dossier_id):
    """Close a dossier being processed with a decision and its motivation (En traitement →
    Clôturé): a granted registration or approval gets its number, the decision letter is made
    and the company is told by email."""
    return transit(
        dossier_id,
        processing.close,
        args["decision"],
        args["motivation"],
        fields={"comment": "motivation"},
    )


@bp.route(f"/{ID}/reopen", methods=["POST"])
@token_required(ApiScope.PROCESS)
@bp.arguments(ReopenSchema)
@bp.response(200, DossierSchema)
@bp.doc(responses=ERRORS)
def reopen(args, dossier_id):
    """Reopen a closed dossier, saying why (Clôturé → En traitement): its decision is to be
    taken again."""
    return transit(dossier_id, processing.reopen, args["reason"], fields={"comment": "reason"})


@bp.route(f"/{ID}/messages", methods=["POST"])
@token_required(ApiScope.PROCESS)
@bp.arguments(MessageInSchema)
@bp.response(201, MessageSchema)
@bp.doc(responses=ERRORS)
def send_message(args, dossier_id):
    """Write to the company, or ask it for complements (`complement`, with the documents
    asked for): its users are told by email. The company reads the administration as the
    author; staff read the token's name."""
    dossier = load_dossier(dossier_id)
    try:
        message = messages.send_to_company(
            current_actor(),
            dossier,
            args["body"],
            args["complement"],
            args["requested_annexes"],
        )
    except DossierRefused as refused:
        raise problem_of(refused, dossier, not_allowed="conflict") from None
    return message_item(message)
