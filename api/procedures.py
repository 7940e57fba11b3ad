"""GET /api/v1/procedures: the published procedures the token may see, and one version's
definition."""

import yaml
from flask import url_for

from api.auth import current_token, token_required
from api.base import ApiBlueprint
from api.problems import URL_PREFIX, Problem
from api.schemas import ProcedureListSchema, ProcedureVersionSchema
from models import ProcedureDefinition
from procedures import title_of

bp = ApiBlueprint(
    "api_procedures",
    __name__,
    url_prefix=f"{URL_PREFIX}/procedures",
    description="Procedures (form definitions) and their versions.",
)


def published():
    """The published versions the token may see, oldest first."""
    query = ProcedureDefinition.select().where(ProcedureDefinition.published == True)  # noqa: E712
    if current_token().procedures:
        query = query.where(ProcedureDefinition.code.in_(current_token().procedures))
    return query.order_by(ProcedureDefinition.code, ProcedureDefinition.version)


def version_url(code, version):
    return url_for("api_procedures.get_version", code=code, version=version)


@bp.route("")
@token_required()
@bp.response(200, ProcedureListSchema)
def list_procedures():
    """Every procedure the token may see, with its published versions."""
    by_code = {}
    for row in published():
        by_code.setdefault(row.code, []).append(row)
    items = [
        {
            "code": code,
            "title": title_of(rows[-1]),
            "latest_version": rows[-1].version,
            "versions": [r.version for r in rows],
            "url": version_url(code, rows[-1].version),
        }
        for code, rows in sorted(by_code.items())
    ]
    return {"items": items}


@bp.route("/<code>/versions/<int(max=2147483647):version>")
@token_required()
@bp.response(200, ProcedureVersionSchema)
@bp.doc(responses={"404": "NOT_FOUND"})
def get_version(code, version):
    """One published version of a procedure: its definition, as its dossiers were filled."""
    row = (
        published()
        .where(ProcedureDefinition.code == code, ProcedureDefinition.version == version)
        .first()
    )
    if row is None:
        raise Problem("not-found")
    return {
        "code": row.code,
        "version": row.version,
        "title": title_of(row),
        "reference_prefix": row.reference_prefix,
        "published_at": row.published_at,
        "definition": yaml.safe_load(row.yaml_text),
    }
