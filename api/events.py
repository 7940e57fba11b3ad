"""GET /api/v1/events: every status change, message, complement and access change, in the
order they were committed, for a system that keeps up with the dossiers by itself.

The feed is read from a cursor, the signed position of the last event a caller has: a system
that was down calls again with the cursor it kept and gets what it missed, in the same order,
once each (`dossiers.events`: positions are given after commit, so that a transaction that
commits late is never passed over). A token limited to procedures reads their dossiers' events
only (not the companies' access changes).
"""

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeSerializer

from api.auth import current_token, token_required
from api.base import ApiBlueprint
from api.problems import URL_PREFIX, Problem
from api.schemas import EventPageSchema, EventQuerySchema
from dossiers import events

bp = ApiBlueprint(
    "api_events",
    __name__,
    url_prefix=f"{URL_PREFIX}/events",
    description="What happened to the dossiers, in order, from a cursor.",
)
SALT = "api-v1-events"


def serializer():
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def cursor_of(position):
    return serializer().dumps(["events", int(position)])


def position_of(cursor):
    if not cursor:
        return 0
    try:
        kind, position = serializer().loads(cursor)
        if kind != "events" or not isinstance(position, int) or position < 0:
            raise ValueError(cursor)
    except (BadData, TypeError, ValueError):
        raise Problem(
            "invalid-cursor", _("Ce curseur n'a pas été produit par ce flux."), field="after"
        ) from None
    return position


@bp.route("")
@token_required()
@bp.arguments(EventQuerySchema, location="query", as_kwargs=False)
@bp.response(200, EventPageSchema)
def list_events(args):
    """The events after the cursor `after`, oldest first. Call again with `next_cursor` (as a
    loop, or after a pause when `items` is empty): each event comes once, in the same order
    for every caller; a gap in a dossier's `sequence` would show a lost one."""
    after = position_of(args.get("after"))
    found = events.read(
        after, args["limit"], procedures=current_token().procedures, types=args.get("type")
    )
    last = found[-1].position if found else after
    return {"items": [events.payload(e) for e in found], "next_cursor": cursor_of(last)}
