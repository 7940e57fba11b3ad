"""The one guard of every API operation: `Authorization: Bearer <token>`, a live token of the
scope the operation needs; and the audit row of every call made with a token (`api.call`, with
the token's name, the method, the path and the status answered), written after the answer is
made, whatever it is.
"""

import functools
import logging

from flask import g, request
from flask_babel import gettext as _
from flask_smorest import Blueprint

import database
from access import api_tokens
from access.api_tokens import TokenRefused
from api.problems import Problem
from models import Actor, ApiScope

log = logging.getLogger(__name__)
SECURITY = [{"bearerAuth": []}]
BEARER_CHALLENGE = 'Bearer realm="guichet-api"'


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


def token_required(scope=ApiScope.READ):
    """The operation needs a live token of `scope` (a `process` token also reads); the token is
    then `current_token()` and the actor of its service calls `current_actor()`."""

    def decorator(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            try:
                token = api_tokens.authenticate(presented_secret())
            except TokenRefused as refused:
                g.api_token = refused.token  # a revoked token's call is audited under its name
                challenge = BEARER_CHALLENGE
                if refused.reason != api_tokens.MISSING:  # RFC 6750 § 3.1
                    challenge += ', error="invalid_token"'
                raise Problem(
                    "unauthorized", refusal(refused.reason), headers={"WWW-Authenticate": challenge}
                ) from None
            g.api_token = token
            if not token.allows_scope(scope):
                raise Problem(
                    "forbidden",
                    _("Ce jeton est en lecture seule ; cette opération demande « process »."),
                )
            return view(*args, **kwargs)

        return Blueprint.doc(
            security=SECURITY,
            responses={"401": "UNAUTHORIZED", "403": "FORBIDDEN"},
        )(guarded)

    return decorator


def current_token():
    return g.api_token


def current_actor():
    return Actor.api(g.api_token, ip_address=request.remote_addr)


def audit_target(target):
    """The object this call is about (a dossier), named by its audit row instead of the token."""
    g.api_audit_target = target


def audit_call(response):
    """After every call made with a token, known or revoked: its `api.call` row."""
    token = g.pop("api_token", None)
    if token is None:
        return response
    try:
        api_tokens.record_call(
            token,
            request.remote_addr,
            request.method,
            request.full_path.rstrip("?"),
            response.status_code,
            target=g.pop("api_audit_target", None),
        )
    except database.UNAVAILABLE:
        log.exception("API call of token %s not audited: database unavailable", token.name)
    return response
