"""Secrets the database keeps sealed, so that a copy of it (a backup, a dump, a stolen disk)
opens none of them: the staff's TOTP secrets (`access.staff`) and the webhooks' signing secrets
(`webhooks.keys`), each encrypted with Fernet (AES-128-CBC with HMAC-SHA256) under a key
derived (HKDF-SHA256) for its purpose from the app's SECRET_KEY. Only the code that uses a
secret opens it (a login, a delivery): a page that lists the rows never does.

A value sealed under one of SECRET_KEY_FALLBACKS still opens, so SECRET_KEY can be rotated:
the new key in SECRET_KEY, the old one in SECRET_KEY_FALLBACKS, then `flask reseal-secrets`
writes every sealed value again under the new key, after which the old one can go."""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# What a sealed value starts with (Fernet's version byte, in base64): a value without it was
# never sealed.
SEALED_PREFIX = "gAAAAA"


class SealBroken(ValueError):
    """A sealed value that no key of the app opens (sealed under another SECRET_KEY)."""


@lru_cache(maxsize=32)
def _fernet(purpose, keys):
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
                        key.encode()
                    )
                )
            )
            for key in keys
        ]
    )


def fernet(purpose):
    """The Fernet of `purpose` under the app's keys: SECRET_KEY seals, every key opens."""
    config = current_app.config
    return _fernet(purpose, (config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or ())))


def seal(purpose, text):
    return fernet(purpose).encrypt(text.encode()).decode()


def unseal(purpose, sealed):
    try:
        return fernet(purpose).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SealBroken(
            f"a value sealed for {purpose.decode()} opens under no key of SECRET_KEY and "
            "SECRET_KEY_FALLBACKS"
        ) from None


def reseal(purpose, sealed):
    """`sealed` written again under SECRET_KEY (it may have been sealed under a fallback)."""
    try:
        return fernet(purpose).rotate(sealed.encode()).decode()
    except InvalidToken:
        raise SealBroken(f"a value sealed for {purpose.decode()} opens under no key") from None


def reseal_column(field, purpose, label):
    """Every sealed value of `field` (a column of a table) sealed again under SECRET_KEY;
    returns (how many, the `label` column of the rows no key opens)."""
    model, key = field.model, field.model._meta.primary_key
    resealed, broken = 0, []
    for row in model.select(key, field, label).where(field.is_null(False)):
        try:
            again = reseal(purpose, getattr(row, field.name))
        except SealBroken:
            broken.append(getattr(row, label.name))
            continue
        model.update({field: again}).where(key == getattr(row, key.name)).execute()
        resealed += 1
    return resealed, broken
