"""Access services: who may act for which company, and as whom.

Each function is one thing a person (or the helpdesk) does to access rights: it checks what it
must, writes its change, its `AuditEvent` and its email in one transaction, and returns the
changed row or raises `AccessRefused` with a message in the user's language.
"""


class AccessRefused(Exception):
    """A change of access that is not allowed now; `str()` is the message for the user, already
    translated, and `field` names the form field it is about, when there is one."""

    def __init__(self, message, field=None):
        super().__init__(str(message))
        self.field = field
