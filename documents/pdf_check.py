"""Check that uploaded bytes are a PDF the administration can use, without trusting the file.

Cheap checks run here; the parsing runs in a child process (`documents/pdf_probe.py`, a fresh
`python -I` with an empty environment) capped in address space and CPU time and killed at the
wall-clock timeout, so that a hostile file can neither hang nor exhaust the worker that
received it. Every refusal is a `PdfRejected` whose message tells the user why and what to do.

The header must be at the start of the file, after at most `HEADER_SLACK` bytes of whitespace:
some web tools emit a stray newline before it and common readers accept it, whereas anything
else before the header (HTML, another format's signature) is how polyglot files are built.
The end-of-file marker must be in the last `EOF_WINDOW` bytes, as readers require: a file cut
short in transfer has none, even where pypdf would rebuild what is left of it.
The child decompresses the content stream of every page, where a compression bomb would hide;
images and attachments are left encoded (whatever decodes them later needs the same limits).
Encrypted files are refused even when they open without a password (permissions only): the
administration must be able to read, merge and stamp what it receives. So are files with active
content — JavaScript (a document-level script, an /OpenAction or /AA running one), a /Launch
action, an embedded file, an XFA form, rich media — found in any object reachable from the
trailer: the applicant is told what was found and to save the document again as a plain PDF.
Refusing rather than stripping is the policy for every procedure: what the administration
keeps is then exactly what the applicant signed.
"""

import json
import logging
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

log = logging.getLogger(__name__)

PROBE = Path(__file__).with_name("pdf_probe.py")
HEADER = b"%PDF-"
HEADER_SLACK = 8
PDF_WHITESPACE = b" \t\r\n\f"
EOF_WINDOW = 1024


@dataclass(frozen=True)
class PdfInfo:
    pages: int


class PdfRejected(ValueError):
    """A file refused as an annex: `reason` is a stable code, `str()` the user's message."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason
        self.message = message


def check_pdf(data: bytes, max_pages: int, timeout: float = 10.0, memory_mb: int = 512) -> PdfInfo:
    """The page count of `data`, or PdfRejected when it is not an acceptable PDF annex.

    `timeout` is wall-clock seconds for the whole parse, child start-up included; `memory_mb` caps
    the child's address space (about 45 MB of it is the interpreter and pypdf).
    """
    if not data:
        raise _rejected("empty")
    if not has_pdf_header(data):
        raise _rejected("not_pdf")
    if b"%%EOF" not in data[-EOF_WINDOW:]:
        raise _rejected("unreadable")
    verdict = _probe(data, max_pages, timeout, memory_mb)
    if "refused" in verdict:
        raise _rejected(
            verdict["refused"],
            max_pages=max_pages,
            pages=verdict.get("pages"),
            kind=verdict.get("kind"),
        )
    return PdfInfo(pages=verdict["pages"])


def has_pdf_header(data):
    """True when `data` starts with `%PDF-`, after at most HEADER_SLACK whitespace bytes."""
    start = len(data[:HEADER_SLACK]) - len(data[:HEADER_SLACK].lstrip(PDF_WHITESPACE))
    return data.startswith(HEADER, start)


def _probe(data, max_pages, timeout, memory_mb):
    """Run the child on `data`; its verdict, or too_complex when it overran or died."""
    command = [
        sys.executable,
        "-I",
        str(PROBE),
        str(max_pages),
        str(memory_mb),
        # CPU seconds: a backstop that ends the child should this process die before it.
        str(math.ceil(timeout) + 1),
    ]
    try:
        # Our own interpreter and script; the file only travels on stdin. The empty environment
        # keeps the app's secrets away from a process that parses hostile input.
        child = subprocess.run(  # noqa: S603
            command, input=data, capture_output=True, timeout=timeout, env={}, check=False
        )
    except subprocess.TimeoutExpired:
        # subprocess.run has killed and reaped the child.
        log.info("PDF check: child killed after %s s (%d bytes)", timeout, len(data))
        return {"refused": "too_complex"}
    try:
        verdict = json.loads(child.stdout)
    except ValueError:
        # Killed by its limits (out of memory in C code, CPU) or failed to start.
        log.warning(
            "PDF check: child exited with %s without a verdict (%d bytes): %s",
            child.returncode,
            len(data),
            child.stderr[-500:].decode(errors="replace"),
        )
        return {"refused": "too_complex"}
    if "detail" in verdict:
        log.info("PDF check: %s (%s, %d bytes)", verdict["refused"], verdict["detail"], len(data))
    return verdict


def _rejected(reason, max_pages=None, pages=None, kind=None):
    if reason == "active_content":
        message = _(
            "Ce PDF contient du contenu actif (%(what)s), que l'administration n'accepte pas : "
            "il pourrait s'exécuter à l'ouverture. Enregistrez-le à nouveau en PDF sans contenu "
            "actif (par exemple avec « Imprimer » puis « Enregistrer au format PDF »), puis "
            "déposez cette copie.",
            what=ACTIVE_CONTENT.get(kind, ACTIVE_CONTENT["javascript"]),
        )
    elif reason == "too_many_pages":
        message = _(
            "Ce PDF compte %(pages)d pages alors qu'une annexe peut en compter au plus "
            "%(max_pages)d. Divisez le document ou retirez les pages inutiles, puis déposez-le "
            "à nouveau.",
            pages=pages,
            max_pages=max_pages,
        )
    else:
        message = str(MESSAGES[reason])
    return PdfRejected(reason, message)


# What the probe found, as the refusal names it.
ACTIVE_CONTENT = {
    "javascript": _l("du JavaScript"),
    "launch": _l("une action qui lance un programme"),
    "embedded_file": _l("un fichier joint"),
    "xfa": _l("un formulaire XFA"),
    "rich_media": _l("un contenu multimédia"),
}

MESSAGES = {
    "empty": _l("Le fichier est vide. Choisissez le fichier PDF qui contient votre document."),
    "not_pdf": _l(
        "Ce fichier n'est pas un PDF. Enregistrez ou exportez votre document au format PDF, "
        "puis déposez-le à nouveau."
    ),
    "unreadable": _l(
        "Ce PDF est endommagé ou incomplet et ne peut pas être lu. Ouvrez-le pour vérifier qu'il "
        "est complet, enregistrez-le à nouveau en PDF, puis déposez-le."
    ),
    "encrypted": _l(
        "Ce PDF est protégé par un mot de passe ou par un chiffrement. Enregistrez-en une copie "
        "sans protection, puis déposez cette copie."
    ),
    "no_pages": _l("Ce PDF ne contient aucune page. Vérifiez que vous avez choisi le bon fichier."),
    "too_complex": _l(
        "Le fichier est trop complexe à analyser. Enregistrez-le à nouveau en PDF (par exemple "
        "avec « Imprimer » puis « Enregistrer au format PDF ») ou réduisez sa taille, puis "
        "déposez-le à nouveau."
    ),
}
