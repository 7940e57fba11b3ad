"""Annexes of a dossier: PDFs decided by their content, stored under random keys, attached to
the requirement the answers call for while the dossier is a draft, or to a reply; each stored
in quarantine and scanned for viruses once its row has committed (`dossiers.scanning`)."""

import re
import time

from flask import current_app
from flask_babel import gettext as _

import storage
from documents.pdf_check import PdfRejected, check_pdf
from dossiers import DossierRefused, scanning
from dossiers.access import member_for
from dossiers.filling import annex_needs, refresh_status
from models import Annex, Role, write_transaction


class UnknownRequirement(DossierRefused):
    """The form named an annex the dossier does not ask for (a forged request)."""


def display_name(filename):
    """The name shown to people: no folders, no control characters, at most 255 characters.
    The file itself is stored under a random name."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in name if c.isprintable()).strip() or "document.pdf"
    return name[-255:]


def checked_pdf(filename, data, timeout=None):
    """The PdfInfo of an uploaded file, or DossierRefused saying why it is refused; `timeout`
    (seconds) bounds this check below the configured one."""
    cfg = current_app.config
    try:
        return check_pdf(
            data,
            max_pages=cfg["MAX_ANNEX_PAGES"],
            timeout=min(cfg["PDF_CHECK_TIMEOUT"], timeout or cfg["PDF_CHECK_TIMEOUT"]),
            memory_mb=cfg["PDF_CHECK_MEMORY_MB"],
        )
    except PdfRejected as exc:
        raise DossierRefused(
            _(
                "« %(name)s » est refusé : %(reason)s",
                name=display_name(filename),
                reason=exc.message,
            )
        ) from exc


def new_annex(dossier, requirement, filename, stored, info, person, **extra):
    """The Annex row of a checked PDF (`info`) kept in storage (`stored`)."""
    return Annex.create(
        dossier=dossier,
        requirement=requirement,
        original_name=display_name(filename),
        storage_key=stored.key,
        sha256=stored.sha256,
        size=stored.size,
        pages=info.pages,
        uploaded_by=person,
        **extra,
    )


def not_editable():
    return DossierRefused(_("Ce dossier est soumis : ses annexes ne peuvent plus changer."))


def attach(actor, dossier, requirement, filename, data):
    """Attach the PDF `data` to `requirement` (replacing the file of a single-file one) and
    refresh the status, in one transaction; then scan it. Returns the new Annex, with its
    scan status (clean, infected, or still pending when the scanner did not answer). The
    replaced files are deleted once it has committed, the new one if it has not."""
    member_for(actor, dossier, Role.ENCODE)
    if not dossier.is_editable:
        raise not_editable()
    need = {n.key: n for n in annex_needs(dossier)}.get(requirement)
    if need is None:
        raise UnknownRequirement(requirement)
    if not filename or data is None:
        raise DossierRefused(
            _("Choisissez un fichier PDF à joindre pour « %(label)s ».", label=need.label)
        )
    info = checked_pdf(filename, data)
    stored = storage.store(data)
    try:
        with write_transaction():
            replaced = []
            if not need.multiple:
                replaced = list(
                    Annex.select().where(Annex.dossier == dossier, Annex.requirement == need.key)
                )
                Annex.delete().where(Annex.id.in_([a.id for a in replaced])).execute()
            annex = new_annex(dossier, need.key, filename, stored, info, actor.person)
            dossier.touch()
            refresh_status(dossier)
    except Exception:
        storage.get_storage().delete(stored.key)  # the row was not written: keep no orphan
        raise
    for old in replaced:
        storage.get_storage().delete(old.storage_key)
    return scanning.scan(annex)


def remove(actor, dossier, annex_id):
    """Take an annex off a draft; its file is deleted once that has committed."""
    member_for(actor, dossier, Role.ENCODE)
    annex = Annex.get_or_none(Annex.id == annex_id, Annex.dossier == dossier)
    if annex is None:
        raise UnknownRequirement(annex_id)
    if not dossier.is_editable:
        raise not_editable()
    with write_transaction():
        Annex.delete().where(Annex.id == annex.id).execute()
        dossier.touch()
        refresh_status(dossier)
    storage.get_storage().delete(annex.storage_key)
    return annex


def clock():
    """Seconds of a monotonic clock (the budget of a reply's checks)."""
    return time.monotonic()


def check_files(files):
    """Check every (filename, bytes) of a reply before anything is stored: a list of
    (filename, bytes, PdfInfo), or DossierRefused for the first file refused. At most
    MAX_FILES_PER_MESSAGE files, all checked within PDF_CHECK_TOTAL_SECONDS."""
    cfg = current_app.config
    most = cfg["MAX_FILES_PER_MESSAGE"]
    if len(files) > most:
        raise DossierRefused(
            _(
                "Vous avez joint %(count)d fichiers ; un message en accepte au plus %(most)d. "
                "Envoyez les autres dans un second message.",
                count=len(files),
                most=most,
            )
        )
    deadline = clock() + cfg["PDF_CHECK_TOTAL_SECONDS"]
    checked = []
    for name, data in files:
        left = deadline - clock()
        if left <= 0:
            raise DossierRefused(
                _(
                    "La vérification des fichiers joints a pris trop de temps. Envoyez moins de "
                    "fichiers, ou des fichiers plus simples, par message."
                )
            )
        checked.append((name, data, checked_pdf(name, data, timeout=left)))
    return checked
