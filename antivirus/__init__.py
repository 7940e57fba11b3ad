"""Virus scanners as a registry: `clamd` (ClamAV's daemon, spoken to over its socket) and
`none` (a stand-in for development and tests: everything is clean). The config's ANTIVIRUS
picks one; production refuses `none`.

A scanner answers one question about some bytes: `scan(data)` returns a `Verdict` — clean,
infected (with the name of what was found), or an error of the scanner about this file — and
raises `ScannerUnavailable` when it cannot be asked at all (daemon down, timeout), so that the
file stays in quarantine and is asked about again later.
"""

from dataclasses import dataclass

from flask import current_app

from registry import Registry

SCANNERS = Registry("virus scanner", setting="ANTIVIRUS")
register = SCANNERS.register

CLEAN, INFECTED, ERROR = "clean", "infected", "error"


class ScannerUnavailable(RuntimeError):
    """The scanner could not be reached or did not answer in time: nothing is known."""


@dataclass(frozen=True)
class Verdict:
    outcome: str  # CLEAN, INFECTED or ERROR
    detail: str = ""  # what was found, or the scanner's error

    @property
    def clean(self):
        return self.outcome == CLEAN


class Scanner:
    id = None
    label = None
    stand_in = False

    def __init__(self, config):
        self.config = config

    def scan(self, data: bytes) -> Verdict:
        raise NotImplementedError

    def ping(self) -> bool:
        """Whether the scanner answers (for /healthz and the operators)."""
        return True


def init_app(app):
    from antivirus import clamd, none  # noqa: F401  (registers the scanners)

    app.extensions["antivirus"] = SCANNERS.select(app.config)(app.config)


def scanner() -> Scanner:
    """The current app's scanner."""
    return current_app.extensions["antivirus"]
