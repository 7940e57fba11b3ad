"""The OpenAPI 3.1 document is generated from the schemas the API validates with, is valid, and
describes every operation; the documentation page is drawn from it on the server."""

from api_helpers import PROBLEM, bearer
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

from api.problems import KINDS
from helpers import make_dossier
from models import DossierStatus


def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.content_type == "application/json"
    return response.json


def test_the_document_is_valid_openapi_3_1(client):
    spec = document(client)
    assert spec["openapi"] == "3.1.0"
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_every_route_of_the_api_is_documented_and_guarded(app, client):
    spec = document(client)
    documented = {path for path in spec["paths"]}
    routes = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0]
        in {"api_token", "api_procedures", "api_dossiers", "api_events"}
    }
    as_openapi = {
        r.replace("<int(max=2147483647):", "{").replace("<", "{").replace(">", "}") for r in routes
    }
    assert as_openapi == documented
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            assert {"401", "403", "default"} <= set(operation["responses"]), (method, path)
    errors = spec["components"]["responses"]["UNAUTHORIZED"]["content"]
    assert list(errors) == [PROBLEM]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_answers_conform_to_the_documented_schemas(client, ctx):
    """The list and the dossier, dumped by the schemas the document is made of, carry every
    required property the document names."""
    dossier = make_dossier(DossierStatus.CLOSED)
    spec = document(client)
    schemas = spec["components"]["schemas"]
    headers = bearer()
    page = client.get("/api/v1/dossiers", headers=headers).json
    assert set(schemas["DossierPage"]["required"]) <= set(page)
    whole = client.get(f"/api/v1/dossiers/{dossier.id}", headers=headers).json
    assert set(schemas["Dossier"]["required"]) <= set(whole)
    assert set(whole) <= set(schemas["Dossier"]["properties"])


def test_the_documentation_page_is_drawn_from_the_document(client):
    spec = document(client)
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script" not in html and "style=" not in html
    for path in spec["paths"]:
        assert path in html
    for kind in KINDS.values():
        assert f'id="problem-{kind.slug}"' in html
    assert "curl -H &#34;Authorization: Bearer $TOKEN&#34;" in html or "curl -H" in html
    assert client.get("/api/v1/docs", headers={"Accept-Language": "de"}).text.count("Vorgänge")


def test_a_problem_type_leads_to_its_entry(client):
    response = client.get("/api/v1/problems/invalid-cursor")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/api/v1/docs#problem-invalid-cursor")
    unknown = client.get("/api/v1/problems/nothing")
    assert unknown.status_code == 404 and unknown.content_type == PROBLEM


def test_unknown_route_and_method_are_problems(client):
    missing = client.get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.content_type == PROBLEM
    wrong = client.post("/api/v1/dossiers")
    assert wrong.status_code == 405 and wrong.content_type == PROBLEM
    assert wrong.json["type"] == "/api/v1/problems/method-not-allowed"
    assert "GET" in wrong.headers["Allow"]


def test_an_error_of_ours_is_a_500_problem_and_a_lost_database_a_503(app, client, ctx, monkeypatch):
    from peewee import OperationalError

    from access import api_tokens

    headers = bearer()
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error page answers

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("api.dossiers.summary", broken)
    make_dossier(DossierStatus.RECEIVED)
    failed = client.get("/api/v1/dossiers", headers=headers)
    assert failed.status_code == 500 and failed.content_type == PROBLEM
    assert failed.json["type"] == "/api/v1/problems/internal-error"
    assert "a bug" not in failed.text

    def lost(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(api_tokens, "authenticate", lost)
    down = client.get("/api/v1/dossiers", headers=headers)
    assert down.status_code == 503 and down.content_type == PROBLEM
    assert down.json["type"] == "/api/v1/problems/unavailable"
    assert down.headers["Retry-After"]


def test_no_cookie_is_set_and_the_language_is_the_callers(client, ctx):
    """The switcher's `?lang=` is the portal's: the API keeps no session and answers in the
    language of Accept-Language alone."""
    response = client.get("/api/v1/dossiers?lang=de", headers=bearer())
    assert response.status_code == 400 and response.json["field"] == "lang"
    assert response.json["title"] == "Requête invalide"
    assert "Set-Cookie" not in response.headers
    assert "Set-Cookie" not in client.get("/api/v1/token?lang=de", headers=bearer()).headers
