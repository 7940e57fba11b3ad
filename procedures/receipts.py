"""Documents Guichet issues for a dossier: the receipt of a submission (made once) and the
decision letter of a closing; each sealed, stored and recorded as a Document."""

import storage
from documents import letter, receipt
from models import Document, Dossier, Signature, StatusChange
from procedures import definition_of, prefill


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


def produce(dossier_id):
    """Make and store the sealed receipt unless it exists; returns its Document."""
    dossier = Dossier.get_by_id(dossier_id)
    existing = Document.latest(dossier, Document.RECEIPT)
    if existing is not None:
        return existing
    signature = Signature.get(Signature.dossier == dossier)
    membership = signature.person.membership_in(dossier.company_id)
    context = prefill.context(dossier.company, signature.person, membership)
    data = receipt.make_receipt(
        dossier, definition_of(dossier.definition), context, signature_summary(signature)
    )
    key = storage.get_storage().put(data)
    return Document.create(
        dossier=dossier,
        kind=Document.RECEIPT,
        storage_key=key,
        sha256=storage.sha256_of(data),
        size=len(data),
    )


DEFAULT_LETTER = (
    "Objet : {procedure} — dossier {reference}\n\n"
    "Madame, Monsieur,\n\n"
    "Nous avons examiné la demande introduite par {company} sous la référence {reference}. "
    "Décision du {date} : {decision}."
)


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
    existing = Document.latest(dossier, Document.DECISION_LETTER)
    if closing is None or (existing is not None and existing.created_at >= closing.created_at):
        return existing
    definition = definition_of(dossier.definition)
    data = letter.make_decision_letter(
        dossier,
        definition.title,
        definition.decision_letter or DEFAULT_LETTER,
        str(dossier.decision_label),
        closing.comment or "",
        closing.actor_name,
    )
    key = storage.get_storage().put(data)
    return Document.create(
        dossier=dossier,
        kind=Document.DECISION_LETTER,
        storage_key=key,
        sha256=storage.sha256_of(data),
        size=len(data),
    )
