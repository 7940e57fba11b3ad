"""GET /api/v1/token: the token the call is made with (a first call to check a set-up)."""

from api.auth import current_token, token_required
from api.base import ApiBlueprint
from api.problems import URL_PREFIX
from api.schemas import TokenInfoSchema

bp = ApiBlueprint(
    "api_token", __name__, url_prefix=f"{URL_PREFIX}/token", description="The calling token."
)


@bp.route("")
@token_required()
@bp.response(200, TokenInfoSchema)
def who_am_i():
    """The calling token: its name, scope and procedures."""
    token = current_token()
    return {"name": token.name, "scope": token.scope, "procedures": token.procedures}
