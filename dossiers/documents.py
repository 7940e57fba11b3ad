"""Documents of a dossier: the sealed receipt of a submission (made once) and the decision
letter of each closing, made by the worker; and the stored files read back for people, each
checked against its SHA-256 (and the staff's readings audited)."""

import io
import logging

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pypdf import PdfWriter

import storage
from documents import letter, receipt
from dossiers import DossierNotFound, DossierRefused
from dossiers.access import member_for, require_api, require_staff
from dossiers.scanning import require_clean
from models import (
    ActorKind,
    Annex,
    AuditEvent,
    Document,
    Dossier,
    Role,
    ScanStatus,
    Signature,
    StatusChange,
    write_transaction,
)
from procedures import definition_of, prefill

log = logging.getLogger(__name__)
DEFAULT_LETTER = _l(
    "Objet : {procedure} — dossier {reference}\n\n"
    "Madame, Monsieur,\n\n"
    "Nous avons examiné la demande introduite au nom de l'entreprise {company} sous la "
    "référence {reference}. Décision du {date} : {decision}."
)


def document_language(dossier):
    """The language of the dossier's documents: its submitter's, when it is offered, else
    French (the receipt and the letter say which language they are in and why)."""
    person = dossier.submitted_by
    language = person.language if person is not None else None
    config = current_app.config
    return language if language in config["LANGUAGES_READY"] else config["BABEL_DEFAULT_LOCALE"]


def signature_summary(signature):
    return {
        "signed_by": signature.person.full_name,
        "national_number": signature.person.national_number,
        "method": signature.auth_method,
        "level": signature.auth_level,
        "signed_at": signature.signed_at,
        "answers_sha256": signature.answers_sha256,
        "annexes": signature.annexes,
        "digest": signature.digest,
    }


def issue(dossier, kind, data, made=lambda: None):
    """Store a PDF made for the dossier and record it as a Document, unless `made()` finds the
    document recorded meanwhile: by another worker given the same job, or the same job run
    twice. The dossier row is locked while checking and recording (SELECT ... FOR UPDATE on
    PostgreSQL, the write lock on SQLite), so of two such workers one records its PDF and the
    other's is deleted; both return the one Document."""
    stored = storage.store(data)  # before the lock: a write of the file holds no one up
    try:
        with write_transaction():
            Dossier.locked(dossier.id)
            existing = made()
            if existing is None:
                return Document.create(
                    dossier=dossier,
                    kind=kind,
                    storage_key=stored.key,
                    sha256=stored.sha256,
                    size=stored.size,
                )
    except BaseException:
        storage.get_storage().delete(stored.key)
        raise
    storage.get_storage().delete(stored.key)
    log.info("The %s of dossier %s was made meanwhile by another worker", kind, dossier.id)
    return existing


def produce_receipt(dossier_id):
    """Make and store the sealed receipt unless it exists; returns its Document."""
    dossier = Dossier.get_by_id(dossier_id)

    def made():
        return Document.latest(dossier, Document.RECEIPT)

    if (existing := made()) is not None:
        return existing
    signature = Signature.get_or_none(Signature.dossier == dossier)
    if signature is None:  # submitted without signing: only data loaded by hand
        log.warning("Dossier %s is submitted without a signature: no receipt", dossier_id)
        return None
    membership = signature.person.membership_in(dossier.company_id)
    with force_locale(document_language(dossier)):
        context = prefill.context(dossier.company, signature.person, membership)
        data = receipt.make_receipt(
            dossier, definition_of(dossier.definition), context, signature_summary(signature)
        )
    return issue(dossier, Document.RECEIPT, data, made)


def produce_letter(dossier_id):
    """Make and store the sealed decision letter of a closed dossier (a new one after each
    closing, since a reopened dossier is decided again); returns its Document."""
    dossier = Dossier.get_by_id(dossier_id)
    closing = (
        StatusChange.select()
        .where(StatusChange.dossier == dossier, StatusChange.to_status == "closed")
        .order_by(StatusChange.created_at.desc(), StatusChange.id.desc())
        .first()
    )

    def made():
        """The letter of this closing, once made."""
        return Document.latest(dossier, Document.DECISION_LETTER, since=closing.created_at)

    if closing is None:
        return Document.latest(dossier, Document.DECISION_LETTER)
    if (existing := made()) is not None:
        return existing
    with force_locale(document_language(dossier)):
        definition = definition_of(dossier.definition)
        data = letter.make_decision_letter(
            dossier,
            definition.title,
            definition.decision_letter or str(DEFAULT_LETTER),
            str(dossier.decision_label),
            closing.comment or "",
            # Signed by the direction alone when closed through the API: a token's name is
            # internal to the administration, never in a letter to the company.
            None if closing.actor_token_id else closing.actor_name,
        )
    return issue(dossier, Document.DECISION_LETTER, data, made)


PRODUCERS = {Document.RECEIPT: produce_receipt, Document.DECISION_LETTER: produce_letter}


def current(dossier, kind):
    """The receipt, or the letter of the dossier's current closing, or None."""
    if kind == Document.DECISION_LETTER:
        return Document.current_letter(dossier)
    return Document.latest(dossier, kind)


def read(stored):
    """The bytes of an Annex or a Document, or DossierRefused when they were altered (the
    incident is logged by storage)."""
    try:
        return storage.read_verified(stored.storage_key, stored.sha256)
    except storage.Altered as exc:
        raise DossierRefused(
            _(
                "Ce fichier ne correspond plus à celui qui a été déposé ou produit ; il n'est "
                "pas servi. L'incident est signalé à l'administration."
            )
        ) from exc


def for_reader(actor, dossier):
    """Check that the actor may read the dossier's files: a company user with Consultation,
    processing staff, or an API token that sees the dossier."""
    if actor.kind == ActorKind.API:
        require_api(actor, dossier)
    elif actor.staff is not None:
        require_staff(actor, dossier)
    else:
        member_for(actor, dossier, Role.CONSULT)


def annex_file(actor, dossier, annex_id, inline=False):
    """(annex, bytes) of one annex scanned clean (`scanning.AnnexQuarantined` for one that is
    not); staff readings are audited."""
    for_reader(actor, dossier)
    annex = Annex.get_or_none(Annex.id == annex_id, Annex.dossier == dossier)
    if annex is None:
        raise DossierNotFound(dossier.id)
    data = read(require_clean(annex))
    if actor.staff is not None:
        action = "dossier.annex_view" if inline else "dossier.annex_download"
        AuditEvent.record(action, actor, dossier, annex=annex.id)
    return annex, data


def document_file(actor, dossier, kind):
    """(document, bytes) of the receipt or the current decision letter, or (None, None)."""
    for_reader(actor, dossier)
    document = current(dossier, kind)
    if document is None:
        return None, None
    return document, read(document)


def bundle(actor, dossier):
    """The receipt and every annex merged into one PDF (None when there is neither), for
    reading or archiving; audited. Annexes refused as infected are left out (their files are
    erased); one still in quarantine stops it (`scanning.AnnexQuarantined`)."""
    require_staff(actor, dossier)
    receipt_row = Document.latest(dossier, Document.RECEIPT)
    annexes = Annex.select().where(
        Annex.dossier == dossier, Annex.scan_status != ScanStatus.INFECTED.value
    )
    parts = ([receipt_row] if receipt_row else []) + [
        require_clean(a) for a in annexes.order_by(Annex.uploaded_at, Annex.id)
    ]
    if not parts:
        return None
    writer = PdfWriter()
    for part in parts:
        writer.append(io.BytesIO(read(part)))
    out = io.BytesIO()
    writer.write(out)
    AuditEvent.record("dossier.bundle", actor, dossier)
    return out.getvalue()
