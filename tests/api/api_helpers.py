"""Helpers of the REST API's tests (no conftest here: `conftest` is the name of the suite's
own, which the other test modules import). Call them inside an app context (`ctx`)."""

import itertools

from access import api_tokens
from models import Actor

PROBLEM = "application/problem+json"
_names = itertools.count(1)


def make_token(scope="read", procedures=(), name=None):
    """A token made through the service, as the CLI makes them: (token, secret)."""
    return api_tokens.create(
        Actor.system(), name or f"system-{next(_names)}", scope, list(procedures)
    )


def auth(secret):
    """The header that carries a token."""
    return {"Authorization": f"Bearer {secret}"}


def bearer(**kwargs):
    """The header of a new token (read, every procedure unless told)."""
    return auth(make_token(**kwargs)[1])
