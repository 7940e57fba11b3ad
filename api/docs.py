"""The API's OpenAPI 3.1 document (`/api/v1/openapi.json`), generated from the schemas the code
validates with, and its documentation page (`/api/v1/docs`), drawn on the server from that same
document: no script, nothing loaded from elsewhere (the CSP allows neither). Each problem type
(`/api/v1/problems/<slug>`) leads to its entry on that page."""

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_babel import get_locale
from markupsafe import Markup, escape

from api.problems import KINDS, URL_PREFIX, Problem

bp = Blueprint(
    "api_docs",
    __name__,
    url_prefix=URL_PREFIX,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
METHODS = ("get", "post", "put", "patch", "delete")


def spec():
    return current_app.extensions["flask-smorest"]["apis"][""]["ext_obj"].spec.to_dict()


@bp.route("/openapi.json")
def openapi_json():
    return current_app.response_class(current_app.json.dumps(spec()), mimetype="application/json")


@bp.route("/docs")
def page():
    document = spec()
    operations = [
        (
            path,
            method,
            item[method],
            item.get("parameters", []) + item[method].get("parameters", []),
        )
        for path, item in document.get("paths", {}).items()
        for method in METHODS
        if method in item
    ]
    return render_template(
        "api/docs.html",
        document=document,
        operations=operations,
        schemas=document.get("components", {}).get("schemas", {}),
        kinds=KINDS.values(),
        type_of=type_of,
        lang=get_locale(),
    )


@bp.route("/problems/<slug>")
def problem_type(slug):
    if slug not in KINDS:
        raise Problem("not-found")
    return redirect(url_for(".page", _anchor=f"problem-{slug}"))


def ref_name(ref):
    return ref.rsplit("/", 1)[-1]


def type_of(schema):
    """A JSON Schema as a short text: `string (date-time)`, `array of Dossier` (linked to the
    schema's entry), `"a" | "b"`."""
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        name = ref_name(schema["$ref"])
        return Markup('<a href="#schema-{0}">{0}</a>').format(name)
    if "enum" in schema:
        return escape(" | ".join("null" if v is None else f'"{v}"' for v in schema["enum"]))
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " | ".join(kind)
    types = schema.get("type") if isinstance(schema.get("type"), list) else [schema.get("type")]
    kind = escape(kind)
    if "array" in types:
        kind = Markup("{} of {}").format(kind, type_of(schema.get("items", {})))
    if "format" in schema:
        kind = Markup("{} ({})").format(kind, schema["format"])
    return kind
