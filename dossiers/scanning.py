"""The virus scan of annexes. Every annex is stored in quarantine (`pending`) and scanned just
after its upload has committed, in the same request (clamd answers a PDF in milliseconds), so
the company learns at once; an annex the scanner could not be asked about (daemon down,
timeout) or that it answered an error for stays in quarantine and is scanned again by the
worker's periodic task (`rescan`). Only a clean annex is ever served, signed or bundled.

An infected file is erased from storage at once; its row stays, marked infected, so that the
company sees on its dossier which file was refused and why, and is told by email. It no longer
counts among the dossier's annexes, so a complete draft goes back to En cours until it is
replaced. The finding is an `annex.infected` audit row."""

import logging

from flask_babel import gettext as _

import antivirus
import notifications
import storage
from dossiers import DossierRefused
from dossiers.filling import refresh_status
from models import Actor, Annex, AuditEvent, ScanStatus, utcnow, write_transaction

log = logging.getLogger(__name__)
OUTCOMES = {
    antivirus.CLEAN: ScanStatus.CLEAN,
    antivirus.INFECTED: ScanStatus.INFECTED,
    antivirus.ERROR: ScanStatus.ERROR,
}
AWAITING = (ScanStatus.PENDING.value, ScanStatus.ERROR.value)


class AnnexQuarantined(DossierRefused):
    """The annex is not (yet) known to be clean: it is not served."""

    def __init__(self, annex):
        self.annex = annex
        if annex.is_infected:
            message = _(
                "« %(name)s » a été refusé par l'antivirus (%(found)s) et effacé ; il ne peut "
                "pas être ouvert.",
                name=annex.original_name,
                found=annex.scan_detail or "?",
            )
        else:
            message = _(
                "« %(name)s » n'a pas encore été analysé par l'antivirus ; il ne peut pas être "
                "ouvert avant. Réessayez dans quelques minutes.",
                name=annex.original_name,
            )
        super().__init__(message)


def require_clean(annex):
    """AnnexQuarantined unless the annex was scanned clean."""
    if not annex.is_clean:
        raise AnnexQuarantined(annex)
    return annex


def scan(annex):
    """Scan one annex in quarantine and record the verdict; returns the annex as it now is
    (still pending when the scanner could not be asked)."""
    if annex.scan_status not in AWAITING:
        return annex
    try:
        data = storage.read_verified(annex.storage_key, annex.sha256)
    except (FileNotFoundError, storage.Altered):
        log.error("Annex %s cannot be scanned: its stored file is missing or altered", annex.id)
        return annex
    try:
        verdict = antivirus.scanner().scan(data)
    except antivirus.ScannerUnavailable as exc:
        log.warning("Annex %s stays in quarantine, the scanner did not answer: %s", annex.id, exc)
        return annex
    return record(annex, verdict)


def record(annex, verdict):
    """Write the scanner's verdict on a quarantined annex (once, whoever scanned it first)."""
    status = OUTCOMES[verdict.outcome]
    with write_transaction():
        changed = (
            Annex.update(scan_status=status.value, scanned_at=utcnow(), scan_detail=verdict.detail)
            .where(Annex.id == annex.id, Annex.scan_status.in_(AWAITING))
            .execute()
        )
        fresh = Annex.get_by_id(annex.id)
        if changed and status == ScanStatus.INFECTED:
            dossier = fresh.dossier
            AuditEvent.record(
                "annex.infected",
                Actor.system(),
                dossier,
                annex=fresh.id,
                name=fresh.original_name,
                found=verdict.detail,
                sha256=fresh.sha256,
            )
            if dossier.is_editable:
                refresh_status(dossier)
            notifications.annex_infected(fresh)
    if changed and status == ScanStatus.INFECTED:
        storage.get_storage().delete(fresh.storage_key)
        log.warning("Annex %s is infected (%s): its file is erased", fresh.id, verdict.detail)
    elif changed and status == ScanStatus.ERROR:
        log.error("The scanner could not scan annex %s: %s", fresh.id, verdict.detail)
    return fresh


def rescan(limit=200):
    """Scan the annexes still in quarantine (the worker's periodic task); returns how many
    are now out of it."""
    done = 0
    for annex in Annex.awaiting_scan().order_by(Annex.uploaded_at, Annex.id).limit(limit):
        if scan(annex).scan_status not in AWAITING:
            done += 1
    if done:
        log.info("Antivirus: %s annex(es) out of quarantine", done)
    return done
