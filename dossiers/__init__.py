"""Dossier services: everything a person does to a dossier, from its creation to its closing.

A view (portal, back-office), the worker or the CLI calls one function per operation; it checks
what it must, writes the change with its history, audit row and emails in one transaction
(through `Dossier.transition` and the other model methods), and returns the result or raises
`DossierRefused` with a message in the user's language.
"""


class DossierRefused(Exception):
    """An operation on a dossier that is not allowed now; `str()` is the message for the user,
    already translated; `reason` says why for an interface that answers by kind (the API: a
    transition not allowed from the status, a concurrent change), and `field` names what was
    sent wrong, when it is one thing."""

    NOT_ALLOWED, CONCURRENT, INVALID = "not_allowed", "concurrent", "invalid"

    def __init__(self, message, reason=None, field=None):
        super().__init__(str(message))
        self.reason = reason
        self.field = field


class DossierNotFound(DossierRefused):
    """No such dossier for this actor: the interfaces answer 404, never saying whether it
    exists in another company."""

    def __init__(self, dossier_id=None):
        super().__init__(f"dossier {dossier_id} not found")
