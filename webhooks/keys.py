"""The signing secrets of the subscriptions: made in the Standard Webhooks form (`whsec_` and
the base64 of 32 random bytes), shown to the administrator once, and kept encrypted (Fernet)
under a key derived from the app's SECRET_KEY, so that a copy of the database alone signs
nothing. Changing SECRET_KEY therefore means rotating every subscription's secret."""

import base64
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

PREFIX = "whsec_"


def new_secret():
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _fernet():
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"guichet webhook secrets"
    ).derive(current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret):
    return _fernet().encrypt(secret.encode()).decode()


def unseal(sealed):
    """The secret; ValueError when it was sealed under another SECRET_KEY."""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise ValueError("webhook secret sealed under another SECRET_KEY") from None
