"""Every error of the API as `application/problem+json` (RFC 9457): a stable `type` (a page
of the API's documentation, `/api/v1/problems/<slug>`), a `title` in the caller's language
(Accept-Language; French by default), the `status`, a `detail` for this occurrence, the
`instance` asked for and, for a refused parameter, the `field` it is about (`errors` lists
each refused field).

A view raises `Problem(KIND, detail, field=...)` (a refused transition also gives the dossier's
`current_status`); an HTTPException raised anywhere under the
API (an unknown route, a refused parameter, a lost database) is answered the same way by
`response_for`, which `run.py` calls for every error page under the API's prefix.
"""

from dataclasses import dataclass
from http import HTTPStatus

from flask import current_app, json, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

MEDIA_TYPE = "application/problem+json"
URL_PREFIX = "/api/v1"
TYPE_PREFIX = URL_PREFIX + "/problems/"


@dataclass(frozen=True)
class Kind:
    slug: str
    status: int
    title: object  # lazy: read in the caller's language
    explanation: object  # for the documentation page of the type

    @property
    def type(self):
        return TYPE_PREFIX + self.slug


KINDS = {
    kind.slug: kind
    for kind in (
        Kind(
            "unauthorized",
            401,
            _l("Jeton d'accès manquant ou invalide"),
            _l(
                "L'appel n'a pas de jeton d'accès valable : envoyez l'en-tête "
                "« Authorization: Bearer <jeton> » avec un jeton actif (ni inconnu ni révoqué)."
            ),
        ),
        Kind(
            "forbidden",
            403,
            _l("Accès refusé"),
            _l(
                "Le jeton ne permet pas cette opération : sa portée est insuffisante ou il est "
                "limité à d'autres procédures."
            ),
        ),
        Kind(
            "not-found",
            404,
            _l("Ressource introuvable"),
            _l(
                "Cette ressource n'existe pas, ou le jeton n'y a pas accès (un dossier non "
                "soumis, ou d'une procédure hors de ses limites, est introuvable)."
            ),
        ),
        Kind(
            "method-not-allowed",
            405,
            _l("Méthode non autorisée"),
            _l("Cette adresse n'accepte pas cette méthode HTTP."),
        ),
        Kind(
            "not-acceptable",
            406,
            _l("Format de réponse non disponible"),
            _l("La ressource n'existe pas dans le format demandé par l'en-tête Accept."),
        ),
        Kind(
            "invalid-request",
            400,
            _l("Requête invalide"),
            _l(
                "Un paramètre est absent, inconnu ou invalide ; « field » le nomme et "
                "« errors » donne chaque problème."
            ),
        ),
        Kind(
            "invalid-cursor",
            400,
            _l("Curseur invalide"),
            _l(
                "Le curseur n'a pas été produit par cette liste (modifié, tronqué, ou fait pour "
                "d'autres filtres ou un autre tri) : recommencez à la première page."
            ),
        ),
        Kind(
            "conflict",
            409,
            _l("Conflit"),
            _l("L'état de la ressource ne permet pas cette opération maintenant."),
        ),
        Kind(
            "file-unavailable",
            409,
            _l("Fichier indisponible"),
            _l(
                "Le fichier n'est pas servi : il n'a pas encore été analysé par l'antivirus, "
                "il a été refusé, ou il ne correspond plus à son empreinte SHA-256."
            ),
        ),
        Kind(
            "transition-not-allowed",
            409,
            _l("Changement de statut impossible"),
            _l(
                "Le dossier n'est pas dans un statut d'où ce changement part (par exemple "
                "clôturer un dossier qui n'est pas en traitement) ; « current_status » donne "
                "son statut actuel."
            ),
        ),
        Kind(
            "concurrent-change",
            409,
            _l("Modification concurrente"),
            _l(
                "Un autre changement du dossier est arrivé avant celui-ci ; relisez le dossier "
                "(« current_status ») avant de réessayer."
            ),
        ),
        Kind(
            "payload-too-large",
            413,
            _l("Requête trop volumineuse"),
            _l("Le corps de la requête dépasse la taille autorisée."),
        ),
        Kind(
            "unsupported-media-type",
            415,
            _l("Type de contenu non pris en charge"),
            _l("Le corps de la requête n'est pas dans un format accepté (JSON)."),
        ),
        Kind(
            "too-many-requests",
            429,
            _l("Trop de demandes"),
            _l("Trop d'appels en peu de temps : attendez le délai de « Retry-After »."),
        ),
        Kind(
            "internal-error",
            500,
            _l("Erreur interne"),
            _l("Une erreur s'est produite de notre côté ; elle est enregistrée."),
        ),
        Kind(
            "unavailable",
            503,
            _l("Service momentanément indisponible"),
            _l("Le service est momentanément indisponible : réessayez après « Retry-After »."),
        ),
    )
}
BY_STATUS = {}
for _kind in KINDS.values():
    BY_STATUS.setdefault(_kind.status, _kind)
del _kind


class Problem(HTTPException):
    """An error of the API, of one of the KINDS, with what this occurrence is about."""

    def __init__(self, slug, detail=None, field=None, errors=None, headers=None, **members):
        self.kind = KINDS[slug]
        self.code = self.kind.status
        self.field = field
        self.errors = errors
        self.extra_headers = headers or {}
        self.members = members  # extension members of this kind (RFC 9457 § 3.2)
        super().__init__(description=detail)


def validation_errors(messages):
    """webargs' messages ({location: {field: [text, ...]}}) as a list of {field, in, detail}."""
    errors = []
    for location, fields in (messages or {}).items():
        if not isinstance(fields, dict):
            errors.append({"field": location, "in": location, "detail": str(fields)})
            continue
        for field, texts in fields.items():
            for text in flat_texts(texts):
                errors.append({"field": field, "in": location, "detail": text})
    return errors


def flat_texts(texts, where=""):
    """marshmallow's messages of a field, nested ones (an item of a list) prefixed by their
    place: `item 0: Must be one of: ...`."""
    if isinstance(texts, dict):
        return [
            text
            for key, nested in texts.items()
            for text in flat_texts(nested, f"{where}item {key}: ")
        ]
    if isinstance(texts, list | tuple):
        return [text for nested in texts for text in flat_texts(nested, where)]
    return [f"{where}{texts}"]


def from_http_error(error):
    """The Problem for any HTTPException (a Problem stays as it is)."""
    if isinstance(error, Problem):
        return error
    data = getattr(error, "data", None) or {}
    if "messages" in data:  # a parameter refused by webargs
        errors = validation_errors(data["messages"])
        fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
        return Problem(
            "invalid-request",
            _("Paramètre refusé : %(fields)s.", fields=fields),
            field=errors[0]["field"] if errors else None,
            errors=errors,
        )
    kind = BY_STATUS.get(error.code)
    if kind is None:
        return None
    detail = error.description if error.description != type(error).description else None
    if error.code == 429:  # Flask-Limiter's description is the limit, in English
        detail = None
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return Problem(kind.slug, detail, headers=headers)


def body(problem):
    kind = problem.kind
    document = {
        "type": kind.type,
        "title": str(kind.title),
        "status": kind.status,
        "detail": str(problem.description) if problem.description else str(kind.explanation),
        "instance": request.path,
    }
    if problem.field:
        document["field"] = problem.field
    if problem.errors:
        document["errors"] = problem.errors
    document.update(getattr(problem, "members", {}))
    return document


def response_for(error):
    """The problem+json response for an HTTPException (or any error: a 500)."""
    problem = from_http_error(error) if isinstance(error, HTTPException) else None
    if problem is None:
        if isinstance(error, HTTPException) and error.code:
            return plain_problem(error.code)
        problem = Problem("internal-error")
    response = current_app.response_class(
        json.dumps(body(problem), ensure_ascii=False), status=problem.code, mimetype=MEDIA_TYPE
    )
    response.headers["Content-Language"] = language()
    for name, value in problem.extra_headers.items():
        response.headers[name] = value
    return response


def plain_problem(status):
    """A status without a kind of ours: `about:blank`, titled by the HTTP phrase (RFC 9457)."""
    phrase = HTTPStatus(status).phrase
    document = {"type": "about:blank", "title": phrase, "status": status, "instance": request.path}
    return current_app.response_class(json.dumps(document), status=status, mimetype=MEDIA_TYPE)


def language():
    locale = get_locale()
    return locale.language if locale is not None else "fr"
