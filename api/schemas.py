"""The marshmallow schemas of the API: they parse and check what a call sends (webargs, through
flask-smorest) and shape what it answers, and the OpenAPI document is generated from them, so
that the code and its documentation cannot drift apart.

Times are UTC, written with their offset (`2026-12-03T06:10:00+00:00`); a time given without
one is read as UTC.
"""

import re
from datetime import UTC

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from webargs.fields import DelimitedList

from dossiers.processing import MAX_TEXT
from models import STAFF_STATUSES, ApiScope, Decision, EventType, Message

ENTERPRISE_NUMBER = re.compile(r"^\d{4}\.?\d{3}\.?\d{3}$")
MAX_PAGE = 100
MAX_REQUESTED, MAX_REQUESTED_TEXT = 50, 200  # documents asked for by one complement request
DEFAULT_PAGE = 50


class UtcDateTime(fields.DateTime):
    """A naive UTC time of the database, written with its offset; read back in UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.replace(tzinfo=UTC).isoformat()

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        return moment.replace(tzinfo=None)


def described(text, **extra):
    return {"metadata": {"description": text, **extra}}


class FieldError(Schema):
    field = fields.String(required=True, **described("The parameter or field refused."))
    location = fields.String(
        data_key="in", **described("Where it was: query, path, json, headers.")
    )
    detail = fields.String(required=True, **described("Why it was refused."))


class ProblemSchema(Schema):
    """An error (RFC 9457 problem details)."""

    class Meta:
        name = "Problem"

    type = fields.String(required=True, **described("Stable URI of the kind of problem."))
    title = fields.String(required=True, **described("The kind, in the caller's language."))
    status = fields.Integer(required=True)
    detail = fields.String(**described("What happened in this call."))
    instance = fields.String(**described("The path called."))
    field = fields.String(**described("The parameter refused, for a validation error."))
    errors = fields.List(fields.Nested(FieldError), **described("Every field refused."))
    current_status = fields.String(
        validate=validate.OneOf([s.value for s in STAFF_STATUSES]),
        **described("For a change of status refused: the dossier's status now."),
    )


# --- procedures -----------------------------------------------------------------------------


class ProcedureSchema(Schema):
    class Meta:
        name = "Procedure"

    code = fields.String(required=True, **described("e.g. `enregistrement`"))
    title = fields.String(required=True, **described("Of the latest published version."))
    latest_version = fields.Integer(required=True)
    versions = fields.List(fields.Integer(), required=True, **described("Published versions."))
    url = fields.String(required=True, **described("The latest version's definition."))


class ProcedureListSchema(Schema):
    items = fields.List(fields.Nested(ProcedureSchema), required=True)


class ProcedureVersionSchema(Schema):
    class Meta:
        name = "ProcedureVersion"

    code = fields.String(required=True)
    version = fields.Integer(required=True)
    title = fields.String(required=True)
    reference_prefix = fields.String(required=True)
    published_at = UtcDateTime(allow_none=True)
    definition = fields.Dict(
        required=True,
        **described(
            "The definition as written in its YAML document (see docs/PROCEDURE_FORMAT.md): "
            "sections, fields, rules, annexes, texts per language."
        ),
    )


# --- dossiers -------------------------------------------------------------------------------


class ProcedureRef(Schema):
    code = fields.String(required=True)
    version = fields.Integer(required=True)
    title = fields.String(required=True)


class CompanyRef(Schema):
    enterprise_number = fields.String(required=True, **described("BCE/KBO, 10 digits."))
    name = fields.String(required=True)


class DossierSummarySchema(Schema):
    class Meta:
        name = "DossierSummary"

    id = fields.Integer(required=True)
    reference = fields.String(required=True, **described("e.g. `ENR-2026-000042`"))
    status = fields.String(
        required=True, validate=validate.OneOf([s.value for s in STAFF_STATUSES])
    )
    status_label = fields.String(required=True, **described("In the caller's language."))
    procedure = fields.Nested(ProcedureRef, required=True)
    company = fields.Nested(CompanyRef, required=True)
    submitted_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)
    closed_at = UtcDateTime(allow_none=True)
    decision = fields.String(allow_none=True, validate=validate.OneOf([d.value for d in Decision]))
    assigned_to = fields.String(allow_none=True, **described("The staff member's name."))
    url = fields.String(required=True)


class DossierPageSchema(Schema):
    class Meta:
        name = "DossierPage"

    items = fields.List(fields.Nested(DossierSummarySchema), required=True)
    next_cursor = fields.String(
        allow_none=True, required=True, **described("Give it as `cursor` for the next page.")
    )
    next = fields.String(allow_none=True, required=True, **described("The next page's URL."))


class AnswerSchema(Schema):
    section = fields.String(required=True, **described("The section's key."))
    key = fields.String(required=True, **described("The field's key in the definition."))
    label = fields.String(required=True, **described("In the caller's language."))
    value = fields.Raw(allow_none=True, **described("As stored (a group: a list of objects)."))
    text = fields.String(required=True, **described("As people read it."))


class AnnexSchema(Schema):
    id = fields.Integer(required=True)
    requirement = fields.String(required=True, **described("The annex kind's key."))
    requirement_label = fields.String(required=True)
    name = fields.String(required=True, **described("The file's name as sent."))
    size = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    uploaded_at = UtcDateTime(required=True)
    frozen = fields.Boolean(required=True, **described("Signed with the dossier, or answered."))
    scan_status = fields.String(required=True, **described("pending, clean, infected, error"))
    message_id = fields.Integer(allow_none=True, **described("The reply it came with."))
    url = fields.String(allow_none=True, **described("Its download, once scanned clean."))


class HistorySchema(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String(required=True)
    at = UtcDateTime(required=True)
    actor_kind = fields.String(required=True, **described("applicant, staff, system or api"))
    actor = fields.String(
        required=True, **described("A person's or staff member's name; a token's: `API · <name>`.")
    )
    comment = fields.String(allow_none=True)


class MessageSchema(Schema):
    id = fields.Integer(required=True)
    direction = fields.String(
        required=True, validate=validate.OneOf([Message.TO_COMPANY, Message.FROM_COMPANY])
    )
    author = fields.String(
        required=True, **described("A person's or staff member's name; a token's: `API · <name>`.")
    )
    body = fields.String(required=True)
    complement_request = fields.Boolean(required=True)
    requested_annexes = fields.List(fields.String(), required=True)
    in_reply_to = fields.Integer(allow_none=True)
    created_at = UtcDateTime(required=True)
    answered_at = UtcDateTime(allow_none=True)


class DocumentSchema(Schema):
    sha256 = fields.String(required=True)
    size = fields.Integer(required=True)
    created_at = UtcDateTime(required=True)
    url = fields.String(required=True)


class DocumentsSchema(Schema):
    receipt = fields.Nested(DocumentSchema, allow_none=True, required=True)
    letter = fields.Nested(
        DocumentSchema, allow_none=True, required=True, **described("Of the current closing.")
    )


class SignatureSchema(Schema):
    signed_by = fields.String(required=True)
    method = fields.String(allow_none=True)
    signed_at = UtcDateTime(required=True)
    answers_sha256 = fields.String(required=True)
    digest = fields.String(required=True)


class DossierSchema(DossierSummarySchema):
    class Meta:
        name = "Dossier"

    answers = fields.List(fields.Nested(AnswerSchema), required=True)
    annexes = fields.List(fields.Nested(AnnexSchema), required=True)
    history = fields.List(fields.Nested(HistorySchema), required=True)
    messages = fields.List(fields.Nested(MessageSchema), required=True)
    documents = fields.Nested(DocumentsSchema, required=True)
    signature = fields.Nested(SignatureSchema, allow_none=True, required=True)


SORTS = ("updated_at", "-updated_at", "submitted_at", "-submitted_at")


class DossierQuerySchema(Schema):
    """The filters of the dossier list (all optional, combined with AND)."""

    class Meta:
        unknown = RAISE

    procedure = fields.String(
        validate=validate.Length(min=1, max=64), **described("A procedure code.")
    )
    status = DelimitedList(
        fields.String(validate=validate.OneOf([s.value for s in STAFF_STATUSES])),
        validate=validate.Length(min=1),
        **described("One status or several, comma-separated: `received,processing`."),
    )
    company = fields.String(
        validate=validate.Regexp(ENTERPRISE_NUMBER, error="Not an enterprise number."),
        **described("Enterprise number (BCE/KBO), with or without dots: `0123.456.749`."),
    )
    submitted_from = fields.Date(**described("Submitted on or after this day (UTC)."))
    submitted_to = fields.Date(**described("Submitted on or before this day (UTC)."))
    updated_from = fields.Date(**described("Last changed on or after this day (UTC)."))
    updated_to = fields.Date(**described("Last changed on or before this day (UTC)."))
    updated_since = UtcDateTime(
        **described("Last changed at or after this moment: what a system that syncs asks for.")
    )
    sort = fields.String(
        load_default="updated_at",
        validate=validate.OneOf(SORTS),
        **described("The order; `-` for newest first. Default: oldest change first."),
    )
    limit = fields.Integer(
        load_default=DEFAULT_PAGE,
        validate=validate.Range(min=1, max=MAX_PAGE),
        **described(f"Dossiers per page, at most {MAX_PAGE}."),
    )
    cursor = fields.String(
        validate=validate.Length(min=1, max=1000),
        **described("The `next_cursor` of the previous page, with the same filters and sort."),
    )

    @validates_schema
    def check_ranges(self, data, **kwargs):
        for start, end in (("submitted_from", "submitted_to"), ("updated_from", "updated_to")):
            if start in data and end in data and data[start] > data[end]:
                raise ValidationError(f"Must not be before {start}.", end)


# --- acting on dossiers ---------------------------------------------------------------------


def text_field(description):
    return fields.String(
        required=True, validate=validate.Length(min=1, max=MAX_TEXT), **described(description)
    )


class CloseSchema(Schema):
    """Closing a dossier being processed: the decision and its motivation."""

    class Meta:
        name = "Close"

    decision = fields.String(required=True, validate=validate.OneOf([d.value for d in Decision]))
    motivation = text_field(
        f"Why this decision, at most {MAX_TEXT} characters: it goes into the decision letter."
    )


class ReopenSchema(Schema):
    class Meta:
        name = "Reopen"

    reason = text_field(f"Why the closed dossier is reopened, at most {MAX_TEXT} characters.")


class MessageInSchema(Schema):
    """A message to the company, or a complement request."""

    class Meta:
        name = "NewMessage"

    body = text_field(f"The text the company reads, at most {MAX_TEXT} characters.")
    complement = fields.Boolean(
        load_default=False,
        **described("A complement request (the dossier received or being processed)."),
    )
    requested_annexes = fields.List(
        fields.String(validate=validate.Length(min=1, max=MAX_REQUESTED_TEXT)),
        load_default=list,
        validate=validate.Length(max=MAX_REQUESTED),
        **described(
            "The documents asked for, as the company reads them (the annexes' labels in the "
            "procedure's definition, or texts)."
        ),
    )


class TokenInfoSchema(Schema):
    class Meta:
        name = "TokenInfo"

    name = fields.String(required=True)
    scope = fields.String(required=True, validate=validate.OneOf([s.value for s in ApiScope]))
    procedures = fields.List(fields.String(), required=True, **described("Empty: every one."))


# --- events ---------------------------------------------------------------------------------

MAX_EVENTS = 500
DEFAULT_EVENTS = 100


class EventQuerySchema(Schema):
    """Where the feed is read from, and which events."""

    class Meta:
        unknown = RAISE

    after = fields.String(
        validate=validate.Length(min=1, max=200),
        **described(
            "The `next_cursor` of the previous call; none: from the first event. Keep it: a "
            "system that was down goes on from there."
        ),
    )
    type = DelimitedList(
        fields.String(validate=validate.OneOf([t.value for t in EventType])),
        validate=validate.Length(min=1),
        **described("One type or several, comma-separated: `dossier.submitted,dossier.closed`."),
    )
    limit = fields.Integer(
        load_default=DEFAULT_EVENTS,
        validate=validate.Range(min=1, max=MAX_EVENTS),
        **described(f"Events per call, at most {MAX_EVENTS}."),
    )


class EventActorSchema(Schema):
    kind = fields.String(required=True, **described("applicant, staff, system or api"))
    label = fields.String(allow_none=True, **described("A staff member's or a token's name."))


class EventSchema(Schema):
    class Meta:
        name = "Event"

    id = fields.Integer(required=True, **described("Unique: a receiver ignores one it has seen."))
    type = fields.String(required=True, validate=validate.OneOf([t.value for t in EventType]))
    position = fields.Integer(required=True, **described("The event's place in the feed."))
    dossier_id = fields.Integer(allow_none=True)
    sequence = fields.Integer(
        allow_none=True, **described("1, 2, 3… per dossier, with no gap: a gap is a lost event.")
    )
    procedure = fields.String(allow_none=True, **described("The dossier's procedure code."))
    actor = fields.Nested(EventActorSchema, required=True)
    created_at = fields.String(required=True, **described("When the change was made (UTC)."))
    data = fields.Dict(required=True, **described("What changed: status, reference, ids."))


class EventPageSchema(Schema):
    class Meta:
        name = "EventPage"

    items = fields.List(fields.Nested(EventSchema), required=True)
    next_cursor = fields.String(
        required=True,
        **described(
            "Give it as `after` in the next call, even when no event came: it stays where the "
            "feed is."
        ),
    )
