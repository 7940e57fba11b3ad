"""The one guard of every API operation: `Authorization: Bearer <token>`, a live token of the
scope the operation needs, within the rate limit of its token (`API_RATE_LIMIT`; of its
address, for a call without a valid token); and the audit row of every call, written after the
answer is made, whatever it is: `api.call` with the token's name (a revoked token's too), the
method, the path and the status answered, or `api.unauthorized` for a call with no token or an
unknown one.
"""

import functools
import logging

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_smorest import Blueprint

import database
from access import api_tokens
from access.api_tokens import TokenRefused
from api.problems import Problem
from auth import limiter
from models import Actor, ApiScope

log = logging.getLogger(__name__)
SECURITY = [{"bearerAuth": []}]
BEARER_CHALLENGE = 'Bearer realm="guichet-api"'
AUTHENTICATION = "guichet.api_authentication"


def presented_secret():
    """The token of `Authorization: Bearer <token>`, or None."""
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return secret.strip() or None


def refusal(reason):
    if reason == api_tokens.REVOKED:
        return _("Ce jeton a été révoqué.")
    if reason == api_tokens.UNKNOWN:
        return _("Ce jeton n'est pas reconnu.")
    return _("Envoyez l'en-tête « Authorization: Bearer <jeton> ».")


def authentication():
    """The call's token, or the TokenRefused of its refusal: found once per call (the rate
    limit's key needs it before the guard; kept in the call's WSGI environ, which no other
    call shares), and noted for the call's audit row."""
    if AUTHENTICATION not in request.environ:
        secret = presented_secret()
        try:
            found = g.api_token = api_tokens.authenticate(secret)
        except TokenRefused as refused:
            found = refused
            if refused.token is not None:  # a revoked token's call is audited under its name
                g.api_token = refused.token
            else:
                g.api_refused = (refused.reason, secret)
        request.environ[AUTHENTICATION] = found
    return request.environ[AUTHENTICATION]


def rate_key():
    """Flask-Limiter's key of a call: its token, or its address without a valid token."""
    found = authentication()
    if isinstance(found, TokenRefused):
        return f"api-address:{request.remote_addr}"
    return f"api-token:{found.id}"


def rate_limit():
    return current_app.config["API_RATE_LIMIT"]


def token_required(scope=ApiScope.READ):
    """The operation needs a live token of `scope` (a `process` token also reads), within the
    rate limit that every operation of the API shares; the token is then `current_token()`
    and the actor of its service calls `current_actor()`."""

    def decorator(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            token = authentication()
            if isinstance(token, TokenRefused):
                refused = token
                challenge = BEARER_CHALLENGE
                if refused.reason != api_tokens.MISSING:  # RFC 6750 § 3.1
                    challenge += ', error="invalid_token"'
                raise Problem(
                    "unauthorized", refusal(refused.reason), headers={"WWW-Authenticate": challenge}
                )
            if not token.allows_scope(scope):
                raise Problem(
                    "forbidden",
                    _("Ce jeton est en lecture seule ; cette opération demande « process »."),
                )
            return view(*args, **kwargs)

        limited = limiter.shared_limit(rate_limit, scope="api", key_func=rate_key)(guarded)
        return Blueprint.doc(
            security=SECURITY,
            responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN", "429": "TOO_MANY_REQUESTS"},
        )(limited)

    return decorator


def current_token():
    return g.api_token


def current_actor():
    return Actor.api(g.api_token, ip_address=request.remote_addr)


def audit_target(target):
    """The object this call is about (a dossier), named by its audit row instead of the token."""
    g.api_audit_target = target


def audit_call(response):
    """After every call of an operation: the `api.call` row of one made with a token, known or
    revoked, or the `api.unauthorized` row of one without a token or with an unknown one."""
    token = g.pop("api_token", None)
    refused = g.pop("api_refused", None)
    if token is None and refused is None:
        return response
    path = request.full_path.rstrip("?")
    try:
        if token is not None:
            api_tokens.record_call(
                token,
                request.remote_addr,
                request.method,
                path,
                response.status_code,
                target=g.pop("api_audit_target", None),
            )
        else:
            reason, secret = refused
            api_tokens.record_refused_call(
                request.remote_addr, request.method, path, response.status_code, reason, secret
            )
    except database.UNAVAILABLE:
        name = token.name if token is not None else "(none)"
        log.exception("API call of token %s not audited: database unavailable", name)
    return response
