"""SMS gateways as a registry: `log` (development: kept and shown on the development mail page)
and `http` (a configurable HTTP gateway). The config's SMS_GATEWAY picks one."""

import phonenumbers
from flask import current_app

from registry import Registry

GATEWAYS = Registry("SMS gateway", setting="SMS_GATEWAY")
register = GATEWAYS.register


class SmsError(RuntimeError):
    """The SMS could not be handed to the gateway."""


class SmsGateway:
    id = None
    label = None
    stand_in = False

    def __init__(self, config):
        self.config = config

    def send(self, to_phone, text):
        raise NotImplementedError


def normalize_phone(text, region="BE"):
    """E.164 form of a phone number, or ValueError when it is not a valid number."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(str(exc)) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"{text!r} is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def gateway():
    return current_app.extensions["sms"]


def send(to_phone, text):
    gateway().send(normalize_phone(to_phone), text)


def init_app(app):
    from sms import http, log  # noqa: F401  (registers the gateways)

    app.extensions["sms"] = GATEWAYS.select(app.config)(app.config)
