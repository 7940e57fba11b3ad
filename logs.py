"""The service's log: one event, one line.

A value a user typed (an email address, a company name, a message) may hold a carriage return or
a line feed; written as is, it would start a line of its own that reads like a real log entry
("log forging", OWASP). The formatter escapes every control character of the message as `\\n`,
`\\r`, `\\x1b`..., so a log line always starts with the service's own timestamp and level. A
traceback stays on its lines: it is the service's own text. It also hides what a request line
would leak: the OIDC `code`, `state` and tokens in a query string, an email validation link.
"""

import logging
import re

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
# What a request line (the development server's, a proxy's) may carry that opens a session:
# the OIDC round trip's parameters and the professional-email validation link's token.
SECRET_PARAMETERS = re.compile(
    r"(?<![A-Za-z_])((?:code|state|nonce|token|access_token|id_token|refresh_token|"
    r"session_state)=)[^&\s\"']+"
)
SECRET_PATHS = re.compile(r"(/entreprise/email/valider/)[^\s?\"']+")


def escape(text):
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def hide_secrets(text):
    return SECRET_PATHS.sub(r"\1[hidden]", SECRET_PARAMETERS.sub(r"\1[hidden]", text))


class OneLineFormatter(logging.Formatter):
    def formatMessage(self, record):  # logging.Formatter names it so
        record.message = hide_secrets(escape(record.message))
        return super().formatMessage(record)


def configure(level=logging.INFO):
    """The root logger writes one line per event (once per process, as logging.basicConfig).
    Peewee's query log stays off whatever the level: its parameters hold one-time codes,
    session ids, TOTP secrets and personal data."""
    logging.getLogger("peewee").setLevel(logging.INFO)
    root = logging.getLogger()
    if any(isinstance(h.formatter, OneLineFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
