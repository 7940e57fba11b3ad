"""The pieces every resource of the API is built from: its blueprint class and the Api that
documents them."""

import http

from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from api import problems
from api.schemas import ProblemSchema, UtcDateTime

VERSION = "1.0.0"
DESCRIPTION = """\
The REST API of Guichet, for the administration's own systems (case management, archive,
statistics). Every call carries `Authorization: Bearer <token>`; a token is made by an
administrator in the back-office or with `flask --app run api-token create NAME --scope read`,
and may be limited to some procedures. Dossiers not yet submitted are never visible. Errors are
`application/problem+json` (RFC 9457), titled in the language of `Accept-Language` (French by
default).
"""


class QueryParser(FlaskParser):
    """A refused parameter is a 400 (webargs' default is 422), and so is an unknown one in the
    query string (webargs ignores them): a misspelt filter must not silently widen a list."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE}


class ApiBlueprint(Blueprint):
    """The blueprint of one resource of the API: its parameters refused with a 400, its errors
    answered as problem details."""

    ARGUMENTS_PARSER = QueryParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_error_handler(HTTPException, problems.response_for)


class GuichetApi(Api):
    """flask-smorest's Api whose documented errors are problem details; it registers no error
    handler of its own on the app (the portal and the back-office keep their pages)."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        """Each ApiBlueprint handles its own errors; run.py those of the API's prefix."""

    def _register_responses(self):
        for status in http.HTTPStatus:
            if status < 400:
                continue
            response = {"description": status.phrase, "schema": self.ERROR_SCHEMA}
            prepare_response(response, self.spec, problems.MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "An error (problem details)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, problems.MEDIA_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


def make_api(app):
    api = GuichetApi(
        spec_kwargs={
            "title": "Guichet API",
            "version": VERSION,
            "openapi_version": "3.1.0",
            "info": {"description": DESCRIPTION},
        }
    )
    api.register_field(UtcDateTime, "string", "date-time")
    api.init_app(app)
    api.spec.components.security_scheme(
        "bearerAuth",
        {"type": "http", "scheme": "bearer", "description": "A token made by an administrator."},
    )
    return api
