"""The signing secrets of the subscriptions: made in the Standard Webhooks form (`whsec_` and
the base64 of 32 random bytes), shown to the administrator once, and kept sealed (`sealed`:
encrypted under a key derived from the app's SECRET_KEY), so that a copy of the database alone
signs nothing."""

import base64
import secrets

import sealed

PREFIX = "whsec_"
PURPOSE = b"guichet webhook secrets"


def new_secret():
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def seal(secret):
    return sealed.seal(PURPOSE, secret)


def unseal(secret_sealed):
    """The secret; sealed.SealBroken (a ValueError) when no key of the app opens it."""
    return sealed.unseal(PURPOSE, secret_sealed)
