"""No scanning: every file is declared clean. For development and tests only."""

from flask_babel import lazy_gettext as _l

from antivirus import CLEAN, Scanner, Verdict, register


@register("none", label=_l("Aucune analyse antivirus (développement)"), stand_in=True)
class NoScanner(Scanner):
    def scan(self, data):
        return Verdict(CLEAN, "not scanned (ANTIVIRUS=none)")
